"""The content pipeline: sanitising, absolute URLs, figures, XML-safe text, slugs."""

from __future__ import annotations

import pytest
from lxml import etree

from app.content import clean_text
from app.content import figure_html
from app.content import first_free_slug
from app.content import is_valid_slug
from app.content import make_excerpt
from app.content import make_slug
from app.content import numbered_slug_prefix
from app.content import render_body
from app.domain import BodyFormat

BASE = "https://news.example.org"


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Ação é Fundamental: Coração & Pão", "acao-e-fundamental-coracao-pao"),
        ("São Paulo investe R$ 1,6 bilhão", "sao-paulo-investe-r-1-6-bilhao"),
        ("Crianças voltam às aulas?", "criancas-voltam-as-aulas"),
        ("Straße und Øl", "strasse-und-ol"),
        ("!!!", "artigo"),
    ],
)
def test_slugs_transliterate_accents(title: str, slug: str) -> None:
    assert make_slug(title) == slug


def test_xml_forbidden_characters_are_removed_and_the_rest_kept() -> None:
    text = "a\x00b\x08c\x0bd\x0ce\x1ff\ufffeg\ud800h \u200f\U0001f600 e\u0301 \t\n"
    cleaned = clean_text(text)
    assert cleaned == "abcdefgh \u200f\U0001f600 e\u0301 \t\n"
    etree.fromstring(f"<p>{cleaned}</p>".encode())


@pytest.mark.parametrize(
    "dangerous",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<iframe src="https://evil.example"></iframe>',
        "<svg><script>alert(1)</script></svg>",
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
        '<p style="background:url(javascript:alert(1))">x</p>',
    ],
)
def test_html_bodies_lose_everything_that_runs(dangerous: str) -> None:
    html = render_body(dangerous, BodyFormat.HTML, BASE)
    lowered = html.lower()
    for marker in ("<script", "onerror", "javascript:", "<iframe", "data:", "style="):
        assert marker not in lowered


def test_markdown_keeps_raw_html_as_text() -> None:
    html = render_body("Olá <script>alert(1)</script>", BodyFormat.MARKDOWN, BASE)
    assert html == "<p>Olá &lt;script&gt;alert(1)&lt;/script&gt;</p>"


def test_relative_urls_become_absolute() -> None:
    html = render_body(
        '<p><a href="/a/b">x</a> <img src="img/c.jpg" alt=""></p>', BodyFormat.HTML, BASE
    )
    assert 'href="https://news.example.org/a/b"' in html
    assert 'src="https://news.example.org/img/c.jpg"' in html


def test_a_titled_markdown_image_becomes_a_figure_with_its_credit() -> None:
    html = render_body('![Praça](/p.jpg "A praça à noite | Foto: Ana")', BodyFormat.MARKDOWN, BASE)
    assert html == (
        '<figure><img src="https://news.example.org/p.jpg" alt="Praça">'
        '<figcaption>A praça à noite <span class="credit">Foto: Ana</span></figcaption>'
        "</figure>"
    )


def test_html_figures_and_credits_survive_sanitising() -> None:
    source = figure_html("/x.jpg", "alt", "Legenda", "Imagem: Ensaio")
    html = render_body(source, BodyFormat.HTML, BASE)
    assert '<span class="credit">Imagem: Ensaio</span>' in html
    assert "<figcaption>Legenda " in html


def test_excerpt_prefers_the_summary_and_cuts_at_a_word() -> None:
    assert make_excerpt("  Resumo.  ", "<p>Corpo</p>") == "Resumo."
    body = "<p>" + "palavra " * 100 + "</p>"
    excerpt = make_excerpt("", body, limit=50)
    assert excerpt.endswith("…")
    assert len(excerpt) <= 51
    assert "palavr…" not in excerpt


def test_a_taken_slug_is_numbered_within_the_length_limit() -> None:
    taken = {"eleicoes", "eleicoes-2", "a" * 120}
    assert first_free_slug("eleicoes", taken.__contains__) == "eleicoes-3"
    assert first_free_slug("posse", taken.__contains__) == "posse"
    numbered = first_free_slug("a" * 120, taken.__contains__)
    assert numbered == "a" * 110 + "-2" and is_valid_slug(numbered)
    assert numbered.startswith(numbered_slug_prefix("a" * 120))
