/* Major hazard sources on the user's part of the Fujian county map, coloured by grade. */
function worksafeHazardMap(opts) {
  var colours = { 1: "#d63939", 2: "#f76707", 3: "#f59f00", 4: "#206bc4", "null": "#868e96" };
  var chart = echarts.init(document.getElementById("hazard-map"));
  Promise.all([fetch(opts.geojson).then(function (r) { return r.json(); }),
               fetch(opts.data, { credentials: "same-origin" }).then(function (r) { return r.json(); })])
    .then(function (res) {
      var geo = res[0], points = res[1].points;
      var feats = geo.features.filter(function (f) {
        return opts.focus.length <= 2 || f.properties.code.indexOf(opts.focus.slice(0, 6)) === 0;
      });
      echarts.registerMap("hazards", { type: "FeatureCollection", features: feats.length ? feats : geo.features });
      var series = [1, 2, 3, 4, "null"].map(function (g) {
        return { name: opts.gradeLabels[g], type: "scatter", coordinateSystem: "geo", symbolSize: g === 1 ? 14 : 10,
                 itemStyle: { color: colours[g] },
                 data: points.filter(function (p) { return String(p.grade) === String(g); }) };
      });
      chart.setOption({
        legend: { bottom: 0 },
        tooltip: { trigger: "item", formatter: function (p) { return p.data ? p.data.name : p.name; } },
        geo: { map: "hazards", roam: true, itemStyle: { areaColor: "#f4f6fa", borderColor: "#9aa0ac" } },
        series: series
      });
      chart.on("click", function (p) { if (p.data && p.data.url) { window.location = p.data.url; } });
    });
  window.addEventListener("resize", function () { chart.resize(); });
}
