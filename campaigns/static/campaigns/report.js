/* The campaign report's charts (ECharts, vendored under static/vendor/echarts):
 * the arms side by side, cumulative sales per member by day since entry, and the lift with its
 * 95% interval. The figures come from the page (json_script), computed by the server. */
(function () {
  "use strict";
  if (typeof echarts === "undefined") return;
  var data = JSON.parse(document.getElementById("campaign-charts").textContent);
  var names = data.names;
  var charts = [];

  var fmt = window.ChartFormat.format;

  function chart(id, option) {
    var node = document.getElementById(id);
    if (!node) return;
    var lang = (document.documentElement.lang || "zh-hans").toLowerCase();
    var c = echarts.init(node, null, { locale: lang.indexOf("zh") === 0 ? "ZH" : "EN" });
    // Money with 2 decimals and separators, shares with one decimal (static/charts/format.js).
    c.setOption(window.ChartFormat.apply(option));
    charts.push(c);
    node.setAttribute("data-rendered", "1");
  }

  chart("chart-arms", {
    tooltip: { trigger: "axis", className: "chart-tooltip" },
    legend: { data: [names.sales_per_member, names.conversion] },
    xAxis: { type: "category", data: data.arms.labels },
    yAxis: [{ type: "value", name: names.sales_per_member, valueKind: "money" },
            { type: "value", name: names.conversion, valueKind: "points" }],
    series: [
      { name: names.sales_per_member, type: "bar", data: data.arms.sales_per_member,
        valueKind: "money", label: { show: true, position: "top" } },
      { name: names.conversion, type: "bar", yAxisIndex: 1, data: data.arms.conversion,
        valueKind: "points", label: { show: true, position: "top" } }
    ]
  });

  var days = data.series.treatment.map(function (_v, i) { return i; });
  chart("chart-series", {
    tooltip: { trigger: "axis", className: "chart-tooltip" },
    legend: { data: [names.treatment, names.control] },
    xAxis: { type: "category", name: names.day, data: days },
    yAxis: { type: "value", name: names.cumulative, valueKind: "money" },
    series: [
      { name: names.treatment, type: "line", data: data.series.treatment, smooth: true,
        valueKind: "money" },
      { name: names.control, type: "line", data: data.series.control, smooth: true,
        valueKind: "money" }
    ]
  });

  if (data.lift.ci) {
    var low = data.lift.ci[0], high = data.lift.ci[1], value = data.lift.value;
    chart("chart-lift", {
      tooltip: {
        className: "chart-tooltip",
        formatter: function () {
          return names.lift + ": " + fmt("points", value) + "<br>" + names.interval + ": " +
            fmt("points", low) + " … " + fmt("points", high);
        }
      },
      grid: { left: 40, right: 40, top: 30, bottom: 40 },
      xAxis: { type: "value", name: names.lift, nameLocation: "middle", nameGap: 25,
               valueKind: "points",
               min: Math.floor(Math.min(low, 0) - 5), max: Math.ceil(Math.max(high, 0) + 5) },
      yAxis: { type: "category", data: [""], axisTick: { show: false } },
      series: [
        { type: "custom", renderItem: function (params, api) {
            var a = api.coord([api.value(0), 0]), b = api.coord([api.value(1), 0]);
            return { type: "group", children: [
              { type: "line", shape: { x1: a[0], y1: a[1], x2: b[0], y2: b[1] },
                style: { stroke: "#417690", lineWidth: 3 } },
              { type: "line", shape: { x1: a[0], y1: a[1] - 8, x2: a[0], y2: a[1] + 8 },
                style: { stroke: "#417690", lineWidth: 2 } },
              { type: "line", shape: { x1: b[0], y1: b[1] - 8, x2: b[0], y2: b[1] + 8 },
                style: { stroke: "#417690", lineWidth: 2 } }
            ] };
          }, data: [[low, high]], encode: { x: [0, 1] } },
        { type: "scatter", data: [[value, 0]], symbolSize: 14, itemStyle: { color: "#ba2121" },
          markLine: { silent: true, symbol: "none", data: [{ xAxis: 0 }],
                      lineStyle: { color: "#999", type: "dashed" } } }
      ]
    });
  }

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
