/* The live monitoring board: alarms arrive over Server-Sent Events (new ones on top, changed ones updated
   in place, no sound); counts, statuses and last values are polled; the map of major hazard sources is
   redrawn after changes. Every text comes from the page (board-labels): this script has none of its own. */
function worksafeBoard(opts) {
  var labels = JSON.parse(document.getElementById("board-labels").textContent);
  var alarmBody = document.getElementById("board-alarm-rows");
  var pointBody = document.getElementById("board-point-rows");
  var liveBadge = document.getElementById("live-status");
  var MAX_ROWS = 200;
  var rowData = {};  // alarm id → what we know of it (events and polls merged)
  var colours = { alarm2: "#d63939", alarm1: "#f76707", interrupted: "#868e96", normal: "#2fb344", unmonitored: "#c8d3e1" };
  var fmt = new Intl.DateTimeFormat("zh-CN", {
    timeZone: opts.timeZone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
  });

  function when(iso) {
    if (!iso) { return "—"; }
    var d = new Date(iso);
    return isNaN(d) ? iso : fmt.format(d).replace(/\//g, "-");
  }
  function text(v) { return v === null || v === undefined ? "" : String(v); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function number(v) {
    if (v === null || v === undefined || v === "") { return "—"; }
    var n = Number(v);
    return isNaN(n) ? String(v) : String(Math.round(n * 1000) / 1000);
  }
  function dropEmpty(body) {
    var empty = body.querySelector(".board-empty");
    if (empty) { empty.remove(); }
  }
  document.querySelectorAll("[data-ts]").forEach(function (td) { td.textContent = when(td.getAttribute("data-ts")); });
  JSON.parse(document.getElementById("board-alarm-data").textContent).forEach(function (a) { rowData[String(a.id)] = a; });

  // --- alarm rows -----------------------------------------------------------------------------------------
  function fillAlarmRow(tr, a) {
    var level = String(a.level);
    var point = a.point_url ? el("a", { href: a.point_url }, [text(a.point)]) : document.createTextNode(text(a.point));
    var cells = [
      el("td", { "class": "text-nowrap", "data-ts": text(a.raised_at) }, [when(a.raised_at)]),
      el("td", {}, [text(a.enterprise)]),
      el("td", {}, [point, " ", el("span", { "class": "text-secondary" }, [text(a.point_name)])]),
      el("td", {}, [a.condition_label || labels.condition[a.condition] || text(a.condition)]),
      el("td", {}, [el("span", { "class": "badge text-white " + (level === "2" ? "bg-red" : "bg-orange") },
                       [labels.level[level] || level])]),
      el("td", { "class": "num" }, [number(a.value) + " " + text(a.unit)]),
      el("td", { "data-testid": "alarm-status" }, [el("span", { "class": "badge status-" + a.status },
                                                       [labels.status[a.status] || text(a.status)])]),
      el("td", {}, a.url ? [el("a", { href: a.url }, [labels.detail])] : [])
    ];
    tr.replaceChildren.apply(tr, cells);
    tr.setAttribute("data-status", a.status);
  }

  function upsertAlarm(a, fresh) {
    var id = String(a.id);
    var merged = Object.assign(rowData[id] || {}, a);
    rowData[id] = merged;
    var tr = alarmBody.querySelector('tr[data-alarm-id="' + id + '"]');
    if (!tr) {
      if (!merged.raised_at || !merged.status) { return; }  // not enough to show yet: the next poll fills it
      tr = el("tr", { "data-alarm-id": id, "data-testid": "alarm-row" });
      dropEmpty(alarmBody);
      alarmBody.insertBefore(tr, alarmBody.firstChild);
      var rows = alarmBody.querySelectorAll("tr[data-alarm-id]");
      for (var i = MAX_ROWS; i < rows.length; i++) { delete rowData[rows[i].getAttribute("data-alarm-id")]; rows[i].remove(); }
    }
    fillAlarmRow(tr, merged);
    if (fresh) {
      tr.classList.remove("board-flash");
      void tr.offsetWidth;  // restart the highlight
      tr.classList.add("board-flash");
    }
  }

  // --- polled state -----------------------------------------------------------------------------------------
  function renderPoints(points) {
    var rows = points.map(function (p) {
      return el("tr", { "data-point-id": String(p.id) }, [
        el("td", {}, [text(p.enterprise)]), el("td", {}, [text(p.hazard)]),
        el("td", {}, [el("a", { href: p.url }, [text(p.code)]), " ", el("span", { "class": "text-secondary" }, [text(p.name)])]),
        el("td", { "class": "num", "data-testid": "point-value" }, [p.value === null ? "—" : number(p.value) + " " + text(p.unit)]),
        el("td", { "class": "text-nowrap" }, [when(p.ts)]),
        el("td", {}, [el("span", { "class": "badge state-" + p.state }, [p.state_label || labels.state[p.state] || p.state])])
      ]);
    });
    if (rows.length) { pointBody.replaceChildren.apply(pointBody, rows); }
  }

  function renderBreakdown(rows) {
    var body = document.querySelector("[data-testid=board-breakdown] tbody");
    if (!rows.length) { return; }
    body.replaceChildren.apply(body, rows.map(function (r) {
      var name = r.url ? el("a", { href: r.url }, [text(r.name)]) : document.createTextNode(text(r.name));
      function cell(v, cls) { return el("td", { "class": "num" + (v ? cls : "") }, [String(v)]); }
      return el("tr", { "data-key": String(r.key) }, [
        el("td", {}, [name]), cell(r.level2, " text-danger fw-bold"), cell(r.level1, " text-orange fw-bold"),
        cell(r.interruptions, ""), cell(r.points, "")
      ]);
    }));
  }

  var polling = false;
  function refresh() {
    if (polling) { return; }
    polling = true;
    var ids = Object.keys(rowData).slice(0, 200).join(",");
    fetch(opts.state + "?ids=" + ids, { credentials: "same-origin", headers: { "Accept": "application/json", "X-Background": "1" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (s) {
        Object.keys(s.counts).forEach(function (k) {
          var node = document.querySelector('[data-count="' + k + '"]');
          if (node) { node.textContent = Number(s.counts[k]).toLocaleString("zh-CN"); }
        });
        renderBreakdown(s.breakdown);
        // oldest first, so that the newest ends on top when a row is new to this board
        s.alarms.slice().reverse().forEach(function (a) { upsertAlarm(a, false); });
        renderPoints(s.points);
      })
      .catch(function () { /* the next poll tries again */ })
      .finally(function () { polling = false; });
  }
  setInterval(refresh, opts.pollMs || 5000);

  // --- map ------------------------------------------------------------------------------------------------------
  var chart = echarts.init(document.getElementById("board-map"));
  var mapReady = fetch(opts.geojson).then(function (r) { return r.json(); }).then(function (geo) {
    var feats = geo.features.filter(function (f) {
      return opts.focus.length <= 2 || f.properties.code.indexOf(opts.focus.slice(0, 6)) === 0;
    });
    echarts.registerMap("board", { type: "FeatureCollection", features: feats.length ? feats : geo.features });
  });
  function drawMap() {
    Promise.all([mapReady, fetch(opts.map, { credentials: "same-origin", headers: { "X-Background": "1" } }).then(function (r) { return r.json(); })])
      .then(function (res) {
        var hazards = res[1].hazards, totals = res[1].totals;
        chart.getDom().setAttribute("data-totals", JSON.stringify(totals));
        var series = ["alarm2", "alarm1", "interrupted", "normal", "unmonitored"].map(function (state) {
          return {
            name: labels.state[state] + " " + (totals[state] || 0), type: "scatter", coordinateSystem: "geo",
            symbolSize: state === "alarm2" || state === "alarm1" ? 16 : (state === "unmonitored" ? 7 : 10),
            z: state === "alarm2" ? 5 : (state === "alarm1" ? 4 : 3),
            itemStyle: { color: colours[state] },
            data: hazards.filter(function (h) { return h.state === state; })
          };
        });
        chart.setOption({
          animation: false,
          legend: { bottom: 0 },
          tooltip: { trigger: "item", formatter: function (p) {
            return p.data ? p.data.name + "<br>" + labels.state[p.data.state] : p.name;
          } },
          geo: { map: "board", roam: true, itemStyle: { areaColor: "#f4f6fa", borderColor: "#9aa0ac" } },
          series: series
        });
      })
      .catch(function () { /* drawn again on the next change */ });
  }
  chart.on("click", function (p) { if (p.data && p.data.url) { window.location = p.data.url; } });
  window.addEventListener("resize", function () { chart.resize(); });
  drawMap();
  setInterval(drawMap, 30000);

  var pending = null;
  function soon() {  // after a burst of events: one refresh of counts and map
    if (pending) { return; }
    pending = setTimeout(function () { pending = null; refresh(); drawMap(); }, 400);
  }

  // --- the live stream ------------------------------------------------------------------------------------------
  function setLive(state) {
    liveBadge.setAttribute("data-state", state);
    liveBadge.textContent = labels.live[state];
    liveBadge.className = "badge me-2 " + (state === "open" ? "bg-green-lt" : "bg-secondary-lt");
  }
  var hellos = 0;
  function connect() {
    var source = new EventSource(opts.events);
    source.addEventListener("hello", function () {
      setLive("open");
      if (hellos++) { refresh(); drawMap(); }  // reconnected: catch up on what passed meanwhile
    });
    source.addEventListener("alarm", function (e) { upsertAlarm(JSON.parse(e.data), true); soon(); });
    source.addEventListener("quality", function () { soon(); });
    source.addEventListener("warning", function () { soon(); });
    source.addEventListener("resync", function () { refresh(); drawMap(); });
    source.onerror = function () {
      setLive("connecting");
      // The browser retries by itself after a dropped stream, but gives up after an error answer (5xx):
      // then start again ourselves.
      if (source.readyState === EventSource.CLOSED) { setTimeout(connect, 5000); }
    };
  }
  connect();
}
