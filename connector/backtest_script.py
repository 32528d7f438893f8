"""The backtest page's one script (connector/backtest_page.py): it draws the embedded JSON of
the changes (and, with --compare, of the tickets that differ) 50 tickets a page, with
Previous/Next and a search by ticket id. Text goes in with `textContent`, never as HTML. The
page's Content-Security-Policy allows this script by its hash and nothing else."""

SCRIPT = r"""
(function () {
  "use strict";
  var PER = 50;
  function load(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  var meta = load("meta") || {rules: []};
  function instant(s) {
    return new Date(s * 1000).toISOString().replace(".000Z", "Z").replace("T", " ");
  }
  function late(s) {
    if (s === 0) return "0 s";
    if (s < 60) return "+" + s + " s";
    var m = Math.floor(s / 60), r = s % 60;
    return "+" + m + " min" + (r ? " " + (r < 10 ? "0" : "") + r + " s" : "");
  }
  function add(tr, text, kind) {
    var td = document.createElement("td");
    td.textContent = text;
    if (kind) td.className = kind;
    tr.appendChild(td);
  }
  function lines(tr, items) {
    var td = document.createElement("td");
    td.className = "l";
    items.forEach(function (line) {
      var div = document.createElement("div");
      div.textContent = line;
      td.appendChild(div);
    });
    tr.appendChild(td);
  }
  function changeRows(t) {
    var rows = [];
    var changes = t[2].length ? t[2] : [null];
    changes.forEach(function (c, i) {
      var tr = document.createElement("tr");
      if (i === 0) tr.className = "first";
      add(tr, i === 0 ? t[0] : "", "t");
      add(tr, i === 0 ? (t[1] || "-") : "");
      if (c === null) {
        add(tr, ""); add(tr, ""); add(tr, "");
        add(tr, t[3] ? "could not be replayed: " + t[3] : ""); add(tr, "");
      } else {
        add(tr, instant(c[0]), "t");
        add(tr, c[1] === c[2] ? c[2] : c[1] + " \u2192 " + c[2], "t");
        add(tr, c[3].map(function (r) { return meta.rules[r]; }).join(", "));
        add(tr, c[4] || "-");
        add(tr, late(c[5]), "n");
      }
      rows.push(tr);
    });
    return rows;
  }
  function diffRows(d) {
    var tr = document.createElement("tr");
    tr.className = "first";
    add(tr, d[0], "t"); add(tr, d[1], "t"); add(tr, d[2], "t"); add(tr, d[3], "n"); add(tr, d[4]);
    lines(tr, d[5]);
    lines(tr, d[6]);
    return [tr];
  }
  function pager(name, rowsOf) {
    var data = load(name), box = document.querySelector('.pager[data-for="' + name + '"]');
    if (!data || !box) return;
    var body = document.querySelector("#" + name + "-table tbody");
    var info = box.querySelector(".info"), find = box.querySelector("input");
    var page = 0, shown = data;
    function draw() {
      var pages = Math.max(1, Math.ceil(shown.length / PER));
      page = Math.min(Math.max(page, 0), pages - 1);
      var frag = document.createDocumentFragment();
      shown.slice(page * PER, (page + 1) * PER).forEach(function (item) {
        rowsOf(item).forEach(function (tr) { frag.appendChild(tr); });
      });
      body.textContent = "";
      body.appendChild(frag);
      var from = shown.length ? page * PER + 1 : 0;
      info.textContent = "tickets " + from.toLocaleString("en") + "\u2013" +
        Math.min(shown.length, (page + 1) * PER).toLocaleString("en") + " of " +
        shown.length.toLocaleString("en") + " (page " + (page + 1) + " of " + pages + ")";
      box.querySelector('[data-go="-1"]').disabled = page === 0;
      box.querySelector('[data-go="1"]').disabled = page >= pages - 1;
    }
    box.addEventListener("click", function (e) {
      var go = e.target.getAttribute && e.target.getAttribute("data-go");
      if (go) { page += Number(go); draw(); }
    });
    find.addEventListener("input", function () {
      var q = find.value.trim().toLowerCase();
      shown = q ? data.filter(function (t) {
        return String(t[0]).toLowerCase().indexOf(q) >= 0;
      }) : data;
      page = 0;
      draw();
    });
    draw();
  }
  pager("tickets", changeRows);
  pager("differences", diffRows);
})();
"""
