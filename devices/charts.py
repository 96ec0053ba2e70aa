"""Telemetry charts as server-rendered SVG: no JavaScript library to ship or load, readable
without scripts, sharp on a phone. Time runs left to right in Shanghai local hours or days;
the value axis spans the metric's declared min/max (widened if a reading falls outside).

Each chart carries a <title> and a <desc> summing it up in words, for screen readers.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 46, 12, 18, 26
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
Y_TICKS = 4  # intervals on the value axis
MAX_X_TICKS = 8
X_STEPS = [timedelta(hours=h) for h in (1, 2, 3, 6, 12, 24, 48, 168)]

AXIS_STYLE = "stroke: var(--pico-muted-border-color, #ccc)"
TEXT_STYLE = "fill: var(--pico-muted-color, #666); font-size: 11px"


class Point(Protocol):
    """A reading or a bucket: `value` is the reading or the bucket's average."""

    ts: datetime
    value: float
    min: float
    max: float


def number(value: float) -> str:
    """1.5 → "1.5", 2.0 → "2", 1234.567 → "1234.57": no trailing zeros, no exponent."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def _value_range(points: Sequence[Point], low: float | None, high: float | None):
    data_low = min((p.min for p in points), default=None)
    data_high = max((p.max for p in points), default=None)
    candidates_low = [v for v in (low, data_low) if v is not None]
    candidates_high = [v for v in (high, data_high) if v is not None]
    bottom = min(candidates_low) if candidates_low else 0.0
    top = max(candidates_high) if candidates_high else 1.0
    if top <= bottom:  # a flat line still needs an axis
        bottom, top = bottom - 1, top + 1
    return float(bottom), float(top)


def _x_ticks(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    """Whole local hours or midnights, at most MAX_X_TICKS of them."""
    span = end - start
    step = next((s for s in X_STEPS if span / s <= MAX_X_TICKS), X_STEPS[-1])
    local = timezone.localtime(start)
    if step >= timedelta(days=1):
        tick = local.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        tick = local.replace(minute=0, second=0, microsecond=0)
        hours = int(step.total_seconds() // 3600)
        tick -= timedelta(hours=tick.hour % hours)
    ticks = []
    while tick <= end:
        if tick >= start:
            midnight = tick.hour == 0 and tick.minute == 0
            label = tick.strftime("%m-%d") if midnight else tick.strftime("%H:%M")
            ticks.append((tick, label))
        tick = timezone.localtime(tick + step)
    return ticks


def _segments(points: Sequence[Point], gap: timedelta | None) -> list[list[Point]]:
    """Runs of points without a hole longer than `gap`: a device that was silent is drawn
    with a break, not with a line pretending it reported."""
    segments: list[list[Point]] = []
    for point in points:
        if segments and (gap is None or point.ts - segments[-1][-1].ts <= gap):
            segments[-1].append(point)
        else:
            segments.append([point])
    return segments


def line_chart(
    *,
    points: Sequence[Point],
    start: datetime,
    end: datetime,
    title: str,
    unit: str = "",
    low: float | None = None,
    high: float | None = None,
    gap: timedelta | None = None,
    chart_id: str = "chart",
) -> SafeString:
    """An SVG line chart of `points` between `start` and `end`; a framed empty state with a
    message when there are none. `low`/`high` are the metric's declared range."""
    points = sorted((p for p in points if start <= p.ts <= end), key=lambda p: p.ts)
    bottom, top = _value_range(points, low, high)
    seconds = max((end - start).total_seconds(), 1)

    def x(at: datetime) -> float:
        return LEFT + (at - start).total_seconds() / seconds * PLOT_W

    def y(value: float) -> float:
        return TOP + (top - value) / (top - bottom) * PLOT_H

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'class="chart" id="{escape(chart_id)}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        'style="color: var(--pico-primary, #1e6fd9); max-height: 20rem">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(_summary(points, start, end, unit))}</desc>',
    ]
    # Value axis: gridlines and labels, the unit above them.
    for index in range(Y_TICKS + 1):
        value = bottom + (top - bottom) * index / Y_TICKS
        at = y(value)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}" '
            f'style="{AXIS_STYLE}" stroke-width="{1 if index == 0 else 0.5}"/>'
        )
        parts.append(
            f'<text x="{LEFT - 4}" y="{at + 4:.1f}" text-anchor="end" style="{TEXT_STYLE}">'
            f"{escape(number(value))}</text>"
        )
    if unit:
        parts.append(
            f'<text x="{LEFT - 4}" y="{TOP - 6}" text-anchor="end" style="{TEXT_STYLE}" '
            f'class="chart-unit">{escape(unit)}</text>'
        )
    # Time axis: whole Shanghai hours or days.
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + PLOT_H}" style="{AXIS_STYLE}"/>'
    )
    for tick, label in _x_ticks(start, end):
        at = x(tick)
        parts.append(
            f'<line x1="{at:.1f}" x2="{at:.1f}" y1="{TOP + PLOT_H}" y2="{TOP + PLOT_H + 4}" '
            f'style="{AXIS_STYLE}"/>'
        )
        parts.append(
            f'<text x="{at:.1f}" y="{HEIGHT - 6}" text-anchor="middle" style="{TEXT_STYLE}" '
            f'class="chart-time">{escape(label)}</text>'
        )
    if not points:
        parts.append(
            f'<text x="{LEFT + PLOT_W / 2:.1f}" y="{TOP + PLOT_H / 2:.1f}" text-anchor="middle" '
            f'style="{TEXT_STYLE}; font-size: 14px" class="chart-empty">'
            f"{escape(_('No data in this period.'))}</text>"
        )
    for segment in _segments(points, gap):
        if any(p.min != p.max for p in segment):
            outline = [f"{x(p.ts):.1f},{y(p.max):.1f}" for p in segment]
            outline += [f"{x(p.ts):.1f},{y(p.min):.1f}" for p in reversed(segment)]
            parts.append(
                f'<polygon points="{" ".join(outline)}" fill="currentColor" '
                'fill-opacity="0.15" stroke="none" class="chart-range"/>'
            )
        if len(segment) == 1:
            point = segment[0]
            parts.append(
                f'<circle cx="{x(point.ts):.1f}" cy="{y(point.value):.1f}" r="2.5" '
                'fill="currentColor"/>'
            )
        else:
            line = " ".join(f"{x(p.ts):.1f},{y(p.value):.1f}" for p in segment)
            parts.append(
                f'<polyline points="{line}" fill="none" stroke="currentColor" '
                'stroke-width="1.5" stroke-linejoin="round"/>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped


def _summary(points: Sequence[Point], start: datetime, end: datetime, unit: str) -> str:
    start_text = timezone.localtime(start).strftime("%Y-%m-%d %H:%M")
    end_text = timezone.localtime(end).strftime("%Y-%m-%d %H:%M")
    if not points:
        return _("No data from %(start)s to %(end)s (Shanghai time).") % {
            "start": start_text,
            "end": end_text,
        }
    latest = points[-1]
    return _(
        "%(count)s values from %(start)s to %(end)s (Shanghai time): lowest %(low)s, "
        "highest %(high)s, latest %(latest)s %(unit)s at %(latest_at)s."
    ) % {
        "count": len(points),
        "start": start_text,
        "end": end_text,
        "low": number(min(p.min for p in points)),
        "high": number(max(p.max for p in points)),
        "latest": number(latest.value),
        "unit": unit,
        "latest_at": timezone.localtime(latest.ts).strftime("%H:%M"),
    }
