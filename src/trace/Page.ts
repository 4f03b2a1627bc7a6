/**
 * The trace viewer's page: one self-contained HTML file (inline CSS, script, data and SVG; no
 * network at view time) showing a run's search tree, its final vote, and where the budget went.
 * Pure: the budget chart arrives already rendered to SVG.
 *
 * @since 0.1.0
 */
import { topGroupOf } from "../domain/CandidateId.ts"
import { METERS } from "../domain/Usage.ts"
import { layoutTree } from "./Layout.ts"
import { spendByNode, type TraceModel, treeCounts } from "./TraceTree.ts"
import { VIEWER_SCRIPT } from "./ViewerScript.ts"

/** Above this many candidates the viewer starts with pruned candidates hidden. */
export const COMPACT_ABOVE = 600

/**
 * Escapes text for HTML.
 *
 * @example
 * escapeHtml('a < "b"') // "a &lt; &quot;b&quot;"
 */
export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/gu, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;"
  )

/** JSON that can sit inside a `<script>` element (no `</script>`, no `<!--`). */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</gu, "\\u003c")

const num = (x: number): string =>
  Number.isInteger(x)
    ? x.toLocaleString("en-US")
    : Math.abs(x) >= 1e6
      ? x.toExponential(2)
      : x.toLocaleString("en-US", { maximumFractionDigits: 3 })

const METHODS: Record<string, string> = {
  weighted: "weighted vote: the sum of the final PRM scores of the candidates giving each (equivalent) answer",
  majority: "majority vote: the answer most candidates give",
  best: "best: the answer of the single highest-scored candidate"
}

const summary = (model: TraceModel): string => {
  const c = treeCounts(model)
  const f = model.finished
  const params = Object.entries(model.run.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ")
  const limits = Object.entries(model.run.limits)
    .map(([k, v]) => `${k} ≤ ${num(v)}`)
    .join(", ")
  const chosen = model.chosen === undefined ? undefined : model.nodes[model.chosen]
  const items: Array<[string, string]> = [
    [
      "answer",
      `${f?.answer ?? model.selected?.answer ?? "(none)"}${f?.correct === undefined ? "" : f.correct ? " ✓ correct" : " ✗ wrong"}`
    ],
    ...(model.run.gold === undefined ? [] : ([["gold", model.run.gold]] as Array<[string, string]>)),
    ["chosen candidate", chosen?.id ?? "—"],
    ["params", params === "" ? "—" : params],
    ["seed", model.run.seed],
    ["budget", limits === "" ? "unlimited" : limits],
    [
      "exhausted",
      f === undefined ? "? (the trace has no RunFinished)" : f.exhausted ? "yes: the budget refused a call" : "no"
    ],
    ["candidates", `${num(c.candidates)} (${num(c.pruned)} pruned, ${num(c.done)} done, ${num(c.scored)} scored)`],
    ...(f === undefined
      ? []
      : ([
          [
            "spent",
            `${num(f.usage.calls)} calls, ${num(f.usage.sequences)} sequences, ${num(f.usage.outputTokens)} output tokens, ${num(f.usage.verifierCalls)} verifier calls`
          ]
        ] as Array<[string, string]>)),
    ...model.routed.map((r): [string, string] => [
      "routed",
      `${r.node}: difficulty estimate ${r.estimate === null ? "none" : r.estimate.toFixed(3)} → case ${r.bin}`
    ])
  ]
  return `<dl class="summary">${items.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd></div>`).join("")}</dl>`
}

const tally = (model: TraceModel): string => {
  const sel = model.selected
  if (sel === undefined || model.tally.length === 0) return `<p class="muted">No select ran: there was no vote.</p>`
  const total = model.tally.reduce((s, t) => s + t.weight, 0)
  const how = sel.method === undefined ? "" : (METHODS[sel.method] ?? sel.method)
  const rows = model.tally
    .map((t, v) => {
      const share = total > 0 ? t.weight / total : 0
      return `<tr data-vote="${v}" data-answer="${escapeHtml(t.answer)}"${v === 0 ? ' class="winner"' : ""}>
