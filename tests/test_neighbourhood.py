"""The claim's neighbourhood graph (pages/svg.py) as markup: labels cut to the width they
have, one row per resource, edges classed by stance, a legend of what is drawn and no more.
tests/test_browser_pages.py checks in a browser that every label of the case fits."""

from __future__ import annotations

import re

from claimgraph.pages.svg import FONT, LABEL_X, WIDTH, Node, fit, neighbourhood_svg, text_width

CENTRE = Node("claim", "The cranes carry modems", None)


def test_fit_cuts_to_the_room_and_keeps_what_fits() -> None:
    assert fit("short", FONT, 200) == "short"
    long = "Statement by the American Association of Port Authorities " * 3
    cut = fit(long, FONT, 200)
    assert cut.endswith("…") and text_width(cut, FONT) <= 200 < text_width(long, FONT)
    assert text_width(fit("唐青赟" * 20, FONT, 100), FONT) <= 100  # wide glyphs count wide


def test_labels_fit_the_view_box_and_keep_the_whole_name_in_the_title() -> None:
    name = "A very long name of an organisation that speaks about cranes " * 2
    svg = str(neighbourhood_svg(CENTRE, [Node("speaker", name, "/id/actor/x")]))
    label = re.search(r'<text x="(\d+)" y="[\d.]+">([^<]+)</text></a>', svg)
    assert label is not None
    assert float(label.group(1)) == LABEL_X
    assert LABEL_X + text_width(label.group(2), FONT) <= WIDTH
    assert f"<title>speaker: {name}</title>" in svg


def test_one_row_per_resource_with_an_edge_per_stance() -> None:
    around = [
        Node("speaker", "Tang", "/id/actor/tang", [("stance-denies", "denies")]),
        Node("speaker", "Tang", "/id/actor/tang", [("stance-asserts", "asserts")]),
        Node("speaker", "Tang", "/id/actor/tang", [("stance-denies", "denies")]),
    ]
    svg = str(neighbourhood_svg(CENTRE, around))
    assert svg.count('href="/id/actor/tang"') == 1
    assert svg.count('class="edge stance-denies"') == 2  # its edge and its legend entry
    assert svg.count('class="edge stance-asserts"') == 2


def test_the_legend_names_only_what_is_drawn() -> None:
    svg = str(neighbourhood_svg(CENTRE, [Node("source", "WSJ", "/id/source/wsj")]))
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "source" in texts and "claim" in texts
    assert "evidence" not in texts and "speaker" not in texts


def test_text_is_escaped() -> None:
    svg = str(neighbourhood_svg(CENTRE, [Node("speaker", "<script>x</script>", '/"><x')]))
    assert "<script>" not in svg and 'href="/&#34;&gt;&lt;x"' in svg
