"""ECharts options, built in Python and handed to the page with `json_script`; the page's one
script (static/reports/charts.js) only draws them. Numbers become floats here: a chart shows
shapes, the tables beside it show the exact figures."""

from decimal import Decimal

from django.utils.translation import gettext as _


def _num(value):
    if isinstance(value, Decimal):
        return float(value)
    return value or 0


def _base(title):
    return {
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 60, "right": 60, "top": 60, "bottom": 40, "containLabel": True},
    }


def bar_line(title, categories, bars=(), lines=(), stack=False, horizontal=False):
    """Bars (left axis) and lines (right axis) over `categories`.

    `bars` / `lines`: (series name, values). A second axis appears only when both kinds are
    present, so money and member counts each keep their own scale.
    """
    option = _base(title)
    option["legend"] = {"top": 28, "data": [name for name, _v in [*bars, *lines]]}
    category_axis = {"type": "category", "data": [str(c) for c in categories]}
    value_axes = [{"type": "value"}]
    if bars and lines:
        value_axes.append({"type": "value", "splitLine": {"show": False}})
    if horizontal:
        option["xAxis"], option["yAxis"] = value_axes[0], category_axis
    else:
        option["xAxis"], option["yAxis"] = category_axis, value_axes
    series = []
    for name, values in bars:
        item = {"name": name, "type": "bar", "data": [_num(v) for v in values]}
        if stack:
            item["stack"] = "total"
        series.append(item)
    for name, values in lines:
        item = {"name": name, "type": "line", "smooth": True, "data": [_num(v) for v in values]}
        if bars and not horizontal:
            item["yAxisIndex"] = 1
        series.append(item)
    option["series"] = series
    return option


def pie(title, items):
    """`items`: (name, value)."""
    option = _base(title)
    option["tooltip"] = {"trigger": "item", "formatter": "{b}: {c} ({d}%)"}
    option["legend"] = {"bottom": 0, "type": "scroll"}
    option["series"] = [
        {
            "name": title,
            "type": "pie",
            "radius": ["35%", "65%"],
            "data": [{"name": str(name), "value": _num(value)} for name, value in items],
        }
    ]
    return option


def with_mark_line(option, value, label):
    """A horizontal marker (a threshold) on the first series."""
    if option["series"]:
        option["series"][0]["markLine"] = {
            "symbol": "none",
            "data": [{"yAxis": _num(value), "name": label}],
            "label": {"formatter": f"{label}: {{c}}"},
        }
    return option


def empty_note():
    return _("No data in this period.")