<td class="ans">${v === 0 ? "★ " : ""}${escapeHtml(t.answer)}</td><td class="n">${num(t.count)}</td><td class="n">${num(t.weight)}</td>
<td class="bar"><span style="width:${(share * 100).toFixed(1)}%"></span></td>
<td class="ok">${t.correct === undefined ? "" : t.correct ? "✓" : "✗"}</td>
<td>${t.bestIndex === undefined ? escapeHtml(t.best) : `<a href="#" data-best="${t.bestIndex}">${escapeHtml(t.best)}</a>`}</td></tr>`
    })
    .join("\n")
  return `<p class="muted">${escapeHtml(how)}${sel.hierarchical === undefined ? "" : ` — within each ${escapeHtml(sel.hierarchical)} first, then across them`}; ${num(sel.candidates)} candidates voted (${escapeHtml(sel.node)}). Click an answer to mark its voters in the tree.</p>
<table id="tally"><thead><tr><th>answer</th><th>votes</th><th>weight</th><th>share</th><th title="matches the gold answer">gold</th><th>best candidate</th></tr></thead>
<tbody>${rows}</tbody></table>`
}

const spendTable = (model: TraceModel): string => {
  const rows = spendByNode(model.charges)
  if (rows.length === 0) return ""
  const cols = ["calls", "sequences", "outputTokens", "verifierCalls"] as const
  return `<table class="spend"><thead><tr><th>graph node</th><th>type</th>${cols.map((c) => `<th>${c}</th>`).join("")}</tr></thead><tbody>
