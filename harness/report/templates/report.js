/* chaosplane run report: draws the timeline, the counterexample lanes, filters logs.
   Plain canvas and DOM, no library, so the page stays small and works offline.
   Data comes from the JSON element #report-data, written by harness/report/page.py. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var OUTCOME = ["rgba(45,164,78,0.55)", "rgba(207,34,46,0.7)", "rgba(212,167,44,0.85)"];
  var OUTCOME_NAME = ["ok", "fail", "info"];
  var ROLE = { leader: "#2da44e", follower: "#afb8c1", candidate: "#d4a72c", down: "#cf222e", other: "#8c959f" };
  var M = { left: 70, right: 16, top: 20, bottom: 22 };
  var END = Math.max(data.end_s || 0, 1e-3);
  var tip = document.getElementById("tip");

  function setup(canvas, height) {
    var dpr = window.devicePixelRatio || 1;
    var w = canvas.clientWidth || 1000;
    canvas.style.height = height + "px";
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(height * dpr);
    var ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, height);
    ctx.font = "11px system-ui, sans-serif";
    return { ctx: ctx, w: w, h: height };
  }

  function xOf(t, w) { return M.left + (t / END) * (w - M.left - M.right); }

  function niceStep(span, count) {
    var raw = span / Math.max(count, 1);
    var exp = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) { if (raw <= steps[i] * exp) return steps[i] * exp; }
    return 10 * exp;
  }

  function timeAxis(g, y) {
    var ctx = g.ctx, step = niceStep(END, Math.max(2, Math.floor(g.w / 90)));
    ctx.fillStyle = "#656d76"; ctx.strokeStyle = "#d0d7de"; ctx.textAlign = "center";
    for (var t = 0; t <= END + 1e-9; t += step) {
      var x = xOf(t, g.w);
      ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x, y + 4); ctx.stroke();
      ctx.fillText((step < 1 ? t.toFixed(1) : Math.round(t)) + " s", x, y + 15);
    }
  }

  function bands(g, top, bottom, labels) {
    var ctx = g.ctx;
    data.windows.forEach(function (win, i) {
      var x0 = xOf(win.start_s, g.w), x1 = Math.max(xOf(win.end_s, g.w), x0 + 2);
      ctx.fillStyle = "rgba(207,34,46,0.10)";
      ctx.fillRect(x0, top, x1 - x0, bottom - top);
      ctx.strokeStyle = "rgba(207,34,46,0.55)";
      ctx.beginPath(); ctx.moveTo(x0, top); ctx.lineTo(x0, bottom); ctx.stroke();
      if (labels) {
        var text = win.label + (win.targets.length ? " → " + win.targets.join(", ") : "");
        ctx.fillStyle = "#a40e26"; ctx.textAlign = "left";
        ctx.fillText(text, x0 + 3, top + 11 + (i % 3) * 12);
      }
    });
  }

  function frame(g, top, bottom) {
    g.ctx.strokeStyle = "#d0d7de";
    g.ctx.strokeRect(M.left, top, g.w - M.left - M.right, bottom - top);
  }

  function fmtMs(ms) {
    if (ms >= 1000) return (ms / 1000).toFixed(ms >= 10000 ? 0 : 1) + " s";
    return (ms >= 1 ? ms.toFixed(ms >= 10 ? 0 : 1) : ms.toFixed(2)) + " ms";
  }

  var latencyHits = null;

  function drawLatency() {
    var canvas = document.getElementById("latency");
    if (!canvas) return;
    var g = setup(canvas, 320), ctx = g.ctx, p = data.points;
    var top = M.top + 30, bottom = g.h - M.bottom;
    var lo = Infinity, hi = -Infinity;
    for (var i = 0; i < p.lat.length; i++) {
      var v = Math.max(p.lat[i], 0.01);
      if (v < lo) lo = v; if (v > hi) hi = v;
    }
    if (!isFinite(lo)) { lo = 0.1; hi = 1000; }
    var l0 = Math.floor(Math.log10(lo)), l1 = Math.max(Math.ceil(Math.log10(hi)), l0 + 1);
    function yOf(ms) {
      var f = (Math.log10(Math.max(ms, 0.01)) - l0) / (l1 - l0);
      return bottom - f * (bottom - top);
    }
    bands(g, M.top, bottom, true);
    frame(g, top, bottom);
    ctx.textAlign = "right"; ctx.fillStyle = "#656d76"; ctx.strokeStyle = "#eaeef2";
    for (var e = l0; e <= l1; e++) {
      var y = yOf(Math.pow(10, e));
      ctx.beginPath(); ctx.moveTo(M.left, y); ctx.lineTo(g.w - M.right, y); ctx.stroke();
      ctx.fillText(fmtMs(Math.pow(10, e)), M.left - 6, y + 4);
    }
    ctx.save(); ctx.translate(12, (top + bottom) / 2); ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center"; ctx.fillText("latency (log)", 0, 0); ctx.restore();
    var xs = new Float32Array(p.t.length), ys = new Float32Array(p.t.length);
    // Draw ok first, then fail and info on top: failures must never hide under the ok cloud.
    for (var pass = 0; pass < 3; pass++) {
      ctx.fillStyle = OUTCOME[pass];
      // Failures on top and a little larger, but not so large that a common failure (a cas
      // whose compare failed) hides the ok cloud when thousands are drawn.
      var r = pass === 0 ? 1.6 : p.t.length > 5000 ? 1.8 : 2.4;
      for (var j = 0; j < p.t.length; j++) {
        if (p.cls[j] !== pass) continue;
        var x = xOf(p.t[j], g.w), yy = yOf(p.lat[j]);
        xs[j] = x; ys[j] = yy;
        ctx.fillRect(x - r, yy - r, 2 * r, 2 * r);
      }
    }
    // The counterexample's ops, ringed, so the evidence can be found on the timeline.
    if (data.counterexample) {
      ctx.strokeStyle = "#24292f"; ctx.lineWidth = 1.5;
      data.counterexample.lanes.forEach(function (lane) {
        lane.ops.forEach(function (o) {
          if (o.role !== "unorderable") return;
          var ms = o.end_s === null ? (END - o.start_s) * 1000 : (o.end_s - o.start_s) * 1000;
          ctx.beginPath(); ctx.arc(xOf(o.start_s, g.w), yOf(ms), 6, 0, 2 * Math.PI); ctx.stroke();
        });
      });
      ctx.lineWidth = 1;
    }
    timeAxis(g, bottom);
    latencyHits = { xs: xs, ys: ys };
  }

  function drawThroughput() {
    var canvas = document.getElementById("throughput");
    if (!canvas) return;
    var g = setup(canvas, 140), ctx = g.ctx, tp = data.throughput;
    var top = 8, bottom = g.h - M.bottom, max = 1;
    ["ok", "fail", "info"].forEach(function (k) { tp[k].forEach(function (v) { if (v > max) max = v; }); });
    bands(g, top, bottom, false);
    frame(g, top, bottom);
    ctx.fillStyle = "#656d76"; ctx.textAlign = "right";
    ctx.fillText(Math.round(max) + "/s", M.left - 6, top + 10);
    ctx.fillText("0", M.left - 6, bottom);
    ctx.save(); ctx.translate(12, (top + bottom) / 2); ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center"; ctx.fillText("ops/s", 0, 0); ctx.restore();
    [["ok", "#2da44e"], ["info", "#d4a72c"], ["fail", "#cf222e"]].forEach(function (s) {
      var series = tp[s[0]];
      ctx.strokeStyle = s[1]; ctx.lineWidth = 1.5; ctx.beginPath();
      for (var i = 0; i < series.length; i++) {
        var x = xOf((i + 0.5) * tp.bin_s, g.w), y = bottom - (series[i] / max) * (bottom - top);
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      }
      ctx.stroke();
    });
    ctx.lineWidth = 1;
    timeAxis(g, bottom);
  }

  function drawLeaders() {
    var canvas = document.getElementById("leaders");
    if (!canvas) return;
    var lanes = data.status.lanes, rowH = 18;
    var g = setup(canvas, Math.max(1, lanes.length) * rowH + 10 + M.bottom), ctx = g.ctx;
    var top = 6, bottom = g.h - M.bottom;
    if (!lanes.length) {
      ctx.fillStyle = "#656d76"; ctx.textAlign = "left";
      ctx.fillText("no status samples: who led when is unknown", M.left, top + 12);
      return;
    }
    bands(g, top, bottom, false);
    lanes.forEach(function (lane, i) {
      var y = top + i * rowH;
      ctx.fillStyle = "#656d76"; ctx.textAlign = "right";
      ctx.fillText(lane.member, M.left - 6, y + 12);
      lane.segments.forEach(function (s) {
        var x0 = xOf(s[0], g.w), x1 = Math.max(xOf(s[1], g.w), x0 + 1);
        ctx.fillStyle = ROLE[s[2]] || ROLE.other;
        ctx.fillRect(x0, y + 2, x1 - x0, rowH - 5);
        if (s[2] === "leader" && s[3] !== null && x1 - x0 > 26) {
          ctx.fillStyle = "#fff"; ctx.textAlign = "left";
          ctx.fillText("term " + s[3], x0 + 3, y + 12);
        }
      });
    });
    timeAxis(g, bottom);
  }

  function onLatencyMove(ev) {
    if (!latencyHits) return;
    var rect = ev.target.getBoundingClientRect(), mx = ev.clientX - rect.left, my = ev.clientY - rect.top;
    var best = -1, bestD = 49, p = data.points;
    for (var i = 0; i < latencyHits.xs.length; i++) {
      var dx = latencyHits.xs[i] - mx, dy = latencyHits.ys[i] - my, d = dx * dx + dy * dy;
      if (d < bestD) { bestD = d; best = i; }
    }
    if (best < 0) { tip.hidden = true; return; }
    var text = OUTCOME_NAME[p.cls[best]] + " at " + p.t[best].toFixed(3) + " s, " + fmtMs(p.lat[best]);
    if (p.index) text = "op #" + p.index[best] + " " + p.fs[p.f[best]] + " " + p.keys[p.key[best]] + ": " + text;
    if (p.n) text += "\n" + p.n[best] + " calls in this cell";
    tip.textContent = text; tip.hidden = false;
    tip.style.left = ev.clientX + 12 + "px"; tip.style.top = ev.clientY + 12 + "px";
  }

  function drawCounterexample() {
    var box = document.getElementById("cx-lanes"), cx = data.counterexample;
    if (!box || !cx) return;
    box.textContent = "";
    var s0 = cx.span_s[0];
    function ms(t) { return ((t - s0) * 1000).toFixed(3) + " ms"; }
    var axis = document.createElement("div");
    axis.className = "axis";
    axis.textContent = "events in order, from " + s0.toFixed(4) + " s to " + cx.span_s[1].toFixed(4) + " s";
    box.appendChild(axis);
    cx.lanes.forEach(function (lane) {
      var row = document.createElement("div");
      row.className = "lane";
      var name = document.createElement("div");
      name.className = "lane-name"; name.textContent = "process " + lane.process;
      row.appendChild(name);
      lane.ops.forEach(function (o) {
        var bar = document.createElement("div");
        var open = o.end_s === null;
        bar.className = "bar " + o.role + (o.in_prefix ? " in-prefix" : "") + (o.stuck ? " stuck" : "") + (open ? " open" : "");
        bar.style.left = (o.x0 * 100) + "%";
        bar.style.width = "calc(" + Math.max((o.x1 - o.x0) * 100, 0) + "% + 2px)";
        bar.textContent = o.label;
        bar.title = "op #" + o.index + ": " + o.label + " (" + (o.type || "pending") + ")\n" +
          ms(o.start_s) + " → " + (open ? "never completed" : ms(o.end_s)) +
          (o.in_prefix ? "\nin the longest linearizable prefix" : "") +
          (o.stuck ? "\nthe search could not linearize past this op" : "");
        row.appendChild(bar);
      });
      box.appendChild(row);
    });
  }

  function setupLogs() {
    var input = document.getElementById("log-filter");
    if (!input) return;
    var blocks = Array.prototype.slice.call(document.querySelectorAll("details.log"));
    var originals = blocks.map(function (d) { return d.querySelector("pre").textContent.split("\n"); });
    var count = document.getElementById("log-count");
    input.addEventListener("input", function () {
      var q = input.value, test;
      if (!q) {
        blocks.forEach(function (d, i) { d.querySelector("pre").textContent = originals[i].join("\n"); d.hidden = false; });
        count.textContent = ""; return;
      }
      var m = /^\/(.+)\/$/.exec(q);
      try {
        var re = m ? new RegExp(m[1], "i") : null;
        var lower = q.toLowerCase();
        test = re ? function (l) { return re.test(l); } : function (l) { return l.toLowerCase().indexOf(lower) >= 0; };
      } catch (err) { count.textContent = "bad regex: " + err.message; return; }
      var total = 0;
      blocks.forEach(function (d, i) {
        var hits = originals[i].filter(test);
        total += hits.length;
        d.querySelector("pre").textContent = hits.join("\n");
        d.hidden = hits.length === 0;
        d.open = hits.length > 0;
      });
      count.textContent = total + " matching lines";
    });
  }

  function setupCopy() {
    var button = document.getElementById("copy");
    if (!button) return;
    button.addEventListener("click", function () {
      var text = document.getElementById(button.dataset.target).textContent;
      function done() {
        button.textContent = "copied"; button.dataset.copied = "yes";
        setTimeout(function () { button.textContent = "copy"; }, 1500);
      }
      function fallback() {
        var range = document.createRange();
        range.selectNodeContents(document.getElementById(button.dataset.target));
        var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
        try { document.execCommand("copy"); done(); } catch (err) {
          button.textContent = "select + Ctrl-C"; button.dataset.copied = "no";
        }
      }
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, fallback);
      else fallback();
    });
  }

  function drawAll() { drawLatency(); drawThroughput(); drawLeaders(); }

  var drawStart = performance.now();
  drawAll();
  var drawMs = performance.now() - drawStart;
  drawCounterexample();
  setupLogs();
  setupCopy();
  var lat = document.getElementById("latency");
  if (lat) {
    lat.addEventListener("mousemove", onLatencyMove);
    lat.addEventListener("mouseleave", function () { tip.hidden = true; });
  }
  var pending = null;
  window.addEventListener("resize", function () { clearTimeout(pending); pending = setTimeout(drawAll, 120); });
  // A marker the browser test looks for: the script ran to its end without throwing.
  var done = document.createElement("div");
  done.id = "rendered"; done.hidden = true;
  done.dataset.points = String(data.points.t.length);
  done.dataset.drawMs = String(Math.round(drawMs));  // for benchmarks/report.py
  done.dataset.loadMs = String(Math.round(performance.now()));  // since navigation start
  document.body.appendChild(done);
})();
