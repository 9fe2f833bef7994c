"""A stacked bar chart as inline SVG, for the supervisors' dashboard.

    bar_chart_svg(days, {"product": [3, 0, ...], "order_status": [...]}) -> Markup

One bar per day, one colour per series (stacked in the order given), a legend with each
series' total, the y-axis maximum and a middle gridline, day labels like "24/11", and a
<title> tooltip on every segment and every day. No JavaScript, no external assets, no
CSS the page must supply; every piece of text is escaped, so a label can never inject
markup. Empty or all-zero data gives a chart that says so.
"""
from __future__ import annotations

import math
from datetime import date

from markupsafe import Markup, escape

LABELS: dict[str, str] = {
    "product": "Produk & stok",
    "order_status": "Pesanan & pengiriman",
    "return_refund": "Retur & refund",
    "payment": "Pembayaran",
    "account": "Akun & login",
    "feedback": "Saran",
    "escalation": "Eskalasi",
    "human": "Minta petugas",
    "unknown": "Lainnya",
}
COLOURS: dict[str, str] = {
    "product": "#1a73e8",
    "order_status": "#0b8043",
    "return_refund": "#e37400",
    "payment": "#8e24aa",
    "account": "#00838f",
    "feedback": "#7cb342",
    "escalation": "#c5221f",
    "human": "#f9a825",
    "unknown": "#80868b",
}
_SPARE = ("#3949ab", "#6d4c41", "#d81b60", "#5f6368", "#00695c", "#ef6c00")

WIDTH = 760
PLOT_HEIGHT = 200
LEFT, RIGHT, TOP = 44, 12, 14
DAY_LABEL_HEIGHT = 22
LEGEND_ROW = 18
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="11"'


def _nice_max(value: int) -> int:
    """The y-axis top: the smallest 1, 2, 2.5 or 5 x 10^k not below value (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** int(math.floor(math.log10(value)))
    for step in (1, 2, 2.5, 5, 10):
        top = step * power
        if top >= value and float(top).is_integer():
            return int(top)
    return value  # not reached


def _day_label(d: date) -> str:
    return f"{d.day}/{d.month}"


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def bar_chart_svg(days: list[date], series: dict[str, list[int]], labels: dict[str, str] | None = None) -> Markup:
    names = dict(LABELS)
    if labels:
        names.update(labels)
    keys = list(series)
    n_days = len(days)

    def value(key: str, i: int) -> int:
        values = series[key]
        try:
            v = int(values[i]) if i < len(values) else 0
        except (TypeError, ValueError):
            v = 0
        return max(v, 0)

    totals_per_day = [sum(value(k, i) for k in keys) for i in range(n_days)]
    y_max = _nice_max(max(totals_per_day, default=0))
    colours: dict[str, str] = {}
    spare = iter(_SPARE * (len(keys) // len(_SPARE) + 1))
    for key in keys:
        colours[key] = COLOURS.get(key) or next(spare)

    legend_rows = max(1, math.ceil(len(keys) / 4)) if keys else 0
    plot_bottom = TOP + PLOT_HEIGHT
    height = plot_bottom + DAY_LABEL_HEIGHT + legend_rows * LEGEND_ROW + 8
    plot_width = WIDTH - LEFT - RIGHT
    total_all = sum(totals_per_day)

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" {FONT}>',
        f"<title>{escape(f'Tiket per hari per kategori: {total_all} tiket dalam {n_days} hari')}</title>",
    ]
    # Axis: gridlines at 0, half and the maximum, with their values.
    for frac in (0.0, 0.5, 1.0):
        y = plot_bottom - frac * PLOT_HEIGHT
        label = _fmt(y_max * frac)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_fmt(y)}" y2="{_fmt(y)}" '
                   f'stroke="{"#9aa0a6" if frac == 0 else "#e3e6ea"}" stroke-width="1"/>')
        out.append(f'<text x="{LEFT - 6}" y="{_fmt(y + 4)}" text-anchor="end" fill="#5f6368">{escape(label)}</text>')

    if n_days == 0 or total_all == 0:
        message = "Belum ada data" if n_days == 0 else "Tidak ada tiket pada periode ini"
        out.append(f'<text x="{_fmt(LEFT + plot_width / 2)}" y="{_fmt(TOP + PLOT_HEIGHT / 2)}" '
                   f'text-anchor="middle" fill="#5f6368" font-size="13">{escape(message)}</text>')

    if n_days:
        slot = plot_width / n_days
        bar = max(1.0, slot * 0.7)
        label_every = max(1, math.ceil(n_days / 16))  # no more than 16 day labels
        for i, d in enumerate(days):
            x = LEFT + i * slot + (slot - bar) / 2
            day_text = _day_label(d)
            out.append(f'<g class="day" data-day="{escape(d.isoformat())}">')
            # The whole day's slot carries the day's total as its tooltip (also over empty days).
            parts = "; ".join(f"{names.get(k, k)}: {value(k, i)}" for k in keys if value(k, i))
            day_title = f"{day_text}: {totals_per_day[i]} tiket" + (f" ({parts})" if parts else "")
            out.append(f'<rect x="{_fmt(LEFT + i * slot)}" y="{TOP}" width="{_fmt(slot)}" height="{PLOT_HEIGHT}" '
                       f'fill="transparent"><title>{escape(day_title)}</title></rect>')
            y = float(plot_bottom)
            for key in keys:
                v = value(key, i)
                if not v:
                    continue
                h = v / y_max * PLOT_HEIGHT
                y -= h
                title = f"{day_text} · {names.get(key, key)}: {v}"
                out.append(f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(bar)}" height="{_fmt(h)}" '
                           f'fill="{colours[key]}" data-series="{escape(key)}" data-value="{v}">'
                           f"<title>{escape(title)}</title></rect>")
            if i % label_every == 0 or i == n_days - 1:
                out.append(f'<text x="{_fmt(LEFT + i * slot + slot / 2)}" y="{plot_bottom + 15}" '
                           f'text-anchor="middle" fill="#3c4043">{escape(day_text)}</text>')
            out.append("</g>")

    # Legend: up to four entries a row, each with its period total.
    column = plot_width / 4
    for j, key in enumerate(keys):
        row, col = divmod(j, 4)
        x = LEFT + col * column
        y = plot_bottom + DAY_LABEL_HEIGHT + row * LEGEND_ROW + 6
        total = sum(value(key, i) for i in range(n_days))
        text = f"{names.get(key, key)} ({total})"
        out.append(f'<g class="legend-item" data-series="{escape(key)}">'
                   f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="11" height="11" rx="2" fill="{colours[key]}"/>'
                   f'<text x="{_fmt(x + 16)}" y="{_fmt(y + 10)}" fill="#3c4043">{escape(text)}</text></g>')
    out.append("</svg>")
    return Markup("".join(out))