${rows
  .map(
    (r) =>
      `<tr><td><code>${escapeHtml(r.node)}</code></td><td>${escapeHtml(model.nodeTypes[r.node] ?? "")}</td>${cols.map((c) => `<td class="n">${num(r.usage[c])}</td>`).join("")}</tr>`
  )
  .join("\n")}</tbody></table>`
}

const refusals = (model: TraceModel): string =>
  model.refused.length === 0
    ? ""
    : `<h3>Refused by the budget (${model.refused.length})</h3><ul class="refused">${model.refused
        .slice(0, 50)
        .map(
          (r) =>
            `<li><code>${escapeHtml(r.node)}</code>: ${escapeHtml(r.meter)} needed ${num(r.requested)}, ${num(r.available)} left</li>`
        )
        .join("")}${model.refused.length > 50 ? `<li>… ${model.refused.length - 50} more</li>` : ""}</ul>`

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:13px/1.4 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2328;background:#f6f7f9}
header{padding:12px 18px 4px;background:#fff;border-bottom:1px solid #ddd}
h1{font-size:18px;margin:0 0 6px}h2{font-size:15px;margin:0 0 8px}h3{font-size:13px;margin:10px 0 6px}
.summary{display:flex;flex-wrap:wrap;gap:2px 22px;margin:0 0 8px}.summary div{display:flex;gap:6px}
dt{color:#656d76}dd{margin:0;font-weight:600}
main{display:grid;grid-template-columns:minmax(0,1fr) 390px;gap:12px;padding:12px 18px}
section,aside>div{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px 12px}
aside{display:flex;flex-direction:column;gap:12px;min-width:0}
.toolbar{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin-bottom:6px}
.toolbar input[type=search]{width:220px;padding:3px 6px}
button{font:inherit;padding:2px 8px;border:1px solid #bbb;border-radius:4px;background:#f3f4f6;cursor:pointer}
button:hover{background:#e5e7eb}
#tree-wrap{position:relative;height:72vh;min-height:420px;overflow:hidden;border:1px solid #e3e3e3;border-radius:4px;background:#fcfcfd;cursor:grab}
#tree-wrap.dragging{cursor:grabbing}
#tree{width:100%;height:100%;display:block;user-select:none}
.band{fill:#eef3fb}.band.odd{fill:#f6f1fb}.band-label{font-size:10px;fill:#7a8699}
.edge{fill:none;stroke:#9aa4b2;stroke-width:1}
.edge.rev{stroke:#8250df;stroke-dasharray:4 3;stroke-width:1.3}
.edge.pruned{stroke:#c9ced6;opacity:.55}
.edge.stub{stroke:#c9ced6;stroke-dasharray:2 2}
.edge.path{stroke:#0969da;stroke-width:3.2;stroke-linejoin:round}
.node{stroke:#fff;stroke-width:1;cursor:pointer}
.node.pruned{opacity:.28}
.node.k-copy{stroke:#333;stroke-dasharray:1.5 1}
.node.on-path{stroke:#0969da;stroke-width:2.2;opacity:1}
.node.chosen{stroke:#0969da;stroke-width:3.5}
.node.collapsed{stroke:#333;stroke-width:2}
.node.match{stroke:#e36209;stroke-width:3;opacity:1}
.node.voter{stroke:#8250df;stroke-width:2.6;opacity:1}
.node.selected{stroke:#111;stroke-width:3}
.label{font-size:10px;fill:#444;pointer-events:none}
.label.answer.win{fill:#116329;font-weight:600}.label.chosen-label{fill:#0969da;font-weight:700;font-size:11px}
.label.more{fill:#333;font-weight:600}.label.visits{fill:#8250df;font-size:9px}.root-label{font-weight:600}
#tip{position:absolute;display:none;max-width:380px;background:#fff;border:1px solid #bbb;border-radius:5px;padding:6px 8px;box-shadow:0 2px 8px rgba(0,0,0,.15);pointer-events:none;z-index:2}
#tip pre,#details pre{white-space:pre-wrap;word-break:break-word;margin:4px 0 0;font:12px/1.35 ui-monospace,Menlo,Consolas,monospace}
#tip pre{max-height:240px;overflow:hidden}
.tip-head{font-size:12px;color:#333}
.bars{display:flex;align-items:flex-end;gap:1px;height:24px;margin-top:4px}.bars span{width:6px;display:inline-block}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;align-items:center;font-size:12px;color:#444;margin:6px 0 0}
.legend svg{vertical-align:middle}
.grad{display:inline-block;width:90px;height:10px;background:linear-gradient(90deg,hsl(0,70%,42%),hsl(60,70%,48%),hsl(120,70%,42%));border-radius:2px;vertical-align:middle}
#tree-status{color:#656d76;font-size:12px;margin-left:auto}
#details{max-height:62vh;overflow:auto}
#details .meta{white-space:pre-line;color:#444;font-size:12px}
#details .buttons{display:flex;gap:6px;margin:6px 0}
.step{border-top:1px solid #eee;padding:4px 0}.step.revision{border-top:2px dashed #8250df}
.step .score{display:inline-block;min-width:44px;text-align:center;color:#fff;border-radius:3px;font-size:11px;margin-right:6px}
.step-id{font-size:11px;color:#656d76}
table{border-collapse:collapse;width:100%}th,td{padding:3px 6px;border-bottom:1px solid #eee;text-align:left}
th{font-weight:600;color:#444}td.n{text-align:right;font-variant-numeric:tabular-nums}
#tally tr[data-vote]{cursor:pointer}#tally tr.winner td{font-weight:700;background:#eafbea}
#tally tr.active td{background:#f1e9ff}
#tally td{overflow-wrap:anywhere}#tally td.ans{max-width:130px}#tally a{font-size:12px}
td.bar{width:90px}td.bar span{display:block;height:10px;background:#2da44e;border-radius:2px}
.muted{color:#656d76;margin:0 0 6px}
.question{margin:0 0 8px}.question pre{white-space:pre-wrap;font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;margin:4px 0;max-width:1100px}
td.ok{text-align:center}
#budget{grid-column:1 / -1}.budget-grid{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.spend{width:auto}.refused{margin:0;padding-left:18px}
code{font:12px ui-monospace,Menlo,Consolas,monospace}
`

