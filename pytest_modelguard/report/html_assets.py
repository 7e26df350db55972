"""The HTML report's inline stylesheet and script (no external URL anywhere)."""

from __future__ import annotations

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1f2328}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d0d7de;padding:4px 8px;
vertical-align:top;text-align:left}th{background:#f6f8fa}td.num{text-align:right;white-space:nowrap}
.fail{color:#cf222e}.ok{color:#1a7f37}.muted{color:#656d76}small{color:#656d76}
td.worse{background:#ffebe9}td.better,td.noninferior{background:#dafbe1}
pre{white-space:pre-wrap;word-break:break-word;margin:0;max-width:48ch;font-size:12px}
.grades{margin:4px 0 0;padding-left:16px;font-size:12px}.grades .no{color:#cf222e}
#controls{display:flex;gap:12px;align-items:center;flex-wrap:wrap;margin:8px 0}
svg text{font-size:11px;fill:#1f2328}svg .axis{stroke:#8c959f}svg .grid{stroke:#eaeef2}
svg .bar{stroke:#57606a;stroke-width:1.5}svg .front{fill:none;stroke:#8250df;stroke-dasharray:4 3}
svg .point{stroke-width:2;fill:#fff}svg .point.pareto{fill:currentColor}
svg .baseline{color:#0969da;stroke:#0969da}svg .pass{color:#1a7f37;stroke:#1a7f37}
svg .failing{color:#cf222e;stroke:#cf222e}
img.thumb{display:block;max-width:96px;max-height:96px;margin-top:4px;border:1px solid #d0d7de}
"""

SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById("mg-data").textContent);
  var PAGE = 50, DASH = "\\u2014", page = 0, rows = [], base = {};
  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function fmt(x) { return x === null ? DASH : Number(x).toFixed(2); }
  function key(c) { return c.suite + "\\u0000" + c.id; }
  data.cases.forEach(function (c) {
    if (c.model !== data.baseline) return;
    (base[key(c)] = base[key(c)] || {})[c.repeat] = c;
  });
  function baseFor(c) {
    var reps = base[key(c)];
    return reps ? reps[c.repeat] || reps[Object.keys(reps)[0]] : null;
  }
  function delta(c, b) {
    return b && b.score !== null && c.score !== null ? c.score - b.score : null;
  }
  function worse(c, b) {
    var d = delta(c, b);
    return !c.passed || c.error !== null || (d !== null && d < 0);
  }
  function matches(c, text) {
    var hay = c.id + " " + c.output + " " + c.tags.join(" ");
    return !text || hay.toLowerCase().indexOf(text) >= 0;
  }
  function answerCell(c) {
    var td = el("td");
    if (!c) { td.appendChild(el("span", "no baseline answer", "muted")); return td; }
    td.appendChild(el("pre", c.error !== null ? "error: " + c.error : c.output));
    var why = c.failure ? " " + DASH + " " + c.failure : "";
    var how = c.batch ? " (by batch)" : "";
    td.appendChild(el("div", "score " + fmt(c.score) + why + how, "muted"));
    var ul = el("ul", null, "grades");
    c.grades.forEach(function (g) {
      var line = g.name + " " + fmt(g.score) + (g.reason ? ": " + g.reason : "");
      ul.appendChild(el("li", line, g.passed ? "" : "no"));
    });
    td.appendChild(ul);
    return td;
  }
  function caseRow(c, b, alone) {
    var tr = el("tr", null, "case-row"), head = el("td"), d = delta(c, b);
    head.appendChild(el("div", c.id + (c.repeat ? " #" + c.repeat : "")));
    var tags = c.tags.length ? " \\u00b7 " + c.tags.join(", ") : "";
    head.appendChild(el("small", c.suite + tags));
    (c.inputs || []).forEach(function (part) {
      var url = data.thumbnails[part.sha256];
      if (typeof url === "string" && /^data:image[/](png|jpeg|gif|webp);base64,/.test(url)) {
        var img = el("img", null, "thumb");
        img.src = url;
        img.alt = img.title = part.label;
        head.appendChild(img);
      } else {
        head.appendChild(el("div", part.label, "muted"));
      }
    });
    tr.appendChild(head);
    if (!alone) tr.appendChild(answerCell(b));
    tr.appendChild(answerCell(c));
    var cls = d === null || d === 0 ? "num" : d < 0 ? "num worse" : "num better";
    tr.appendChild(el("td", d === null ? DASH : (d > 0 ? "+" : "") + d.toFixed(2), cls));
    return tr;
  }
  function filter() {
    var model = $("mg-model").value, suite = $("mg-suite").value;
    var only = $("mg-failing").checked, text = $("mg-search").value.toLowerCase();
    rows = data.cases.filter(function (c) {
      if (c.model !== model || (suite && c.suite !== suite)) return false;
      var b = model === data.baseline ? null : baseFor(c);
      return (!only || worse(c, b)) && matches(c, text);
    });
    page = 0;
    draw();
  }
  function draw() {
    var body = $("mg-rows"), alone = $("mg-model").value === data.baseline;
    var last = Math.min(rows.length, (page + 1) * PAGE);
    body.textContent = "";
    rows.slice(page * PAGE, last).forEach(function (c) {
      body.appendChild(caseRow(c, alone ? null : baseFor(c), alone));
    });
    $("mg-base-head").style.display = alone ? "none" : "";
    var shown = (page * PAGE + 1) + "\\u2013" + last + " of " + rows.length;
    $("mg-count").textContent = rows.length ? shown : "no case";
    $("mg-prev").disabled = page === 0;
    $("mg-next").disabled = last >= rows.length;
    document.body.setAttribute("data-rendered-rows", String(body.children.length));
  }
  data.models.forEach(function (m) { $("mg-model").appendChild(el("option", m)); });
  data.suites.forEach(function (s) { $("mg-suite").appendChild(el("option", s)); });
  var candidates = data.models.filter(function (m) { return m !== data.baseline; });
  $("mg-model").value = candidates[0] || data.models[0];
  ["mg-model", "mg-suite", "mg-failing"].forEach(function (id) { $(id).onchange = filter; });
  $("mg-search").oninput = filter;
  $("mg-prev").onclick = function () { page -= 1; draw(); };
  $("mg-next").onclick = function () { page += 1; draw(); };
  filter();
})();
"""
