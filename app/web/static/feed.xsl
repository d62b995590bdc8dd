<?xml version="1.0" encoding="UTF-8"?>
<!--
  Broadsheet: the browser view of an RSS 2.0 or Atom 1.0 feed.

  A feed opened in a browser is linked here by <?xml-stylesheet type="text/xsl"?> and shown
  as a readable page: what a feed is, the feed's title and description, a link to the site,
  and each entry (title linked to its permalink, date, authors, summary).

  Rules, because the page is served under a strict CSP (default-src 'self'):
  - XSLT 1.0 only (what browsers implement); no JavaScript, no inline event handlers, no
    style attributes or <style> blocks, no external resources: /static/style.css only.
  - Feed text is always output as text, never with disable-output-escaping: HTML inside a
    feed must not become live markup here. HTML is shown as its text: tags removed, character
    references decoded. In RSS that is every description (RSS 2.0: entity-encoded HTML) and
    every title, which Broadsheet writes HTML-escaped whenever its text could read as markup.
  - Links are written only for http(s) URLs, so a javascript: URL could never be clickable.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    exclude-result-prefixes="atom dc">

  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <!-- How much of a summary is shown, in characters, and how much HTML is read to find it. -->
  <xsl:variable name="summary-length" select="400"/>
  <xsl:variable name="html-read-length" select="4000"/>

  <xsl:template match="/">
    <xsl:apply-templates select="rss/channel | atom:feed"/>
  </xsl:template>

  <!-- RSS 2.0 -->
  <xsl:template match="channel">
    <xsl:variable name="title">
      <xsl:call-template name="unescape">
        <xsl:with-param name="text" select="title"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:variable name="description">
      <xsl:call-template name="plain-text">
        <xsl:with-param name="text" select="description"/>
        <xsl:with-param name="is-html" select="true()"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:call-template name="page">
      <xsl:with-param name="title" select="normalize-space($title)"/>
      <xsl:with-param name="description" select="string($description)"/>
      <xsl:with-param name="site" select="normalize-space(link)"/>
      <xsl:with-param name="feed-url" select="atom:link[@rel = 'self'][1]/@href"/>
      <xsl:with-param name="language" select="normalize-space(language)"/>
      <xsl:with-param name="entries" select="item"/>
    </xsl:call-template>
  </xsl:template>

  <!-- Atom 1.0 -->
  <xsl:template match="atom:feed">
    <xsl:call-template name="page">
      <xsl:with-param name="title" select="normalize-space(atom:title)"/>
      <xsl:with-param name="description" select="normalize-space(atom:subtitle)"/>
      <xsl:with-param name="site"
          select="(atom:link[@rel = 'alternate' or not(@rel)])[1]/@href"/>
      <xsl:with-param name="feed-url" select="atom:link[@rel = 'self'][1]/@href"/>
      <xsl:with-param name="language" select="@xml:lang"/>
      <xsl:with-param name="entries" select="atom:entry"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="page">
    <xsl:param name="title"/>
    <xsl:param name="description"/>
    <xsl:param name="site"/>
    <xsl:param name="feed-url"/>
    <xsl:param name="language"/>
    <xsl:param name="entries"/>
    <html>
      <xsl:if test="string($language)">
        <xsl:attribute name="lang"><xsl:value-of select="$language"/></xsl:attribute>
      </xsl:if>
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="color-scheme" content="light dark"/>
        <title><xsl:value-of select="$title"/> · Feed</title>
        <link rel="stylesheet" href="/static/style.css"/>
      </head>
      <body class="feed-preview">
        <header class="masthead">
          <div class="wrap">
            <a class="site-title" rel="home">
              <xsl:call-template name="href">
                <xsl:with-param name="url" select="$site"/>
              </xsl:call-template>
              <xsl:value-of select="$title"/>
            </a>
            <xsl:if test="string($description) and $description != $title">
              <p class="site-description"><xsl:value-of select="$description"/></p>
            </xsl:if>
          </div>
        </header>
        <main id="conteudo" class="wrap front">
          <section class="story-meta feed-about" aria-labelledby="feed-about-title">
            <h1 class="section-heading" id="feed-about-title" lang="pt-BR">Este é um feed</h1>
            <p lang="pt-BR">
              Este é um feed: uma versão deste site feita para leitores de feeds (Feedly,
              Inoreader, NetNewsWire, Miniflux…). Para acompanhar as novidades, copie o
              endereço desta página para o seu leitor de feeds.
            </p>
            <p lang="en">
              This is a web feed. To follow it, copy the URL of this page into your feed reader.
            </p>
            <xsl:if test="string($feed-url)">
              <p><code><xsl:value-of select="$feed-url"/></code></p>
            </xsl:if>
            <p>
              <a>
                <xsl:call-template name="href">
                  <xsl:with-param name="url" select="$site"/>
                </xsl:call-template>
                <span lang="pt-BR">Ir para o site</span> · <span lang="en">Visit the website</span>
              </a>
            </p>
          </section>
          <h2 class="section-heading">
            <span lang="pt-BR">Artigos no feed</span> · <span lang="en">Articles in the feed</span>
          </h2>
          <xsl:choose>
            <xsl:when test="$entries">
              <div class="teasers">
                <xsl:apply-templates select="$entries"/>
              </div>
            </xsl:when>
            <xsl:otherwise>
              <p class="empty">
                <span lang="pt-BR">Nenhum artigo por enquanto.</span> ·
                <span lang="en">No articles yet.</span>
              </p>
            </xsl:otherwise>
          </xsl:choose>
        </main>
      </body>
    </html>
  </xsl:template>

  <!-- One RSS item. -->
  <xsl:template match="item">
    <xsl:variable name="permalink">
      <xsl:choose>
        <xsl:when test="normalize-space(link)"><xsl:value-of select="normalize-space(link)"/></xsl:when>
        <xsl:otherwise>
          <xsl:value-of select="normalize-space(guid[not(@isPermaLink = 'false')])"/>
        </xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:variable name="summary">
      <xsl:call-template name="plain-text">
        <xsl:with-param name="text" select="description"/>
        <xsl:with-param name="is-html" select="true()"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:variable name="title">
      <xsl:call-template name="unescape">
        <xsl:with-param name="text" select="title"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:call-template name="entry">
      <xsl:with-param name="title" select="normalize-space($title)"/>
      <xsl:with-param name="permalink" select="string($permalink)"/>
      <!-- An RFC 822 date is not a valid HTML datetime value: label only. -->
      <xsl:with-param name="date" select="''"/>
      <xsl:with-param name="date-label" select="normalize-space(pubDate)"/>
      <xsl:with-param name="authors" select="dc:creator | author"/>
      <xsl:with-param name="summary" select="string($summary)"/>
    </xsl:call-template>
  </xsl:template>

  <!-- One Atom entry. -->
  <xsl:template match="atom:entry">
    <xsl:variable name="date">
      <xsl:choose>
        <xsl:when test="atom:published">
          <xsl:value-of select="normalize-space(atom:published)"/>
        </xsl:when>
        <xsl:otherwise><xsl:value-of select="normalize-space(atom:updated)"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:variable name="date-label">
      <xsl:call-template name="rfc3339-label">
        <xsl:with-param name="date" select="string($date)"/>
      </xsl:call-template>
    </xsl:variable>
    <xsl:variable name="summary">
      <xsl:choose>
        <xsl:when test="normalize-space(atom:summary)">
          <xsl:call-template name="plain-text">
            <xsl:with-param name="text" select="atom:summary"/>
            <xsl:with-param name="is-html" select="atom:summary/@type = 'html'"/>
          </xsl:call-template>
        </xsl:when>
        <xsl:otherwise>
          <xsl:call-template name="plain-text">
            <xsl:with-param name="text" select="atom:content"/>
            <xsl:with-param name="is-html" select="atom:content/@type = 'html'"/>
          </xsl:call-template>
        </xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:variable name="entry-authors" select="atom:author/atom:name"/>
    <xsl:call-template name="entry">
      <xsl:with-param name="title" select="normalize-space(atom:title)"/>
      <xsl:with-param name="permalink"
          select="(atom:link[@rel = 'alternate' or not(@rel)])[1]/@href"/>
      <xsl:with-param name="date" select="string($date)"/>
      <xsl:with-param name="date-label" select="string($date-label)"/>
      <xsl:with-param name="authors"
          select="$entry-authors | ../atom:author/atom:name[not($entry-authors)]"/>
      <xsl:with-param name="summary" select="string($summary)"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="entry">
    <xsl:param name="title"/>
    <xsl:param name="permalink"/>
    <xsl:param name="date"/>  <!-- RFC 3339, for the datetime attribute; may be empty -->
    <xsl:param name="date-label"/>
    <xsl:param name="authors"/>
    <xsl:param name="summary"/>
    <article class="teaser">
      <div class="teaser-text">
        <xsl:if test="string($date-label)">
          <time class="dateline">
            <xsl:if test="string($date)">
              <xsl:attribute name="datetime"><xsl:value-of select="$date"/></xsl:attribute>
            </xsl:if>
            <xsl:value-of select="$date-label"/>
          </time>
        </xsl:if>
        <h2 class="teaser-title">
          <a>
            <xsl:call-template name="href">
              <xsl:with-param name="url" select="$permalink"/>
            </xsl:call-template>
            <xsl:choose>
              <xsl:when test="string($title)"><xsl:value-of select="$title"/></xsl:when>
              <xsl:otherwise><xsl:value-of select="$permalink"/></xsl:otherwise>
            </xsl:choose>
          </a>
        </h2>
        <xsl:if test="string($summary)">
          <p class="teaser-summary"><xsl:value-of select="$summary"/></p>
        </xsl:if>
        <xsl:if test="$authors">
          <p class="byline">
            <xsl:for-each select="$authors">
              <xsl:if test="position() &gt; 1">, </xsl:if>
              <xsl:value-of select="normalize-space(.)"/>
            </xsl:for-each>
          </p>
        </xsl:if>
      </div>
    </article>
  </xsl:template>

  <!-- An href attribute, only for an http(s) URL. -->
  <xsl:template name="href">
    <xsl:param name="url"/>
    <xsl:variable name="clean" select="normalize-space($url)"/>
    <xsl:if test="starts-with($clean, 'https://') or starts-with($clean, 'http://')">
      <xsl:attribute name="href"><xsl:value-of select="$clean"/></xsl:attribute>
    </xsl:if>
  </xsl:template>

  <!-- "2024-03-01T12:30:15+00:00" as "2024-03-01 12:30 UTC"; other offsets kept as written. -->
  <xsl:template name="rfc3339-label">
    <xsl:param name="date"/>
    <xsl:variable name="utc"
        select="substring($date, string-length($date) - 5) = '+00:00'
                or substring($date, string-length($date)) = 'Z'"/>
    <xsl:choose>
      <xsl:when test="$utc and string-length($date) &gt;= 16">
        <xsl:value-of select="concat(substring($date, 1, 10), ' ', substring($date, 12, 5), ' UTC')"/>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="translate($date, 'T', ' ')"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- The text to show for a summary: HTML as its text, whitespace folded, cut. -->
  <xsl:template name="plain-text">
    <xsl:param name="text"/>
    <xsl:param name="is-html"/>
    <xsl:variable name="raw">
      <xsl:choose>
        <xsl:when test="$is-html">
          <xsl:variable name="untagged">
            <xsl:call-template name="strip-tags">
              <xsl:with-param name="html" select="substring(string($text), 1, $html-read-length)"/>
            </xsl:call-template>
          </xsl:variable>
          <xsl:call-template name="unescape">
            <xsl:with-param name="text" select="string($untagged)"/>
          </xsl:call-template>
        </xsl:when>
        <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:variable name="folded" select="normalize-space($raw)"/>
    <xsl:choose>
      <xsl:when test="string-length($folded) &gt; $summary-length">
        <xsl:value-of select="concat(substring($folded, 1, $summary-length), '…')"/>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$folded"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- The text of an HTML fragment: every <...> replaced by a space (one level per tag). -->
  <xsl:template name="strip-tags">
    <xsl:param name="html"/>
    <xsl:choose>
      <xsl:when test="contains($html, '&lt;')">
        <xsl:value-of select="substring-before($html, '&lt;')"/>
        <xsl:text> </xsl:text>
        <xsl:call-template name="strip-tags">
          <xsl:with-param name="html" select="substring-after(substring-after($html, '&lt;'), '&gt;')"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$html"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- Text with the character references Broadsheet and its sanitiser write (&amp; &lt; &gt;
       &quot; &#39; &#13;) decoded, in one pass: "&amp;lt;" reads "&lt;". Any other "&" is
       kept as it is. -->
  <xsl:template name="unescape">
    <xsl:param name="text"/>
    <xsl:choose>
      <xsl:when test="contains($text, '&amp;')">
        <xsl:value-of select="substring-before($text, '&amp;')"/>
        <xsl:variable name="rest" select="substring-after($text, '&amp;')"/>
        <xsl:variable name="name" select="substring-before($rest, ';')"/>
        <xsl:variable name="known"
            select="$name = 'amp' or $name = 'lt' or $name = 'gt' or $name = 'quot'
                    or $name = '#39' or $name = '#13'"/>
        <xsl:choose>
          <xsl:when test="$name = 'amp'">&amp;</xsl:when>
          <xsl:when test="$name = 'lt'">&lt;</xsl:when>
          <xsl:when test="$name = 'gt'">&gt;</xsl:when>
          <xsl:when test="$name = 'quot'">"</xsl:when>
          <xsl:when test="$name = '#39'">'</xsl:when>
          <xsl:when test="$name = '#13'">&#13;</xsl:when>
          <xsl:otherwise>&amp;</xsl:otherwise>
        </xsl:choose>
        <xsl:call-template name="unescape">
          <xsl:with-param name="text"
              select="substring($rest, 1 + (string-length($name) + 1) * number($known))"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

</xsl:stylesheet>