const LEGEND = `<div class="legend">
<span>PRM score <span class="grad"></span> 0 → 1 (grey: unscored)</span>
<span><svg width="14" height="12"><circle cx="7" cy="6" r="4" fill="#888"/></svg> step</span>
<span><svg width="14" height="12"><rect x="2" y="1" width="9" height="9" fill="#888"/></svg> done (answer beside it)</span>
<span><svg width="14" height="12"><circle cx="7" cy="6" r="4" fill="#888" opacity=".3"/></svg> pruned</span>
<span><svg width="30" height="12"><path d="M0 6H30" stroke="#0969da" stroke-width="3"/></svg> chosen answer's path</span>
<span><svg width="30" height="12"><path d="M0 6H30" stroke="#8250df" stroke-dasharray="4 3" stroke-width="1.3"/></svg> revision</span>
<span><svg width="14" height="12"><circle cx="7" cy="6" r="4" fill="#888" stroke="#333" stroke-dasharray="1.5 1"/></svg> resampled copy</span>
<span><svg width="30" height="12"><path d="M2 3l20 6" stroke="#c9ced6" stroke-dasharray="2 2"/></svg> hidden pruned children</span>
<span>hover: step text · click: whole solution · double-click: collapse · wheel: zoom · drag: pan</span>
</div>`

/**
 * The viewer's HTML for a trace model and its budget chart (an SVG string, or `""`).
 *
 * @example
 * const html = renderPage(model, yield* Vega.render(budgetChart(model.charges, model.run.limits), "budget"))
 */
export const renderPage = (model: TraceModel, budgetSvg: string): string => {
  const title = `${model.run.graph} on ${model.run.problemId}`
  const data = { ...model, compactAbove: COMPACT_ABOVE }
  const layout = layoutTree.toString()
  const script = VIEWER_SCRIPT.replace("LAYOUT", () => layout).replace("TOP_GROUP_OF", () => topGroupOf.toString())
  const meters = model.charges.length === 0 ? [] : METERS.filter((m) => (model.finished?.usage[m] ?? 0) > 0)
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>mull trace: ${escapeHtml(title)}</title>
<style>${CSS}</style></head>
<body>
<header><h1>mull trace · <code>${escapeHtml(model.run.graph)}</code> on <code>${escapeHtml(model.run.problemId)}</code></h1>
${summary(model)}${
  model.run.question === undefined
    ? ""
    : `<details class="question"><summary>question</summary><pre>${escapeHtml(model.run.question)}</pre></details>`
}</header>
<main>
<section id="tree-section"><h2>Search tree</h2>
<div class="toolbar">
<input id="search" type="search" placeholder="search step text, answer or id" aria-label="search">
<button id="prev-match" title="previous match (shift+Enter)">◀</button><button id="next-match" title="next match (Enter)">▶</button>
<span id="search-count"></span>
<label><input id="show-pruned" type="checkbox"> show pruned</label>
<button id="collapse-off-path">Collapse off-path</button><button id="expand-all">Expand all</button>
<button id="zoom-out" title="zoom out">−</button><button id="zoom-in" title="zoom in">+</button><button id="fit">Fit</button>
<span id="tree-status"></span>
</div>
<div id="tree-wrap"><svg id="tree" xmlns="http://www.w3.org/2000/svg"><g id="viewport"></g></svg><div id="tip"></div></div>
${LEGEND}
</section>
<aside>
<div><h2>Vote</h2>${tally(model)}</div>
<div id="details-box"><h2>Candidate</h2><div id="details">Click a candidate to read its solution.</div></div>
</aside>
<section id="budget"><h2>Budget</h2>
<p class="muted">The ledger's committed total of each meter after every charge${meters.length === 0 ? "" : ` (${meters.join(", ")})`}; a dashed red line is the run's limit.</p>
<div class="budget-grid"><div class="chart">${budgetSvg}</div><div>${spendTable(model)}${refusals(model)}</div></div>
</section>
</main>
<script id="trace-data" type="application/json">${scriptJson(data)}</script>
<script>${script}</script>
</body></html>
`
}
