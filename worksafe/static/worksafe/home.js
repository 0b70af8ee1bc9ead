/* Landing page: Fujian county map coloured by enterprise count, and a class bar chart. */
function worksafeHome(opts) {
  var mapEl = document.getElementById("county-map");
  var classEl = document.getElementById("class-chart");
  var map = echarts.init(mapEl);
  var bars = echarts.init(classEl);
  var byClass = JSON.parse(document.getElementById("by-class").textContent);

  bars.setOption({
    grid: { left: 90, right: 20, top: 10, bottom: 20 },
    xAxis: { type: "value" },
    yAxis: { type: "category", inverse: true, data: byClass.map(function (r) { return r.label; }) },
    series: [{ type: "bar", data: byClass.map(function (r) { return r.n; }), itemStyle: { color: "#206bc4" } }],
    tooltip: {}
  });

  function inFocus(feature) {
    return opts.focus.length <= 2 || feature.properties.code.indexOf(opts.focus.slice(0, 6)) === 0 ||
      feature.properties.code.indexOf(opts.focus) === 0;
  }

  fetch(opts.geojson).then(function (r) { return r.json(); }).then(function (geo) {
    var focused = { type: "FeatureCollection", features: geo.features.filter(inFocus) };
    if (!focused.features.length) { focused = geo; }
    echarts.registerMap("scope", focused);
    function load() {
      var cls = document.getElementById("map-class").value;
      fetch(opts.data + (cls ? "?key_class=" + encodeURIComponent(cls) : ""), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (payload) {
          var byCode = {};
          payload.counties.forEach(function (c) { byCode[c.code] = c.value; });
          var data = focused.features.map(function (f) {
            return { name: f.properties.name, code: f.properties.code, value: byCode[f.properties.code] || 0 };
          });
          var max = Math.max.apply(null, data.map(function (d) { return d.value; }).concat([1]));
          map.setOption({
            tooltip: { trigger: "item", formatter: function (p) { return p.name + "：" + (p.value || 0); } },
            visualMap: { min: 0, max: max, left: 10, bottom: 10, calculable: true,
                         inRange: { color: ["#e8f1fb", "#74a9e0", "#206bc4", "#0b3d7a"] } },
            series: [{ type: "map", map: "scope", name: opts.seriesName, roam: true, nameProperty: "name",
                       label: { show: focused.features.length <= 20, fontSize: 10 }, data: data }]
          });
        });
    }
    map.on("click", function (p) {
      if (p.data && p.data.code) { window.location = opts.list + "?jurisdiction=" + p.data.code; }
    });
    document.getElementById("map-class").addEventListener("change", load);
    load();
  });
  window.addEventListener("resize", function () { map.resize(); bars.resize(); });
}
