"""The metrics chart as a server-drawn SVG picture: no JavaScript, nothing from a CDN.

Bars: each day's customer messages, split into those a rule answered (light) and those
handed to staff (dark). Dots joined by a line: the day's median first-response time, on
its own scale at the right."""

from xml.sax.saxutils import escape

from django.utils.translation import gettext

from inbox.selectors import Metrics
from wxbackend.svg import nice_max

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 50, 60, 30, 50



def metrics_svg(metrics: Metrics) -> str:
    days = metrics.days
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    max_messages = nice_max(max((d.messages for d in days), default=0))
    medians = [d.median_seconds for d in days]
    max_minutes = nice_max(max((m / 60 for m in medians if m is not None), default=0))
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.6, 1)
    minutes_unit, title_bars = gettext("min"), gettext("Customer messages per day")
    title_line, auto_label, staff_label = (
        gettext("Median first response"), gettext("answered automatically"), gettext("handed to staff"))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#333"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{max_messages:g}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end">0</text>',
        f'<text x="{LEFT + plot_w + 6}" y="{TOP + 4}">{max_minutes:g} {escape(minutes_unit)}</text>',
        f'<text x="{LEFT}" y="{TOP - 12}">{escape(title_bars)}</text>',
        f'<text x="{LEFT + plot_w}" y="{TOP - 12}" text-anchor="end" fill="#c0392b">'
        f'{escape(title_line)}</text>',
    ]
    points = []
    for i, day in enumerate(days):
        x = LEFT + i * slot + (slot - bar) / 2
        total_h = plot_h * day.messages / max_messages
        staff_h = plot_h * day.handed_off / max_messages
        title = escape(gettext("%(day)s: %(n)d messages, %(h)d to staff") % {
            "day": day.day.isoformat(), "n": day.messages, "h": day.handed_off})
        parts.append(f'<g><title>{title}</title>'
                     f'<rect x="{x:.1f}" y="{TOP + plot_h - total_h:.1f}" width="{bar:.1f}" '
                     f'height="{total_h - staff_h:.1f}" fill="#9ec5e8"/>'
                     f'<rect x="{x:.1f}" y="{TOP + plot_h - staff_h:.1f}" width="{bar:.1f}" '
                     f'height="{staff_h:.1f}" fill="#2f6fa8"/></g>')
        if len(days) <= 16 or i % max(len(days) // 12, 1) == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
                         f'{day.day:%m-%d}</text>')
        if day.median_seconds is not None:
            y = TOP + plot_h - plot_h * (day.median_seconds / 60) / max_minutes
            points.append((x + bar / 2, y))
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#c0392b" stroke-width="2"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#c0392b"/>' for x, y in points)
    legend_y = HEIGHT - 12
    parts.append(f'<rect x="{LEFT}" y="{legend_y - 9}" width="10" height="10" fill="#9ec5e8"/>'
                 f'<text x="{LEFT + 14}" y="{legend_y}">{escape(auto_label)}</text>'
                 f'<rect x="{LEFT + 150}" y="{legend_y - 9}" width="10" height="10" fill="#2f6fa8"/>'
                 f'<text x="{LEFT + 164}" y="{legend_y}">{escape(staff_label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
