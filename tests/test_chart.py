"""The dashboard's inline SVG bar chart: well-formed, escaped, honest about empty data."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

from markupsafe import Markup

from bot.web.chart import bar_chart_svg

NS = {"s": "http://www.w3.org/2000/svg"}
DAYS = [date(2026, 11, 11) + timedelta(days=i) for i in range(14)]


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    return ET.fromstring(str(svg))


def segments(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("data-series") and r.get("data-value")]


def test_stacked_bars_legend_axis_and_tooltips():
    series = {"product": [0] * 13 + [3], "order_status": [1] * 13 + [5]}
    root = parse(bar_chart_svg(DAYS, series))
    segs = segments(root)
    assert len(segs) == 13 + 2  # no rectangle for a zero
    last = segs[-2:]
    assert {s.get("data-series") for s in last} == {"product", "order_status"}
    # Stacked: the day's two segments sit on top of each other, heights in proportion.
    a, b = last
    assert float(a.get("y")) == float(b.get("y")) + float(b.get("height"))
    assert abs(float(a.get("height")) / float(b.get("height")) - 3 / 5) < 1e-6  # product 3 below, orders 5 on top
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "10" in texts  # y-axis maximum: 8 a day rounded up to a nice 10
    assert "11/11" in texts and "24/11" in texts  # day labels
    assert "Produk & stok (3)" in texts and "Pesanan & pengiriman (18)" in texts  # legend with totals
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "24/11 · Produk & stok: 3" in titles
    assert any(t.startswith("24/11: 8 tiket") for t in titles)


def test_labels_and_keys_are_escaped():
    evil = "<script>alert(1)</script>"
    svg = bar_chart_svg(DAYS[:2], {evil: [1, 2], "product": [0, 1]}, labels={"product": 'Produk "&" <b>'})
    text = str(svg)
    assert "<script" not in text and "<b>" not in text
    assert "&lt;script&gt;" in text
    root = parse(svg)  # still well-formed XML
    legend = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert f"{evil} (3)" in legend and 'Produk "&" <b> (1)' in legend


def test_empty_input_renders():
    root = parse(bar_chart_svg([], {}))
    assert "Belum ada data" in [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert segments(root) == []


def test_all_zero_renders_without_bars():
    root = parse(bar_chart_svg(DAYS, {"product": [0] * 14}))
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Tidak ada tiket pada periode ini" in texts and "1" in texts
    assert segments(root) == []


def test_no_script_no_external_assets():
    text = str(bar_chart_svg(DAYS, {"escalation": list(range(14))}))
    assert "<script" not in text and "href" not in text and "url(" not in text and "on" + "load" not in text


def test_many_days_thin_out_the_day_labels():
    days = [date(2026, 9, 1) + timedelta(days=i) for i in range(90)]
    root = parse(bar_chart_svg(days, {"payment": [1] * 90}))
    day_labels = [t for t in root.iter("{http://www.w3.org/2000/svg}text") if "/" in (t.text or "")]
    assert 2 <= len(day_labels) <= 17
    assert len(segments(root)) == 90
