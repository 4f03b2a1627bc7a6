/**
 * The trace viewer's script: plain browser JavaScript, inlined in the page (no network at view
 * time). It reads the model from `<script id="trace-data">`, lays the tree out with the embedded
 * `layoutTree` (`Layout.ts`) and draws it as SVG; hover shows a candidate, click opens its whole
 * solution, double-click collapses a subtree; search, zoom, pan, and the vote tally link into the
 * tree. Written without template literals so it can live in one.
 *
 * The page's elements and classes the tests rely on: `#tree [data-id]` (one per visible
 * candidate), `.on-path` (the chosen answer's path), `.chosen`, `.pruned`, `.collapsed`, `.match`,
 * `#tally tr.winner`, `#search`, `#search-count`, `#show-pruned`, `#toggle-collapse`;
 * `document.body.dataset.ready` is set, and `window.mullTrace.renderMs` holds the last render's
 * time, once the tree is drawn.
 *
 * @since 0.1.0
 */

/** The script's body; `LAYOUT` is replaced by `layoutTree`'s source, `TOP_GROUP_OF` by `CandidateId.topGroupOf`'s. */
export const VIEWER_SCRIPT = String.raw`
(function () {
  "use strict";
  var layoutTree = LAYOUT;
  var DATA = JSON.parse(document.getElementById("trace-data").textContent);
  var nodes = DATA.nodes;
  var N = nodes.length;
  // column width and row height adapt to the tree (see render); LEFT and RIGHT leave room for the labels
  var COL = 70, ROW = 16, PAD = 30, LEFT = 70, RIGHT = 110;
  var COL_MIN = 46, COL_MAX = 150;
  var children = nodes.map(function (n) { return n.children; });
  var pruned = nodes.map(function (n) { return n.prunedBy !== undefined; });
  var size = new Array(N).fill(1);
  for (var i = N - 1; i > 0; i--) size[nodes[i].parent] += size[i];
  var compact = N - 1 > DATA.compactAbove;
  var state = {
    collapsed: new Array(N).fill(false),
    showPruned: !compact,
    revealed: new Set(),
    // parents whose pruned children the current search or vote marking shows
    transient: new Set(),
    selected: -1,
    matches: [],
    matchAt: -1,
    voters: -1,
    tx: 0, ty: 0, k: 1
  };
  var layout = null;
  var wrap = document.getElementById("tree-wrap");
  var svg = document.getElementById("tree");
  var viewport = document.getElementById("viewport");
  var tip = document.getElementById("tip");

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;";
    });
  }
  function colour(s) {
    if (s === undefined || s === null) return "#9aa0a6";
    var v = Math.max(0, Math.min(1, s));
    return "hsl(" + Math.round(v * 120) + ",70%," + Math.round(42 + 6 * (1 - Math.abs(v - 0.5) * 2)) + "%)";
  }
  function fmt(x) {
    return x === undefined || x === null ? "—" : Number(x).toFixed(3);
  }
  // the top-level parallel branch of a candidate id (CandidateId.topGroupOf, embedded), "" outside any
  var topGroupOf = TOP_GROUP_OF;
  function topGroup(id) {
    return topGroupOf(id) || "";
  }
  function X(i) { return LEFT + layout.depth[i] * COL; }
  function Y(i) { return PAD + layout.row[i] * ROW; }

  function hiddenArray() {
    var h = new Array(N).fill(false);
    if (state.showPruned) return h;
    for (var i = 1; i < N; i++)
      if (pruned[i] && !nodes[i].onPath && !state.revealed.has(nodes[i].parent) && !state.transient.has(nodes[i].parent))
        h[i] = true;
    return h;
  }

  function render() {
    var t0 = performance.now();
    var hidden = hiddenArray();
    layout = layoutTree(children, state.collapsed, hidden);
    // a tree that fits the height spreads across the width (at the scale Fit will pick)
    // a short tree gets taller rows
    ROW = Math.max(16, Math.min(30, (wrap.clientHeight - PAD * 2) / Math.max(1, layout.rows)));
    var kH = Math.min(1.6, wrap.clientHeight / (PAD * 2 + Math.max(1, layout.rows) * ROW));
    COL = kH < 0.35 ? 70 : Math.max(COL_MIN, Math.min(COL_MAX, (wrap.clientWidth / kH - LEFT - RIGHT) / Math.max(1, layout.depthMax)));
    var matchSet = new Set(state.matches);
    var bands = [], edges = { plain: [], pruned: [], rev: [], path: [] }, marks = [], labels = [];
    // parallel branches: a band behind each branch's rows
    if (DATA.groups.length > 0) {
      var lo = {}, hi = {};
      layout.order.forEach(function (i) {
        if (i === 0) return;
        var g = topGroup(nodes[i].id);
        if (g === "") return;
        var r = layout.row[i];
        if (!(g in lo) || r < lo[g]) lo[g] = r;
        if (!(g in hi) || r > hi[g]) hi[g] = r;
      });
      DATA.groups.forEach(function (g, k) {
        if (!(g in lo)) return;
        var y0 = PAD + (lo[g] - 0.5) * ROW, h = (hi[g] - lo[g] + 1) * ROW;
        var bx = LEFT + COL * 0.5, bw = (layout.depthMax - 0.5) * COL + RIGHT - 10;
        bands.push('<rect class="band' + (k % 2 ? " odd" : "") + '" data-group="' + esc(g) + '" x="' + bx + '" y="' + y0 +
          '" width="' + bw + '" height="' + h + '"></rect>' +
          '<text class="band-label" text-anchor="end" x="' + (bx + bw - 4) + '" y="' + (y0 + 11) + '">branch ' + esc(g.slice(0, -1)) + "</text>");
      });
    }
    var stubs = [];
    layout.order.forEach(function (i) {
      var n = nodes[i], x = X(i), y = Y(i);
      if (i > 0) {
        var p = n.parent, px = X(p), py = Y(p), mx = px + COL * 0.5;
        var d = "M" + px + " " + py + "H" + mx + "V" + y + "H" + x;
        (n.onPath ? edges.path : pruned[i] ? edges.pruned : n.kind === "revision" ? edges.rev : edges.plain).push(d);
      }
      var hiddenKids = 0;
      if (!state.collapsed[i]) for (var c = 0; c < n.children.length; c++) if (hidden[n.children[c]]) hiddenKids++;
      if (hiddenKids > 0) stubs.push("M" + x + " " + y + "l" + COL * 0.35 + " " + ROW * 0.3);
      var cls = "node k-" + n.kind;
      if (n.done) cls += " done";
      if (pruned[i]) cls += " pruned";
      if (n.onPath) cls += " on-path";
      if (i === DATA.chosen) cls += " chosen";
      if (state.collapsed[i] && n.children.length > 0) cls += " collapsed";
      if (matchSet.has(i)) cls += " match";
      if (state.voters >= 0 && n.vote === state.voters) cls += " voter";
      if (i === state.selected) cls += " selected";
      var attrs = ' class="' + cls + '" data-i="' + i + '" data-id="' + esc(n.id) + '" fill="' + colour(n.score) + '"';
      if (i === 0) marks.push('<circle r="7" cx="' + x + '" cy="' + y + '"' + attrs.replace(/fill="[^"]*"/, 'fill="#333"') + "></circle>");
      else if (n.done) marks.push('<rect x="' + (x - 4.5) + '" y="' + (y - 4.5) + '" width="9" height="9"' + attrs + "></rect>");
      else marks.push('<circle r="' + (n.onPath ? 5 : 4.2) + '" cx="' + x + '" cy="' + y + '"' + attrs + "></circle>");
      if (i === 0) labels.push('<text class="label root-label" x="' + (x - 10) + '" y="' + (y + 4) + '" text-anchor="end">problem</text>');
      else if (state.collapsed[i] && n.children.length > 0)
        labels.push('<text class="label more" x="' + (x + 8) + '" y="' + (y + 4) + '">+' + (size[i] - 1) + "</text>");
      else if (n.done && n.answer !== undefined)
        labels.push('<text class="label answer' + (n.vote === 0 ? " win" : "") + (i === DATA.chosen ? " chosen-label" : "") + '" x="' + (x + 8) + '" y="' + (y + 4) + '">' +
          (i === DATA.chosen ? "★ " : "") + esc(n.answer.length > 24 ? n.answer.slice(0, 23) + "…" : n.answer) + "</text>");
      else if (n.visits !== undefined && n.visits > 0)
        labels.push('<text class="label visits" x="' + (x + 7) + '" y="' + (y - 5) + '">' + n.visits + "</text>");
    });
    var w = LEFT + layout.depthMax * COL + RIGHT, h = PAD * 2 + Math.max(1, layout.rows) * ROW;
    viewport.innerHTML =
      '<g class="bands">' + bands.join("") + "</g>" +
      '<path class="edge plain" d="' + edges.plain.join("") + '"></path>' +
      '<path class="edge rev" d="' + edges.rev.join("") + '"></path>' +
      '<path class="edge pruned" d="' + edges.pruned.join("") + '"></path>' +
      '<path class="edge stub" d="' + stubs.join("") + '"></path>' +
      '<path class="edge path" d="' + edges.path.join("") + '"></path>' +
      '<g class="marks">' + marks.join("") + "</g>" +
      '<g class="labels">' + labels.join("") + "</g>";
    state.width = w; state.height = h;
    applyTransform();
    var ms = performance.now() - t0;
    window.mullTrace = { renderMs: ms, visible: layout.order.length - 1, total: N - 1 };
    document.getElementById("tree-status").textContent =
      (layout.order.length - 1) + " of " + (N - 1) + " candidates shown" +
      (state.showPruned ? "" : " (pruned ones hidden)") + " · drawn in " + Math.round(ms) + " ms";
  }

  function applyTransform() {
    viewport.setAttribute("transform", "translate(" + state.tx + "," + state.ty + ") scale(" + state.k + ")");
  }
  function fit() {
    var W = wrap.clientWidth, H = wrap.clientHeight;
    var k = Math.min(W / state.width, H / state.height, 1.6);
    state.k = k;
    state.tx = (W - state.width * k) / 2;
    state.ty = (H - state.height * k) / 2;
    applyTransform();
  }
  // the first view: the whole tree, or — when that would be unreadable — the chosen answer
  function home() {
    fit();
    if (state.k >= 0.35) return;
    var W = wrap.clientWidth, H = wrap.clientHeight;
    var i = DATA.chosen !== undefined && layout.depth[DATA.chosen] >= 0 ? DATA.chosen : 0;
    state.k = 0.7;
    state.tx = Math.min(10, W - 180 - X(i) * state.k);
    state.ty = H / 2 - Y(i) * state.k;
    applyTransform();
  }
  function centreOn(i) {
    if (!layout || layout.depth[i] < 0) return;
    var W = wrap.clientWidth, H = wrap.clientHeight;
    if (state.k < 0.6) state.k = 0.9;
    state.tx = W / 2 - X(i) * state.k;
    state.ty = H / 2 - Y(i) * state.k;
    applyTransform();
  }
  function zoomAt(factor, cx, cy) {
    var k = Math.max(0.05, Math.min(6, state.k * factor));
    state.tx = cx - (cx - state.tx) * (k / state.k);
    state.ty = cy - (cy - state.ty) * (k / state.k);
    state.k = k;
    applyTransform();
  }

  // reveal a candidate: expand its ancestors and show it even when pruned ones are hidden (until
  // the next search when transient)
  function reveal(i, transient) {
    var shown = transient ? state.transient : state.revealed;
    var p = nodes[i].parent;
    if (pruned[i]) shown.add(p);
    while (p >= 0) {
      state.collapsed[p] = false;
      if (pruned[p] && nodes[p].parent >= 0) shown.add(nodes[p].parent);
      p = nodes[p].parent;
    }
  }
  function revealTransient(i) { reveal(i, true); }

  function nodeIndex(target) {
    var el = target && target.closest ? target.closest("[data-i]") : null;
    return el ? Number(el.getAttribute("data-i")) : -1;
  }

  function describe(i) {
    var n = nodes[i];
    if (i === 0) return ["the problem " + DATA.run.problemId + (DATA.run.gold !== undefined ? " · gold " + DATA.run.gold : "")];
    var type = DATA.nodeTypes[n.node] || "node";
    var lines = [];
    lines.push(n.id + " · " + (n.kind === "copy" ? "copy of " + n.copyOf : n.kind) + (n.done ? " · done" : ""));
    if (n.node !== "") lines.push(type + " " + n.node + (n.round > 0 ? " · round " + n.round : ""));
    lines.push("PRM score " + fmt(n.score) + (n.lookahead ? " (lookahead " + n.lookahead + ")" : ""));
    if (n.visits !== undefined) lines.push("tree search: " + n.visits + " visits · value " + fmt(n.value));
    if (n.answer !== undefined) lines.push("answer " + n.answer);
    if (n.prunedBy !== undefined) lines.push("pruned by " + n.prunedBy);
    lines.push(n.tokens + " tokens · " + (size[i] - 1) + " descendants");
    return lines;
  }

  function showTip(i, ev) {
    var n = nodes[i];
    var head = describe(i);
    var html = "<div class=\"tip-head\">" + (Array.isArray(head) ? head.map(esc).join("<br>") : esc(head)) + "</div>";
    if (n.stepScores && n.stepScores.length > 0) {
      html += '<div class="bars">' + n.stepScores.map(function (s) {
        return '<span title="' + fmt(s) + '" style="height:' + Math.max(2, Math.round(s * 22)) + "px;background:" + colour(s) + '"></span>';
      }).join("") + "</div>";
    }
    if (n.text) html += "<pre>" + esc(n.text.length > 700 ? n.text.slice(0, 700) + " …" : n.text) + "</pre>";
    tip.innerHTML = html;
    tip.style.display = "block";
    var r = wrap.getBoundingClientRect();
    var x = ev.clientX - r.left + 14, y = ev.clientY - r.top + 14;
    if (x + 380 > r.width) x = Math.max(0, ev.clientX - r.left - 390);
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }

  function select(i) {
    state.selected = i;
    var panel = document.getElementById("details");
    panel.innerHTML = "";
    // mark it in place: redrawing would replace the element under the pointer between the two
    // clicks of a double-click, and the browser would not report the double-click
    var prev = viewport.querySelector(".node.selected");
    if (prev) prev.classList.remove("selected");
    var el = viewport.querySelector('[data-i="' + i + '"]');
    if (el) el.classList.add("selected");
    if (i < 0) { panel.textContent = "Click a candidate to read its solution."; return; }
    var n = nodes[i];
    var h = document.createElement("h3");
    h.textContent = i === 0 ? "the problem" : n.id;
    panel.appendChild(h);
    var head = describe(i);
    var meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = Array.isArray(head) ? head.join("\n") : head;
    panel.appendChild(meta);
    var bar = document.createElement("div");
    bar.className = "buttons";
    function button(id, text, fn) {
      var b = document.createElement("button");
      b.id = id; b.textContent = text; b.onclick = fn; bar.appendChild(b);
    }
    if (n.children.length > 0)
      button("toggle-collapse", state.collapsed[i] ? "Expand subtree" : "Collapse subtree", function () {
        state.collapsed[i] = !state.collapsed[i]; render(); select(i);
      });
    if (!state.showPruned && n.children.some(function (c) { return pruned[c]; }))
      button("toggle-pruned", state.revealed.has(i) ? "Hide pruned children" : "Show pruned children", function () {
        if (state.revealed.has(i)) state.revealed.delete(i); else state.revealed.add(i);
        render(); select(i);
      });
    button("centre", "Centre", function () { centreOn(i); });
    panel.appendChild(bar);
    // the whole solution: the steps of every ancestor, each with its score
    var chain = [];
    for (var p = i; p > 0; p = nodes[p].parent) chain.unshift(p);
    chain.forEach(function (j) {
      var m = nodes[j];
      if (m.kind === "copy") return;
      var step = document.createElement("div");
      step.className = "step" + (m.kind === "revision" ? " revision" : "");
      var s = document.createElement("span");
      s.className = "score";
      s.style.background = colour(m.score);
      s.textContent = fmt(m.score);
      step.appendChild(s);
      var id = document.createElement("span");
      id.className = "step-id";
      id.textContent = m.id + (m.kind === "revision" ? " (revision: a new attempt)" : "");
      step.appendChild(id);
      var pre = document.createElement("pre");
      pre.textContent = m.text;
      step.appendChild(pre);
      panel.appendChild(step);
    });
  }

  // search by text, answer or id
  var search = document.getElementById("search");
  var count = document.getElementById("search-count");
  var timer = 0;
  function runSearch() {
    var q = search.value.trim().toLowerCase();
    state.matches = [];
    state.matchAt = -1;
    state.transient = new Set();
    if (q !== "") {
      for (var i = 1; i < N; i++) {
        var n = nodes[i];
        if (n.id.toLowerCase() === q || n.text.toLowerCase().indexOf(q) >= 0 || (n.answer !== undefined && n.answer.toLowerCase() === q))
          state.matches.push(i);
      }
      // reveal at most a few hundred, so a common word does not unfold the whole tree
      state.matches.slice(0, 300).forEach(revealTransient);
    }
    count.textContent = q === "" ? "" : state.matches.length + " match" + (state.matches.length === 1 ? "" : "es");
    render();
    if (state.matches.length > 0) nextMatch(1);
  }
  function nextMatch(step) {
    if (state.matches.length === 0) return;
    state.matchAt = (state.matchAt + step + state.matches.length) % state.matches.length;
    var i = state.matches[state.matchAt];
    reveal(i, true);
    render();
    centreOn(i);
  }
  search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(runSearch, 150); });
  search.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); clearTimeout(timer); if (state.matchAt < 0) runSearch(); else nextMatch(e.shiftKey ? -1 : 1); }
  });
  document.getElementById("next-match").onclick = function () { nextMatch(1); };
  document.getElementById("prev-match").onclick = function () { nextMatch(-1); };

  var showPruned = document.getElementById("show-pruned");
  showPruned.checked = state.showPruned;
  showPruned.onchange = function () { state.showPruned = showPruned.checked; render(); };
  document.getElementById("collapse-off-path").onclick = function () {
    for (var i = 0; i < N; i++) state.collapsed[i] = !nodes[i].onPath && nodes[i].children.length > 0;
    render(); home();
  };
  document.getElementById("expand-all").onclick = function () {
    state.collapsed.fill(false); render(); home();
  };
  document.getElementById("zoom-in").onclick = function () { zoomAt(1.25, wrap.clientWidth / 2, wrap.clientHeight / 2); };
  document.getElementById("zoom-out").onclick = function () { zoomAt(0.8, wrap.clientWidth / 2, wrap.clientHeight / 2); };
  document.getElementById("fit").onclick = fit;

  wrap.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = wrap.getBoundingClientRect();
    zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  var drag = null;
  wrap.addEventListener("pointerdown", function (e) {
    if (nodeIndex(e.target) >= 0) return;
    drag = { x: e.clientX, y: e.clientY, tx: state.tx, ty: state.ty };
    wrap.classList.add("dragging");
  });
  window.addEventListener("pointermove", function (e) {
    if (!drag) return;
    state.tx = drag.tx + e.clientX - drag.x;
    state.ty = drag.ty + e.clientY - drag.y;
    applyTransform();
  });
  window.addEventListener("pointerup", function () { drag = null; wrap.classList.remove("dragging"); });
  svg.addEventListener("mouseover", function (e) { var i = nodeIndex(e.target); if (i >= 0) showTip(i, e); });
  svg.addEventListener("mousemove", function (e) { var i = nodeIndex(e.target); if (i >= 0) showTip(i, e); else tip.style.display = "none"; });
  svg.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  svg.addEventListener("click", function (e) { var i = nodeIndex(e.target); if (i >= 0) select(i); });
  svg.addEventListener("dblclick", function (e) {
    var i = nodeIndex(e.target);
    if (i >= 0 && nodes[i].children.length > 0) { state.collapsed[i] = !state.collapsed[i]; render(); select(i); }
  });

  // the vote tally links into the tree
  Array.prototype.forEach.call(document.querySelectorAll("#tally tr[data-vote]"), function (tr) {
    tr.addEventListener("click", function (e) {
      var v = Number(tr.getAttribute("data-vote"));
      var best = e.target.closest("[data-best]");
      if (best) {
        var b = Number(best.getAttribute("data-best"));
        reveal(b, false); render(); select(b); centreOn(b);
        return;
      }
      state.voters = state.voters === v ? -1 : v;
      Array.prototype.forEach.call(document.querySelectorAll("#tally tr"), function (r) { r.classList.remove("active"); });
      if (state.voters >= 0) {
        tr.classList.add("active");
        state.transient = new Set();
        for (var i = 1; i < N; i++) if (nodes[i].vote === v) reveal(i, true);
      }
      render();
    });
  });

  render();
  home();
  document.body.dataset.ready = "1";
})();
`
