/* A small map of one enterprise: its county's boundary and the enterprise's point. */
function worksafeLocation(el) {
  var county = el.dataset.county, lng = parseFloat(el.dataset.lng), lat = parseFloat(el.dataset.lat);
  fetch(el.dataset.geojson).then(function (r) { return r.json(); }).then(function (geo) {
    var features = geo.features.filter(function (f) { return f.properties.code === county; });
    if (!features.length) { return; }
    echarts.registerMap("county-" + county, { type: "FeatureCollection", features: features });
    var chart = echarts.init(el);
    chart.setOption({
      geo: { map: "county-" + county, roam: true, itemStyle: { areaColor: "#eef3fb", borderColor: "#206bc4" },
             label: { show: false } },
      series: isNaN(lng) ? [] : [{ type: "effectScatter", coordinateSystem: "geo", data: [[lng, lat]],
                                   symbolSize: 12, itemStyle: { color: "#d63939" } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
}
document.querySelectorAll("[data-location-map]").forEach(worksafeLocation);
