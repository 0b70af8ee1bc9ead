/* A point's trend chart (ECharts line with its thresholds drawn): raw readings up to 6 h, 1-minute or
   1-hour rollups (min/avg/max) beyond. Loads ECharts itself when the page has not. */
function worksafeTrend(box, texts) {
  var card = box.closest("[data-trend-card]") || box.parentNode;
  var chart = null;
  var thresholdColours = { HH: "#d63939", LL: "#d63939", H: "#f76707", L: "#f76707" };

  function ensureEcharts() {
    if (window.echarts) { return Promise.resolve(); }
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = box.getAttribute("data-echarts");
      s.onload = resolve;
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }

  function render(d) {
    var marks = [], limits = [];
    ["HH", "H", "L", "LL"].forEach(function (k) {
      var v = d.thresholds[k];
      if (v === null || v === undefined) { return; }
      limits.push(v);
      marks.push({ yAxis: v, name: texts.thresholds[k],
                   lineStyle: { color: thresholdColours[k], type: "dashed" },
                   label: { formatter: texts.thresholds[k] + " " + v, position: "insideEndTop" } });
    });
    var pairs = function (values) { return d.ts.map(function (t, i) { return [t, values[i]]; }); };
    var series;
    if (d.kind === "raw") {
      series = [{ name: texts.value, type: "line", showSymbol: false, sampling: "lttb", data: pairs(d.values),
                  lineStyle: { width: 1.5 }, markLine: { symbol: "none", silent: true, data: marks } }];
    } else {
      series = [
        { name: texts.max, type: "line", showSymbol: false, data: pairs(d.max), lineStyle: { width: 1, opacity: 0.5 } },
        { name: texts.avg, type: "line", showSymbol: false, data: pairs(d.avg), lineStyle: { width: 1.5 },
          markLine: { symbol: "none", silent: true, data: marks } },
        { name: texts.min, type: "line", showSymbol: false, data: pairs(d.min), lineStyle: { width: 1, opacity: 0.5 } }
      ];
    }
    var count = d.ts.length;
    box.setAttribute("data-points", String(count));
    box.setAttribute("data-kind", d.kind);
    chart.setOption({
      animation: false,
      grid: { left: 60, right: 90, top: 30, bottom: 60 },
      tooltip: { trigger: "axis" },
      legend: { top: 0, show: d.kind !== "raw" },
      xAxis: { type: "time", min: d.from, max: d.to },
      yAxis: { type: "value", name: d.unit, scale: true,
               min: function (v) { return Math.min.apply(null, [v.min].concat(limits)); },
               max: function (v) { return Math.max.apply(null, [v.max].concat(limits)); } },
      dataZoom: [{ type: "inside" }, { type: "slider", height: 18, bottom: 10 }],
      graphic: count ? [] : [{ type: "text", left: "center", top: "middle", style: { text: texts.empty, fill: "#868e96", fontSize: 14 } }],
      series: series
    }, true);
  }

  function show(hours) {
    card.querySelectorAll("[data-hours]").forEach(function (b) {
      b.classList.toggle("active", b.getAttribute("data-hours") === String(hours));
    });
    fetch(box.getAttribute("data-trend-url") + "?hours=" + hours, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(render);
  }

  ensureEcharts().then(function () {
    chart = echarts.init(box);
    window.addEventListener("resize", function () { chart.resize(); });
    card.querySelectorAll("[data-hours]").forEach(function (b) {
      b.addEventListener("click", function () { show(b.getAttribute("data-hours")); });
    });
    show(box.getAttribute("data-hours") || "6");
  });
}
