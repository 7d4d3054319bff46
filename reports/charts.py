"""ECharts options, built in Python and handed to the page with `json_script`; the page's one
script (static/reports/charts.js) only draws them. Numbers become floats here: a chart shows
shapes, the tables beside it show the exact figures.

Every series and value axis names the kind of its numbers in `valueKind` (money, count,
percent, points, figure1, figure2); static/charts/format.js formats labels, tooltips
and axes by it (money 1,050.00, people 1,234, shares 12.3%), never showing a raw 54.9536."""

from decimal import Decimal

from django.utils.translation import gettext as _

KINDS = ("money", "count", "percent", "points", "figure1", "figure2")


def _num(value):
    if isinstance(value, Decimal):
        return float(value)
    return value or 0


def _base(title):
    return {
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis", "className": "chart-tooltip"},
        "grid": {"left": 60, "right": 60, "top": 60, "bottom": 40, "containLabel": True},
    }


def bar_line(
    title,
    categories,
    bars=(),
    lines=(),
    stack=False,
    horizontal=False,
    bar_kind="money",
    line_kind="count",
):
    """Bars (left axis) and lines (right axis) over `categories`.

    `bars` / `lines`: (series name, values); `bar_kind` / `line_kind`: what their numbers are
    (money, count, ...: see the module doc). A second axis appears only when both kinds of
    series are present, so money and member counts each keep their own scale.
    """
    if bar_kind not in KINDS or line_kind not in KINDS:
        raise ValueError(f"unknown kind of figure: {bar_kind}, {line_kind}")
    option = _base(title)
    option["legend"] = {"top": 28, "data": [name for name, _v in [*bars, *lines]]}
    category_axis = {"type": "category", "data": [str(c) for c in categories]}
    value_axes = [{"type": "value", "valueKind": bar_kind if bars else line_kind}]
    if bars and lines:
        value_axes.append({"type": "value", "splitLine": {"show": False}, "valueKind": line_kind})
    if horizontal:
        option["xAxis"], option["yAxis"] = value_axes[0], category_axis
    else:
        option["xAxis"], option["yAxis"] = category_axis, value_axes
    series = []
    for name, values in bars:
        item = {"name": name, "type": "bar", "valueKind": bar_kind,
                "data": [_num(v) for v in values]}  # fmt: skip
        if stack:
            item["stack"] = "total"
        series.append(item)
    for name, values in lines:
        item = {"name": name, "type": "line", "smooth": True, "valueKind": line_kind,
                "data": [_num(v) for v in values]}  # fmt: skip
        if bars and not horizontal:
            item["yAxisIndex"] = 1
        series.append(item)
    option["series"] = series
    return option


def pie(title, items, kind="count"):
    """`items`: (name, value)."""
    option = _base(title)
    option["tooltip"] = {"trigger": "item", "className": "chart-tooltip"}
    option["legend"] = {"bottom": 0, "type": "scroll"}
    option["series"] = [
        {
            "name": title,
            "type": "pie",
            "radius": ["35%", "65%"],
            "valueKind": kind,
            "data": [{"name": str(name), "value": _num(value)} for name, value in items],
        }
    ]
    return option


def with_mark_line(option, value, label):
    """A horizontal marker (a threshold) on the first series, labelled "label: value"."""
    if option["series"]:
        option["series"][0]["markLine"] = {
            "symbol": "none",
            "data": [{"yAxis": _num(value), "name": label}],
            "label": {},
        }
    return option


def empty_note():
    return _("No data in this period.")
