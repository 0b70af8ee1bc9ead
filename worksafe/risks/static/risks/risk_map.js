/* Regional risk map: counties coloured by how many enterprises have their highest risk at a level,
   enterprises as points coloured by their highest level (data from /risks/map/?format=json). */
function worksafeRiskMap(opts) {
  var chart = echarts.init(document.getElementById("risk-map"));
  var picker = document.getElementById("map-level");
  // Counties stay light so that the enterprise points (full colour) remain visible on top of them.
  var ramps = { total: ["#f4f6fa", "#a9b8cc"] };
  function tint(hex, share) {
    var n = parseInt(hex.slice(1), 16), rgb = [n >> 16, (n >> 8) & 255, n & 255];
    return "rgb(" + rgb.map(function (c) { return Math.round(c * share + 255 * (1 - share)); }).join(",") + ")";
  }
  Promise.all([fetch(opts.geojson).then(function (r) { return r.json(); }),
               fetch(opts.data, { credentials: "same-origin" }).then(function (r) { return r.json(); })])
    .then(function (res) {
      var geo = res[0], data = res[1];
      var feats = geo.features.filter(function (f) {
        return opts.focus.length <= 2 || f.properties.code.indexOf(opts.focus.slice(0, 6)) === 0;
      });
      echarts.registerMap("risks", { type: "FeatureCollection", features: feats.length ? feats : geo.features });
      var byCode = {};
      data.counties.forEach(function (c) { byCode[c.code] = c; });
      var labels = {};
      data.levels.forEach(function (l) { labels[l.key] = l.label; ramps[l.key] = ["#f4f6fa", tint(l.colour, 0.45)]; });

      function countyTip(code, name) {
        var c = byCode[code];
        if (!c) { return name + "：0"; }
        return name + "<br>" + data.levels.map(function (l) {
          return '<span style="color:' + l.colour + '">●</span> ' + l.label + "：" + c[l.key];
        }).join("<br>") + "<br>" + opts.totalLabel + "：" + c.total;
      }

      function draw() {
        var key = picker.value;
        var regions = (feats.length ? feats : geo.features).map(function (f) {
          var c = byCode[f.properties.code];
          return { name: f.properties.name, code: f.properties.code, value: c ? c[key] : 0 };
        });
        var max = Math.max.apply(null, regions.map(function (r) { return r.value; }).concat([1]));
        var points = data.levels.map(function (l) {
          return { name: l.label, type: "scatter", coordinateSystem: "geo", geoIndex: 0,
                   symbolSize: l.key === "red" ? 13 : 10, itemStyle: { color: l.colour, borderColor: "#fff", borderWidth: 1 },
                   data: data.enterprises.filter(function (e) { return e.level === l.key && e.value; }) };
        });
        chart.setOption({
          legend: { bottom: 0, data: data.levels.map(function (l) { return l.label; }) },
          tooltip: { trigger: "item", formatter: function (p) {
            if (p.seriesType === "scatter") { return p.data.name + "<br>" + labels[p.data.level] + " · " + p.data.points; }
            return countyTip(p.data ? p.data.code : "", p.name);
          } },
          visualMap: { min: 0, max: max, left: 10, bottom: 40, calculable: true, seriesIndex: 0,
                       inRange: { color: ramps[key] } },
          geo: { map: "risks", roam: true, itemStyle: { areaColor: "#f4f6fa", borderColor: "#9aa0ac" } },
          series: [{ type: "map", map: "risks", geoIndex: 0, name: opts.enterprisesLabel, data: regions }].concat(points)
        }, true);
      }
      chart.on("click", function (p) { if (p.data && p.data.url) { window.location = p.data.url; } });
      picker.addEventListener("change", draw);
      draw();
    });
  window.addEventListener("resize", function () { chart.resize(); });
}
