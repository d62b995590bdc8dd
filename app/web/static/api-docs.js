// Starts Swagger UI on the API's documentation page (/api/v1/docs). It is a file, not an
// inline script, so that the page's Content-Security-Policy allows scripts from our origin
// only.
"use strict";

window.addEventListener("DOMContentLoaded", function () {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // No badge from the public validator: the page asks no other host for anything.
    validatorUrl: null,
  });
});
