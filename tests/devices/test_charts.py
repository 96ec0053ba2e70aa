"""The server-rendered SVG chart: a line through the points in Shanghai time, value axis from
the metric's range, an accessible title and summary, breaks where a device was silent, and an
empty state."""

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from devices import charts

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
END = START + timedelta(hours=24)


@dataclass
class Point:
    ts: datetime
    value: float
    min: float
    max: float


def point(minutes: int, value: float, low=None, high=None) -> Point:
    low = value if low is None else low
    high = value if high is None else high
    return Point(START + timedelta(minutes=minutes), value, low, high)


def parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def texts(svg: ET.Element, css_class: str) -> list[str]:
    return [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == css_class]


def render(points, **options):
    defaults = {
        "start": START,
        "end": END,
        "title": "smoke (dB/m) over the last 24 hours",
        "unit": "dB/m",
        "low": 0,
        "high": 2,
        "chart_id": "c",
    }
    return parse(charts.line_chart(points=points, **(defaults | options)))


def test_points_make_a_line_on_shanghai_hours_with_an_accessible_title():
    svg = render([point(0, 0.0), point(60, 0.5), point(120, 2.0, 1.5, 2.0)])

    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c-title c-desc"
    assert svg.find(f"{SVG}title").text == "smoke (dB/m) over the last 24 hours"
    desc = svg.find(f"{SVG}desc").text
    assert "3 values from 2025-03-01 08:00 to 2025-03-02 08:00 (Shanghai time)" in desc
    assert "lowest 0, highest 2, latest 2 dB/m at 10:00" in desc
    (line,) = svg.iter(f"{SVG}polyline")
    coordinates = [tuple(map(float, pair.split(","))) for pair in line.get("points").split()]
    xs, ys = zip(*coordinates, strict=True)
    assert xs[0] == charts.LEFT and xs[0] < xs[1] < xs[2]
    # Value axis from the metric's min (bottom) to its max (top).
    assert ys[0] == pytest.approx(charts.TOP + charts.PLOT_H)
    assert ys[2] == pytest.approx(charts.TOP)
    assert texts(svg, "chart-time") == [
        "09:00",
        "12:00",
        "15:00",
        "18:00",
        "21:00",
        "03-02",
        "03:00",
        "06:00",
    ]
    assert texts(svg, "chart-unit") == ["dB/m"]
    assert svg.find(f"{SVG}polygon") is not None  # the min/max band of the last bucket


def test_a_week_is_labelled_by_day():
    svg = render([point(0, 1.0), point(60, 1.2)], end=START + timedelta(days=7))

    assert texts(svg, "chart-time") == [
        "03-02",
        "03-03",
        "03-04",
        "03-05",
        "03-06",
        "03-07",
        "03-08",
    ]


def test_a_silent_stretch_breaks_the_line_and_a_lone_point_is_a_dot():
    svg = render(
        [point(0, 0.1), point(5, 0.2), point(300, 0.3), point(305, 0.2), point(600, 0.4)],
        gap=timedelta(minutes=15),
    )

    assert len(list(svg.iter(f"{SVG}polyline"))) == 2
    assert len(list(svg.iter(f"{SVG}circle"))) == 1


def test_a_reading_outside_the_metric_range_widens_the_axis():
    svg = render([point(0, 0.5), point(60, 3.5)])

    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") is None]
    assert labels[0] == "0" and labels[-1] == "3.5"


def test_no_points_render_an_empty_state():
    svg = render([])

    assert list(svg.iter(f"{SVG}polyline")) == []
    assert texts(svg, "chart-empty") == ["No data in this period."]
    assert svg.find(f"{SVG}title").text.startswith("smoke")
    assert "No data from 2025-03-01 08:00" in svg.find(f"{SVG}desc").text


def test_text_is_escaped():
    markup = str(charts.line_chart(points=[], start=START, end=END, title='<script>"x"</script>'))

    assert "<script>" not in markup
    assert parse(markup).find(f"{SVG}title").text == '<script>"x"</script>'


@pytest.mark.parametrize(
    "value, shown", [(0.0, "0"), (2.0, "2"), (1.5, "1.5"), (1234.567, "1234.57"), (-0.001, "0")]
)
def test_numbers_are_short(value, shown):
    assert charts.number(value) == shown
