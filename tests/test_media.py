"""extract_images: the inline images of a sanitised body, as the feeds' Media RSS needs them."""

from __future__ import annotations

from app.content import extract_images
from app.content import figure_html
from app.content import render_body
from app.domain import BodyFormat
from app.domain import Image

BASE = "https://www.diario.example"
PHOTO = "https://img.diario.example/2024/03/plenario.jpg"
CHART = "https://img.diario.example/2024/03/grafico.png"


def test_images_come_in_document_order_with_caption_credit_and_size() -> None:
    body = (
        f'<p>Intro <img src="{CHART}" alt="Gráfico" width="640" height="480"></p>'
        f'<figure><img src="{PHOTO}" alt="Plenário" width="1200" height="800">'
        '<figcaption>Plenário lotado <span class="credit">Foto: Ana Lima</span></figcaption>'
        "</figure>"
    )
    assert extract_images(body) == (
        Image(url=CHART, width=640, height=480),
        Image(
            url=PHOTO, width=1200, height=800, caption="Plenário lotado", credit="Foto: Ana Lima"
        ),
    )


def test_caption_keeps_inline_markup_text_and_folds_whitespace() -> None:
    body = (
        f'<figure><img src="{PHOTO}" alt="">'
        "<figcaption>\n  O <em>plenário</em>,\n lotado\n"
        '<span class="credit"> Foto:  <b>Ana</b> Lima </span></figcaption></figure>'
    )
    (image,) = extract_images(body)
    assert (image.caption, image.credit) == ("O plenário, lotado", "Foto: Ana Lima")


def test_caption_only_credit_only_and_no_figcaption() -> None:
    caption_only = f'<figure><img src="{PHOTO}" alt=""><figcaption>Só legenda</figcaption></figure>'
    credit_only = (
        f'<figure><img src="{PHOTO}" alt="">'
        '<figcaption><span class="credit">Foto: Reuters</span></figcaption></figure>'
    )
    bare_figure = f'<figure><img src="{PHOTO}" alt=""></figure>'
    assert extract_images(caption_only) == (Image(url=PHOTO, caption="Só legenda"),)
    assert extract_images(credit_only) == (Image(url=PHOTO, credit="Foto: Reuters"),)
    assert extract_images(bare_figure) == (Image(url=PHOTO),)


def test_a_span_without_the_credit_class_is_part_of_the_caption() -> None:
    body = (
        f'<figure><img src="{PHOTO}" alt=""><figcaption>Plenário <span class="local">Brasília'
        '</span> <span class="photo credit">Foto: Ana</span></figcaption></figure>'
    )
    (image,) = extract_images(body)
    assert (image.caption, image.credit) == ("Plenário Brasília", "Foto: Ana")


def test_sizes_are_kept_only_when_they_are_positive_integers() -> None:
    body = "".join(
        f'<img src="{PHOTO}?{index}" width="{width}" height="{height}">'
        for index, (width, height) in enumerate(
            [("800", "600"), ("100%", "auto"), ("12.5", ""), ("0", "-3"), ("²", " 42 ")]
        )
    )
    sizes = [(image.width, image.height) for image in extract_images(body)]
    assert sizes == [(800, 600), (None, None), (None, None), (None, None), (None, 42)]


def test_images_without_an_http_source_are_skipped() -> None:
    body = (
        '<img alt="no src"><img src="" alt="empty">'
        '<img src="data:image/png;base64,AAAA" alt="data">'
        f'<img src="{PHOTO}" alt="ok">'
    )
    assert extract_images(body) == (Image(url=PHOTO),)


def test_empty_and_imageless_bodies() -> None:
    assert extract_images("") == ()
    assert extract_images("   ") == ()
    assert extract_images("<p>Sem imagens.</p>") == ()
    assert extract_images("só texto") == ()


def test_round_trip_with_the_content_pipeline() -> None:
    # Markdown ![alt](url "Caption | Credit") becomes a figure; its parts come back.
    markdown = (
        'Texto.\n\n![Plenário](/img/plenario.jpg "Plenário lotado | Foto: Ana Lima")\n\n'
        "Mais texto ![gráfico](https://img.diario.example/g.png)."
    )
    body = render_body(markdown, BodyFormat.MARKDOWN, BASE)
    assert extract_images(body) == (
        Image(url=f"{BASE}/img/plenario.jpg", caption="Plenário lotado", credit="Foto: Ana Lima"),
        Image(url="https://img.diario.example/g.png"),
    )
    figure = figure_html(PHOTO, "Plenário", "Legenda & <mais>", "Foto: A & B")
    cleaned = render_body(figure, BodyFormat.HTML, BASE)
    assert extract_images(cleaned) == (
        Image(url=PHOTO, caption="Legenda & <mais>", credit="Foto: A & B"),
    )
