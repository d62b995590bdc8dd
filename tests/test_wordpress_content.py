"""A WordPress post's stored text as HTML (app.transfer.wp_content), and the old site's URL
shapes (app.legacy_urls): pure functions, checked on the cases WordPress sites have."""

from __future__ import annotations

from datetime import date

import pytest

from app.legacy_urls import compile_pattern
from app.legacy_urls import path_key
from app.transfer.wp_content import paragraphs
from app.transfer.wp_content import post_html


def test_blank_lines_make_paragraphs_and_single_breaks_br() -> None:
    assert paragraphs("Um.\nDois.\n\n\nTrês.") == "<p>Um.<br>\nDois.</p>\n<p>Três.</p>"


def test_block_elements_are_left_as_they_are_even_across_blank_lines() -> None:
    text = "Antes.\n\n<blockquote>\nCitação.\n\nMais.\n</blockquote>\n\n<p>Já é HTML</p>\n\nFim."
    assert paragraphs(text) == (
        "<p>Antes.</p>\n<blockquote>\nCitação.\nMais.\n</blockquote>\n<p>Já é HTML</p>\n<p>Fim.</p>"
    )


def test_block_editor_content_is_not_paragraphed_again() -> None:
    block = "<!-- wp:paragraph -->\n<p>{}</p>\n<!-- /wp:paragraph -->"
    text = block.format("Um.") + "\n\n" + block.format("Dois.")
    assert post_html(text).html == "<p>Um.</p>\n<p>Dois.</p>"


def test_caption_becomes_a_figure_with_its_caption() -> None:
    new = post_html(
        '[caption id="attachment_9" width="300"]<img src="/a.jpg" alt="A"> Ponte[/caption]'
    )
    assert new.html == '<figure><img src="/a.jpg" alt="A"><figcaption>Ponte</figcaption></figure>'
    assert new.shortcodes_removed == 0
    # WordPress before 3.4 kept the caption in an attribute.
    old = post_html('[caption id="a" caption="Rio &amp; ponte"]<img src="/b.jpg">[/caption]')
    assert old.html == '<figure><img src="/b.jpg"><figcaption>Rio &amp; ponte</figcaption></figure>'


@pytest.mark.parametrize(
    ("text", "html", "removed"),
    [
        ('Antes [gallery ids="1,2"] depois', "<p>Antes  depois</p>", 1),
        ("Antes [gallery] depois", "<p>Antes  depois</p>", 1),
        ("[embed]https://v.example/1[/embed]", "<p>https://v.example/1</p>", 1),
        ('[column][row x="1"]dentro[/row][/column]', "<p>dentro</p>", 2),
        ('[contact-form-7 id="5" /]', "", 1),
        ("Texto [sic] e nota [1].", "<p>Texto [sic] e nota [1].</p>", 0),
        ("Escrito como [[gallery]] no texto.", "<p>Escrito como [gallery] no texto.</p>", 0),
    ],
)
def test_other_shortcodes_are_removed_and_counted(text: str, html: str, removed: int) -> None:
    made = post_html(text)
    assert (made.html, made.shortcodes_removed) == (html, removed)


def test_url_shapes_match_their_placeholders() -> None:
    dated = compile_pattern("/{yyyy}/{mm}/{dd}/{slug}/")
    found = dated.match("/2026/03/14/chuva-forte")
    assert found is not None and found.slug == "chuva-forte"
    assert found.dated(date(2026, 3, 14)) and not found.dated(date(2026, 3, 15))
    assert dated.match("/2026/3/14/chuva-forte/") is None
    assert dated.match("/2026/03/14/chuva/forte/") is None
    html = compile_pattern("/noticias/{slug}.html")
    assert html.match("/noticias/a.b.html") is not None
    assert html.match("/noticias/a-html") is None  # the dot is a dot
    by_id = compile_pattern("/arquivo/{id}")
    found = by_id.match("/arquivo/42")
    assert found is not None and (found.old_id, found.slug) == ("42", None)


def test_stored_paths_are_decoded_as_requests_are() -> None:
    assert path_key("/2026/03/a%C3%A7%C3%A3o/") == "/2026/03/ação/"
    assert path_key("/", "p=42") == "/?p=42"
