// Draws the charts of a report page: each <div class="report-chart"> names, in
// data-options, the json_script element holding its ECharts options (built in Python).
(function () {
  "use strict";
  function locale() {
    var lang = (document.documentElement.lang || "zh-hans").toLowerCase();
    return lang.indexOf("zh") === 0 ? "ZH" : "EN";
  }
  function draw() {
    if (typeof echarts === "undefined") {
      console.error("ECharts did not load");
      return;
    }
    var charts = [];
    document.querySelectorAll(".report-chart").forEach(function (el) {
      var source = document.getElementById(el.dataset.options);
      if (!source) {
        return;
      }
      var chart = echarts.init(el, null, { locale: locale(), renderer: "canvas" });
      chart.setOption(window.ChartFormat.apply(JSON.parse(source.textContent)));
      charts.push(chart);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
    document.documentElement.dataset.chartsDrawn = String(charts.length);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
