/**
 * The trace viewer's page logic in a DOM (jsdom), so `npm test` covers it on a machine with no
 * browser: a real beam-search run writes its trace with `mull run --trace`, `mull trace` renders
 * the page, and the page's own inline script runs in jsdom. The tree, the chosen answer's path,
 * the vote tally, hover, click, collapse, search and hiding pruned candidates are checked exactly
 * as the browser test (viewer.browser.ts, `npm run test:browser`) checks them in headless
 * Chromium; what jsdom cannot do (layout, pixels, the screenshot) stays in the browser test.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { JSDOM, VirtualConsole } from "jsdom"
import { cli, factsOf, syntheticBeam } from "./viewerFixtures.ts"

let dir = ""

beforeAll(async () => {
  dir = await mkdtemp(NodePath.join(tmpdir(), "mull-trace-dom-"))
})

afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true })
  process.exitCode = undefined
})

interface Viewer {
  readonly dom: JSDOM
  readonly document: Document
  readonly errors: ReadonlyArray<string>
  readonly ms: number
}

/** Waits until `ok()` holds, polling (the page debounces its search by 150 ms). */
const until = async (ok: () => boolean, what: string, ms = 5_000) => {
  const t0 = Date.now()
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/**
 * Loads a page written by `mull trace` and runs its inline script. The page must not fetch
 * anything: jsdom loads no subresources here, and a script error or a `<script src>` / `<link>`
 * to anywhere fails the test.
 */
const open = async (file: string): Promise<Viewer> => {
  const html = await readFile(file, "utf8")
  const errors: Array<string> = []
  const virtualConsole = new VirtualConsole()
  virtualConsole.on("jsdomError", (e) => errors.push(String(e)))
  virtualConsole.on("error", (...args) => errors.push(args.map(String).join(" ")))
  const t0 = performance.now()
  const dom = new JSDOM(html, { runScripts: "dangerously", pretendToBeVisual: true, virtualConsole })
  const document = dom.window.document
  await until(() => document.body.dataset.ready !== undefined, "body[data-ready]", 20_000)
  const ms = performance.now() - t0
  assert.strictEqual(document.querySelectorAll("script[src], link[href], img[src^='http']").length, 0)
  return { dom, document, errors, ms }
}

const ids = (v: Viewer, selector: string) =>
  [...v.document.querySelectorAll(selector)].map((e) => e.getAttribute("data-id") ?? "").sort()
const count = (v: Viewer, selector: string) => v.document.querySelectorAll(selector).length
const text = (v: Viewer, selector: string) => v.document.querySelector(selector)?.textContent ?? ""
const element = (v: Viewer, selector: string): Element => {
  const e = v.document.querySelector(selector)
  if (e === null) throw new Error(`no element ${selector}`)
  return e
}

/** Fires a bubbling mouse event, as a user's pointer would. */
const mouse = (v: Viewer, selector: string, type: "mouseover" | "click" | "dblclick") =>
  element(v, selector).dispatchEvent(new v.dom.window.MouseEvent(type, { bubbles: true, clientX: 10, clientY: 10 }))

/** Types into the search box (an `input` event, as typing fires). */
const fill = (v: Viewer, value: string) => {
  const input = element(v, "#search") as HTMLInputElement
  input.value = value
  input.dispatchEvent(new v.dom.window.Event("input", { bubbles: true }))
}

/** Ticks or unticks a checkbox (a `change` event, as a click fires). */
const setChecked = (v: Viewer, selector: string, checked: boolean) => {
  const box = element(v, selector) as HTMLInputElement
  box.checked = checked
  box.dispatchEvent(new v.dom.window.Event("change", { bubbles: true }))
}

const stats = (v: Viewer) =>
  (v.dom.window as unknown as { mullTrace: { renderMs: number; visible: number; total: number } }).mullTrace

describe("mull trace: the viewer's page in a DOM", () => {
  it("shows a real beam search's tree, chosen path and vote; hover, click, collapse and search work", async () => {
    const trace = NodePath.join(dir, "beam.jsonl")
    const html = NodePath.join(dir, "beam.html")
    await cli(["run", "beam-search", "--problem", "math500:#42", "--param", "N=16", "--trace", trace, "--json"])
    await cli(["trace", trace, "--out", html])
    const facts = factsOf(await readFile(trace, "utf8"))
    const v = await open(html)
    try {
      assert.deepStrictEqual(v.errors, [])

      // the tree: every candidate and the problem
      assert.strictEqual(count(v, "#tree [data-id]"), facts.created + 1)
      assert.strictEqual(count(v, "#tree .node.pruned"), new Set(facts.dropped).size)
      // the chosen answer's path: the problem and every prefix of the chosen id (beam ids are paths)
      const segments = facts.chosen.split(".")
      const path = ["", ...segments.map((_, i) => segments.slice(0, i + 1).join("."))].sort()
      assert.deepStrictEqual(ids(v, "#tree .node.on-path"), path)
      assert.deepStrictEqual(ids(v, "#tree .node.chosen"), [facts.chosen])
      const pathEdges = (element(v, "#tree path.edge.path").getAttribute("d") ?? "").split("M").length - 1
      assert.strictEqual(pathEdges, path.length - 1)
      assert.include(text(v, "#tree .chosen-label"), facts.answer)

      // the vote tally: every answer of the ranking, the winner first
      const rows = [...v.document.querySelectorAll("#tally tr[data-vote]")].map((tr) => ({
        answer: tr.getAttribute("data-answer"),
        winner: tr.classList.contains("winner"),
        votes: Number(tr.querySelectorAll("td")[1]?.textContent)
      }))
      assert.deepStrictEqual(
        rows,
        facts.ranking.map((r, i) => ({ answer: r.answer, winner: i === 0, votes: r.count }))
      )
      assert.strictEqual(rows[0]?.answer, facts.answer)
      // the run is graded against the gold answer the trace carries
      assert.match(text(v, "header"), /gold\s*4/u)
      // the budget chart: drawn into the page
      assert.isAbove(count(v, "#budget svg path"), 0)

      // hover: the candidate's step text and score
      const chosen = `#tree [data-id="${facts.chosen}"]`
      mouse(v, chosen, "mouseover")
      assert.notStrictEqual((element(v, "#tip") as HTMLElement).style.display, "none")
      assert.include(text(v, "#tip"), facts.chosen)
      assert.include(text(v, "#tip"), "PRM score")

      // click: the whole solution, one block per step
      mouse(v, chosen, "click")
      assert.strictEqual(text(v, "#details h3"), facts.chosen)
      assert.strictEqual(count(v, "#details .step"), segments.length)

      // collapse a subtree (double-click), then expand it from the details panel
      const all = count(v, "#tree [data-id]")
      mouse(v, `#tree [data-id="${segments[0]}"]`, "dblclick")
      assert.deepStrictEqual(ids(v, "#tree .node.collapsed"), [segments[0]])
      const hidden = Number(text(v, "#tree .label.more").slice(1))
      assert.isAbove(hidden, 0)
      assert.strictEqual(count(v, "#tree [data-id]"), all - hidden)
      mouse(v, "#toggle-collapse", "click")
      assert.strictEqual(count(v, "#tree [data-id]"), all)

      // search by text: matches are marked and counted; by id: exactly one
      const word = text(v, "#details .step pre").split(/\s+/u)[2] ?? ""
      fill(v, word)
      await until(() => text(v, "#search-count") !== "", "a search count")
      assert.isAbove(count(v, "#tree .node.match"), 0)
      fill(v, facts.chosen)
      await until(() => text(v, "#search-count") === "1 match", "1 match")
      assert.deepStrictEqual(ids(v, "#tree .node.match"), [facts.chosen])

      // hide pruned candidates (the path stays) once the search is cleared
      fill(v, "")
      await until(() => text(v, "#search-count") === "", "an empty search count")
      setChecked(v, "#show-pruned", false)
      assert.strictEqual(count(v, "#tree [data-id]"), all - new Set(facts.dropped).size)
      setChecked(v, "#show-pruned", true)
      assert.strictEqual(count(v, "#tree [data-id]"), all)
      assert.deepStrictEqual(v.errors, [])
      console.log(`N = 16 beam search: ${facts.created} candidates, page ready in jsdom in ${v.ms.toFixed(0)} ms`)
    } finally {
      v.dom.window.close()
    }
  })

  it("keeps a N = 256, 40-round beam (10,752 candidates) usable: compact at first, every candidate on demand", async () => {
    const trace = NodePath.join(dir, "big.jsonl")
    const html = NodePath.join(dir, "big.html")
    const beam = syntheticBeam(256, 4, 40)
    await writeFile(trace, beam.jsonl)
    await cli(["trace", trace, "--out", html])
    const v = await open(html)
    try {
      assert.deepStrictEqual(v.errors, [])
      const first = { ...stats(v) }
      assert.strictEqual(first.total, 256 + 40 * 256 + 256)
      // pruned candidates start hidden: the beam's kept lanes and the final solutions remain
      assert.isBelow(first.visible, first.total / 2)
      assert.strictEqual(count(v, "#tree [data-id]"), first.visible + 1)
      assert.strictEqual(count(v, "#tree .node.on-path"), 42 + 1)
      // every candidate, on demand
      setChecked(v, "#show-pruned", true)
      assert.strictEqual(stats(v).visible, first.total)
      assert.strictEqual(count(v, "#tree [data-id]"), first.total + 1)
      setChecked(v, "#show-pruned", false)
      // search finds a pruned candidate deep in the tree and reveals it
      fill(v, beam.deepPruned)
      await until(() => text(v, "#search-count") === "1 match", "1 match")
      assert.deepStrictEqual(ids(v, "#tree .node.match"), [beam.deepPruned])
      assert.deepStrictEqual(v.errors, [])
    } finally {
      v.dom.window.close()
    }
  })

  it("draws a band behind each parallel branch of a DVTS run (branches read from ids by CandidateId)", async () => {
    const trace = NodePath.join(dir, "dvts.jsonl")
    const html = NodePath.join(dir, "dvts.html")
    await cli(["run", "dvts", "--problem", "math500:#42", "--param", "N=8", "--param", "M=4", "--trace", trace])
    await cli(["trace", trace, "--out", html])
    const v = await open(html)
    try {
      assert.deepStrictEqual(v.errors, [])
      const bands = [...v.document.querySelectorAll("#tree rect.band")].map((e) => e.getAttribute("data-group"))
      assert.deepStrictEqual(bands, ["b0/", "b1/"])
    } finally {
      v.dom.window.close()
    }
  })
})
