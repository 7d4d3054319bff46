// How numbers read on every chart (the dashboard, the reports, the campaign report), as the
// tables beside them read (core.formatting): money with two decimals and thousands separators
// (1,050.00), people and points whole (1,234), shares as a percentage with one decimal (12.3%).
// ECharts draws raw values otherwise (54.9536, 1050).
//
// A series (and a value axis) names its kind in `valueKind`: "money", "count", "percent" (a
// share, 0.123), "points" (a percentage already, 12.3), "figure1" / "figure2" (a plain figure
// with 1 or 2 decimals). `ChartFormat.apply(option)` puts the formatters on the labels,
// tooltips, axis labels and mark lines of an option before it is drawn.
(function (root) {
  "use strict";
  function grouped(value, decimals) {
    return Number(value).toLocaleString("en-US", {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
    });
  }
  function format(kind, value) {
    if (value === null || value === undefined || value === "" || isNaN(Number(value))) {
      return value === null || value === undefined ? "-" : String(value);
    }
    switch (kind) {
      case "money": return grouped(value, 2);
      case "percent": return grouped(Number(value) * 100, 1) + "%";
      case "points": return grouped(value, 1) + "%";
      case "figure1": return grouped(value, 1);
      case "figure2": return grouped(value, 2);
      default: return grouped(Math.round(Number(value)), 0);  // count
    }
  }
  function formatter(kind) {
    return function (value) { return format(kind, value); };
  }
  // Axis ticks are round numbers: 1,000 rather than 1,000.00, 20% rather than 20.0%.
  function axisFormatter(kind) {
    return function (value) {
      var shown = kind === "percent" ? Number(value) * 100 : Number(value);
      if (!Number.isInteger(Math.round(shown * 1e6) / 1e6)) return format(kind, value);
      var text = grouped(shown, 0);
      return kind === "percent" || kind === "points" ? text + "%" : text;
    };
  }
  function valueOf(params) {
    var value = params.value;
    if (Array.isArray(value)) {
      value = value[params.encode && params.encode.y ? params.encode.y[0] : value.length - 1];
    }
    return value;
  }
  function asList(item) {
    if (!item) return [];
    return Array.isArray(item) ? item : [item];
  }
  function apply(option) {
    (option.series || []).forEach(function (series) {
      var kind = series.valueKind;
      if (!kind) return;
      series.tooltip = Object.assign({}, series.tooltip, { valueFormatter: formatter(kind) });
      if (series.label) {
        series.label = Object.assign({}, series.label, {
          formatter: function (params) { return format(kind, valueOf(params)); },
        });
      }
      if (series.type === "pie") {
        series.tooltip.formatter = function (params) {
          return params.marker + params.name + ": " + format(kind, params.value) +
            " (" + grouped(params.percent, 1) + "%)";
        };
      }
      if (series.markLine) {
        series.markLine.label = Object.assign({}, series.markLine.label, {
          formatter: function (params) {
            return (params.name ? params.name + ": " : "") + format(kind, params.value);
          },
        });
      }
    });
    asList(option.xAxis).concat(asList(option.yAxis)).forEach(function (axis) {
      if (axis.type === "value" && axis.valueKind) {
        axis.axisLabel = Object.assign({}, axis.axisLabel, {
          formatter: axisFormatter(axis.valueKind),
        });
      }
    });
    return option;
  }
  root.ChartFormat = { format: format, apply: apply };
})(window);
