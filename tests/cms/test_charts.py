"""The server-side bar chart: escaped labels, a table with the same numbers, a message instead
of an empty chart, ids that two charts on one page do not share, colours readable on white."""

import xml.etree.ElementTree as ET

import pytest
from django.utils import translation
from django.utils.safestring import SafeString

from cms import charts
from cms.charts import bar_chart

SVG = "{http://www.w3.org/2000/svg}"
ROWS = [("2026-09", 3, 1), ("2026-10", 0, 2), ("2026-11", 12, 7)]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def parse(html):
    """The chart is well-formed markup: parse it as XML to look inside."""
    return ET.fromstring(str(html))


def table_of(figure):
    table = figure.find(".//table")
    head = [th.text for th in table.find("thead").iter("th")]
    body = [[cell.text for cell in row] for row in table.find("tbody").iter("tr")]
    return table, head, body


def test_a_chart_is_an_image_with_a_table_of_the_same_numbers():
    html = bar_chart(ROWS, title="Needs by month")
    assert isinstance(html, SafeString)
    figure = parse(html)
    assert figure.tag == "figure" and figure.find("figcaption").text == "Needs by month"
    svg = figure.find(f"{SVG}svg")
    assert svg.get("role") == "img" and svg.get("width") == "100%" and svg.get("viewBox").startswith("0 0 360 ")
    title_id, desc_id = svg.get("aria-labelledby").split()
    assert svg.find(f"{SVG}title").get("id") == title_id and svg.find(f"{SVG}title").text == "Needs by month"
    assert svg.find(f"{SVG}desc").get("id") == desc_id
    assert "received, resolved" in svg.find(f"{SVG}desc").text
    table, head, body = table_of(figure)
    assert table.get("class") == "visually-hidden" and table.find("caption").text == "Needs by month"
    assert head == ["Month", "received", "resolved"]
    assert body == [["2026-09", "3", "1"], ["2026-10", "0", "2"], ["2026-11", "12", "7"]]
    assert [th.get("scope") for th in table.iter("th")] == ["col"] * 3 + ["row"] * 3
    # one bar per value, the longest for the largest, each with its number beside it
    bars = [rect for rect in svg.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]
    assert len(bars) == 6
    widths = [float(rect.get("width")) for rect in bars]
    assert widths[2] == 0 and max(widths) == widths[4]
    assert [bar.find(f"{SVG}title").text for bar in bars[:2]] == ["2026-09 · received: 3", "2026-09 · resolved: 1"]
    numbers = [text.text for text in svg.iter(f"{SVG}text")]
    assert numbers == ["received", "resolved", "2026-09", "3", "1", "2026-10", "0", "2", "2026-11", "12", "7"]
    assert "<script" not in html


def test_every_label_is_escaped():
    html = bar_chart([("<script>x()", 1, 2)], title="A & <b>B</b>",
                     series=("<i>in</i>", "out\"put"), heading="<u>when</u>")
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html and "<u>" not in html
    assert html.count("&lt;script&gt;x()") == 4  # axis label, two tooltips, table row
    figure = parse(html)  # still well-formed: nothing broke out of its element or attribute
    assert figure.find("figcaption").text == "A & <b>B</b>"
    _, head, body = table_of(figure)
    assert head == ["<u>when</u>", "<i>in</i>", "out\"put"]
    assert body == [["<script>x()", "1", "2"]]


def test_a_long_label_is_cut_short_in_the_picture_only():
    long_name = "民悦社区同兴苑第一小区党支部第一网格"
    figure = parse(bar_chart([(long_name, 4, 2)], title="By community", heading="Community"))
    label = [t.text for t in figure.iter(f"{SVG}text")][2]
    assert label.endswith("…") and long_name.startswith(label[:-1])
    assert table_of(figure)[2] == [[long_name, "4", "2"]]


@pytest.mark.parametrize("rows", [[], [("2026-10", 0, 0), ("2026-11", 0, 0)]])
def test_no_data_yet_instead_of_an_empty_chart(rows):
    html = bar_chart(rows, title="Needs <by> month")
    assert "<svg" not in html and "<table" not in html
    figure = parse(html)
    assert figure.find("figcaption").text == "Needs <by> month"
    assert figure.find("p").text == "No data yet."


def test_two_charts_on_one_page_have_their_own_ids():
    first, second = bar_chart(ROWS, title="One"), bar_chart(ROWS, title="Two")
    ids = [{element.get("id") for element in parse(html).iter() if element.get("id")} for html in (first, second)]
    assert len(ids[0]) == 3 and not ids[0] & ids[1]  # the figure, the title, the description
    for html, own in zip((first, second), ids):
        assert set(parse(html).find(f"{SVG}svg").get("aria-labelledby").split()) <= own


def contrast(colour):
    """The WCAG contrast ratio of a colour against white."""
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(int(colour[i:i + 2], 16)) for i in (1, 3, 5))
    return 1.05 / (0.2126 * red + 0.7152 * green + 0.0722 * blue + 0.05)


def test_colours_are_readable_on_white():
    assert contrast(charts.TEXT) >= 4.5 and contrast(charts.AXIS) >= 3
    assert all(contrast(colour) >= 4.5 for colour in charts.COLOURS)
