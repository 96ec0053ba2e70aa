"""Dashboard charts as server-rendered SVG, the house way (devices/charts.py): no script to
ship, readable without one, a <title> and a <desc> that say in words what the chart shows.

The viewBox is 360 units wide, about the width of a 390 px phone, so the text is drawn near
its nominal size there and scales up on wider screens. Colours are the Okabe–Ito palette,
told apart by people with the common colour-vision deficiencies; every bar also has its
number written beside it or listed in the table next to the chart.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH = 360
TEXT_STYLE = "fill: var(--pico-color, #333); font-size: 12px"
MUTED_STYLE = "fill: var(--pico-muted-color, #666); font-size: 11px"
AXIS_STYLE = "stroke: var(--pico-muted-border-color, #ccc)"
TRACK_STYLE = "fill: var(--pico-muted-border-color, #e5e5e5)"
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: no data (drawn as an empty track)
    text: str  # written at the end of the bar, e.g. "42.0 % (420 / 1000)"


def _open(chart_id: str, height: float, title: str, desc: str) -> list[str]:
    chart_id = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="100%" class="chart" id="{chart_id}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" style="max-width: 40rem">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]


def _empty(parts: list[str], height: float) -> None:
    parts.append(
        f'<text x="{WIDTH / 2:.0f}" y="{height / 2 + 4:.0f}" text-anchor="middle" '
        f'style="{MUTED_STYLE}; font-size: 13px" class="chart-empty">'
        f"{escape(_('No data yet.'))}</text>"
    )


def bar_chart(
    *, bars: Sequence[Bar], title: str, chart_id: str, maximum: float = 100.0
) -> SafeString:
    """Horizontal bars, one per row: the label above its bar, the bar's text after it. Made
    for percentages (maximum 100) but any scale works."""
    row_h, top = 36, 4
    height = top + max(len(bars), 1) * row_h + 4
    desc = "; ".join(f"{bar.label}: {bar.text}" for bar in bars) or _("No data yet.")
    parts = _open(chart_id, height, title, desc)
    if not bars:
        _empty(parts, height)
    track_w = WIDTH - 120  # room on the right for the bar's text
    for index, bar in enumerate(bars):
        y = top + index * row_h
        parts.append(
            f'<text x="0" y="{y + 12}" style="{TEXT_STYLE}" class="chart-label">'
            f"{escape(bar.label)}</text>"
        )
        parts.append(
            f'<rect x="0" y="{y + 17}" width="{track_w}" height="12" rx="2" style="{TRACK_STYLE}"/>'
        )
        if bar.value:
            length = max(0.0, min(1.0, bar.value / maximum)) * track_w if maximum else 0
            parts.append(
                f'<rect x="0" y="{y + 17}" width="{length:.1f}" height="12" rx="2" '
                f'fill="{PALETTE[0]}" class="chart-bar"/>'
            )
        parts.append(
            f'<text x="{track_w + 6}" y="{y + 27}" style="{MUTED_STYLE}" class="chart-value">'
            f"{escape(bar.text)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped


def _nice_step(top: float, intervals: int = 4) -> int:
    """A step of 1, 2 or 5 × 10^k so that `intervals` steps reach `top`."""
    raw = max(top / intervals, 1)
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for multiple in (1, 2, 5, 10):
        if multiple * magnitude >= raw:
            return multiple * magnitude
    return 10 * magnitude


def stacked_columns_chart(
    *,
    weeks: Sequence[date],
    series: Sequence[tuple[str, Sequence[int]]],
    title: str,
    chart_id: str,
) -> SafeString:
    """One column per week, stacked by series (scenario), with a value axis and a legend
    below. `series` is [(name, [count per week])]."""
    left, right, top, plot_h = 34, 6, 10, 150
    legend_rows = (len(series) + 1) // 2
    height = top + plot_h + 22 + legend_rows * 18 + 4
    totals = [sum(values[i] for _name, values in series) for i in range(len(weeks))]
    highest = max(totals, default=0)
    if weeks:
        busiest = totals.index(highest)
        desc = _(
            "%(total)s alerts in the %(weeks)s weeks from %(first)s to %(last)s; the busiest "
            "week began %(busiest)s with %(count)s."
        ) % {
            "total": sum(totals),
            "weeks": len(weeks),
            "first": weeks[0].isoformat(),
            "last": weeks[-1].isoformat(),
            "busiest": weeks[busiest].isoformat(),
            "count": highest,
        }
    else:
        desc = _("No data yet.")
    parts = _open(chart_id, height, title, desc)
    step = _nice_step(highest)
    ceiling = step * max(1, -(-highest // step))
    plot_w = WIDTH - left - right
    slot = plot_w / max(len(weeks), 1)
    base = top + plot_h

    def y(value: float) -> float:
        return base - value / ceiling * plot_h

    for tick in range(0, ceiling + 1, step):
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'style="{AXIS_STYLE}" stroke-width="{1 if tick == 0 else 0.5}"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" text-anchor="end" '
            f'style="{MUTED_STYLE}">{tick}</text>'
        )
    for index, week in enumerate(weeks):
        x = left + index * slot + slot * 0.15
        stacked = 0
        for colour, (name, values) in zip(PALETTE * 4, series, strict=False):
            value = values[index]
            if value:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y(stacked + value):.1f}" width="{slot * 0.7:.1f}" '
                    f'height="{value / ceiling * plot_h:.1f}" fill="{colour}" class="chart-bar">'
                    f"<title>{escape(name)} · {week.isoformat()}: {value}</title></rect>"
                )
            stacked += value
        if index % 2 == (len(weeks) - 1) % 2:  # every other week, ending at this one
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{base + 14}" text-anchor="middle" '
                f'style="{MUTED_STYLE}" class="chart-time">{week:%m-%d}</text>'
            )
    if not highest:
        _empty(parts, top + plot_h)
    legend_top = base + 26
    for index, (colour, (name, _values)) in enumerate(zip(PALETTE * 4, series, strict=False)):
        x = 0 if index % 2 == 0 else WIDTH / 2
        ly = legend_top + (index // 2) * 18
        parts.append(
            f'<rect x="{x:.0f}" y="{ly}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14:.0f}" y="{ly + 9}" style="{TEXT_STYLE}" class="chart-legend">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped
