"""The statistics as one self-contained HTML page: aggregate tables and inline SVG charts.

No script, no web font, no CDN: the page opens from a file, offline, and prints. Tables
marked ``personal`` (pupils' names) are left out: the page may be shown in a meeting or
mailed to the district office; the names stay in the school's workbook.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import polars as pl

from hocbaso.statistics.tables import Chart, Statistics, Table
from hocbaso.statistics.workbook import colours_for

_CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 6px;color:#1F4E79}
.meta{color:#555;margin-bottom:16px}.note{color:#666;font-style:italic;font-size:13px}
table{border-collapse:collapse;font-size:12px;margin:6px 0 12px}
th,td{border:1px solid #bbb;padding:3px 6px;text-align:right}
th{background:#DDEBF7;text-align:center}td:first-child,td.text{text-align:left}
tr.total td{font-weight:bold;background:#f2f2f2}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{border:1px solid #ddd;padding:8px}
nav a{margin-right:10px;font-size:13px}
@media print{nav{display:none}}
"""


def _number(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return escape(str(value))


def _table_html(table: Table) -> str:
    frame = table.frame
    head = "".join(f"<th>{escape(c)}</th>" for c in frame.columns)
    if frame.is_empty():
        body = f'<tr><td colspan="{len(frame.columns)}">(không có)</td></tr>'
    else:
        rows = []
        for row in frame.iter_rows():
            cls = ' class="total"' if row[0] == "Toàn trường" else ""
            cells = "".join(
                f'<td class="text">{escape(v)}</td>'
                if isinstance(v, str)
                else f"<td>{_number(v)}</td>"
                for v in row
            )
            rows.append(f"<tr{cls}>{cells}</tr>")
        body = "".join(rows)
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return (
        f'<h2 id="{table.key}">{escape(table.title)}</h2>{note}'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def chart_svg(table: Table, chart: Chart) -> str:
    """A stacked bar (horizontal) or column (vertical) chart as inline SVG."""
    frame = table.frame.filter(~pl.col(chart.category).cast(pl.String).is_in(list(chart.skip_rows)))
    cats = [str(v) for v in frame[chart.category].to_list()]
    values = [[int(v or 0) for v in frame[s].to_list()] for s in chart.series]
    totals = [sum(col[i] for col in values) for i in range(len(cats))]
    peak = max(totals, default=0) or 1
    colours = colours_for(chart)
    parts: list[str] = []
    x: float
    y: float
    legend_y: float
    if chart.kind == "bar":
        label_w, bar_h, plot_w = 190, 18, 460
        height = 40 + len(cats) * (bar_h + 6) + 20 + 18 * ((len(chart.series) + 2) // 3)
        width = label_w + plot_w + 60
        y = 36
        for i, cat in enumerate(cats):
            x = float(label_w)
            parts.append(
                f'<text x="{label_w - 6}" y="{y + bar_h - 5}" text-anchor="end" '
                f'font-size="11">{escape(cat)}</text>'
            )
            for n, col in enumerate(values):
                w = plot_w * col[i] / peak
                if w > 0:
                    parts.append(
                        f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                        f'fill="{colours[n % len(colours)]}"><title>{escape(cat)} — '
                        f"{escape(chart.series[n])}: {col[i]}</title></rect>"
                    )
                x += w
            parts.append(
                f'<text x="{x + 4:.1f}" y="{y + bar_h - 5}" font-size="10">{totals[i]}</text>'
            )
            y += bar_h + 6
        legend_y = y + 12
    else:
        plot_h, col_w, gap, left = 220, 46, 22, 50
        width = max(left + len(cats) * (col_w + gap) + 40, 420)
        height = plot_h + 90 + 18 * ((len(chart.series) + 2) // 3)
        base = 36 + plot_h
        parts.append(
            f'<line x1="{left - 4}" y1="{base}" x2="{width - 20}" y2="{base}" stroke="#888"/>'
        )
        for i, cat in enumerate(cats):
            x = float(left + i * (col_w + gap))
            y = float(base)
            for n, col in enumerate(values):
                h = plot_h * col[i] / peak
                if h > 0:
                    y -= h
                    parts.append(
                        f'<rect x="{x}" y="{y:.1f}" width="{col_w}" height="{h:.1f}" '
                        f'fill="{colours[n % len(colours)]}"><title>{escape(cat)} — '
                        f"{escape(chart.series[n])}: {col[i]}</title></rect>"
                    )
            parts.append(
                f'<text x="{x + col_w / 2}" y="{y - 4:.1f}" text-anchor="middle" '
                f'font-size="10">{totals[i]}</text>'
            )
            parts.append(
                f'<text x="{x + col_w / 2}" y="{base + 14}" text-anchor="middle" '
                f'font-size="11">{escape(chart.category)} {escape(cat)}</text>'
            )
        legend_y = base + 36
    per_row = max(1, min(3, (width - 20) // 200))
    height += 18 * (-(-len(chart.series) // per_row) - (len(chart.series) + 2) // 3)
    for n, series in enumerate(chart.series):
        lx = 20 + (n % per_row) * 200
        ly = legend_y + (n // per_row) * 18
        parts.append(
            f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" '
            f'fill="{colours[n % len(colours)]}"/>'
            f'<text x="{lx + 16}" y="{ly}" font-size="11">{escape(series)}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(chart.title)}">'
        f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(chart.title)}</text>'
        + "".join(parts)
        + "</svg>"
    )


def render_html(stats: Statistics) -> str:
    """The page: heading, charts, then every aggregate table."""
    public = stats.public_tables()
    by_key = {t.key: t for t in public}
    charts = "".join(
        f'<div class="chart">{chart_svg(by_key[c.key], c)}</div>'
        for c in stats.charts
        if c.key in by_key
    )
    nav = "".join(f'<a href="#{t.key}">{escape(t.sheet)}</a>' for t in public)
    tables = "".join(_table_html(t) for t in public)
    return (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        f"<title>Báo cáo thống kê — {escape(stats.ten_truong)} — {escape(stats.nam_hoc)}</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>Báo cáo thống kê học bạ số cuối năm</h1>"
        f'<div class="meta">{escape(stats.heading)} · {stats.total_records} học bạ '
        "(phiên bản hiện hành). Danh sách có tên học sinh chỉ có trong tệp Excel của trường."
        f'</div><nav>{nav}</nav><h2>Biểu đồ</h2><div class="charts">{charts}</div>'
        f"{tables}</body></html>"
    )


def write_html(stats: Statistics, path: Path) -> Path:
    path.write_text(render_html(stats), encoding="utf-8")
    return path
