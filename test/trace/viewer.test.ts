/**
 * The trace viewer in a real browser (issue 10): a real beam-search run (simulated backend) writes
 * its trace with `mull run --trace`, `mull trace` renders it, and headless Chromium (Debian's
 * `chromium`, driven by playwright-core; no network) shows the tree, the chosen answer's path and
 * the vote tally; hover, click, collapse, search and hiding pruned candidates work; the screenshot
 * the README shows is written to docs/img/trace.png. A synthetic N = 256, 40-round beam (10,752
 * candidates) must load and redraw in reasonable time. Without /usr/bin/chromium the tests fail
 * (CI installs it): they never skip.
 */
import { existsSync } from "node:fs"
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { NodeServices } from "@effect/platform-node"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestConsole } from "effect/testing"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { runCli } from "../../src/cli/main.ts"

const CHROMIUM = "/usr/bin/chromium"
const SCREENSHOT = NodePath.resolve(import.meta.dirname, "../../docs/img/trace.png")
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/** Runs the CLI quietly; fails on a non-zero exit code. */
const cli = (argv: ReadonlyArray<string>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      process.exitCode = undefined
      yield* runCli(argv).pipe(Effect.provide(NodeServices.layer))
      const err = (yield* TestConsole.errorLines).map(String)
      if (process.exitCode !== undefined && process.exitCode !== 0)
        throw new Error(`mull ${argv.join(" ")} exited ${process.exitCode}:\n${err.join("\n")}`)
    }).pipe(Effect.provide(TestConsole.layer))
  )

let dir = ""
let context: BrowserContext | undefined
let page: Page

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: the trace viewer's tests need Debian's chromium package (apt-get install chromium; .ci/run installs it)`
    )
  dir = await mkdtemp(NodePath.join(tmpdir(), "mull-trace-"))
  context = await chromium.launchPersistentContext(NodePath.join(dir, "profile"), {
    executablePath: CHROMIUM,
    args: ARGS,
    viewport: { width: 1440, height: 1000 }
  })
  page = context.pages()[0] ?? (await context.newPage())
  // the page must not fetch anything: fail any request that is not the file itself
  await page.route(/^(?!file:)/u, (route) => route.abort())
})

afterAll(async () => {
  await context?.close()
  if (dir !== "") await rm(dir, { recursive: true, force: true })
  process.exitCode = undefined
})

/** Opens a page and waits until the viewer has drawn; returns the load time in ms and the page errors. */
const open = async (file: string) => {
  const errors: Array<string> = []
  const onError = (e: Error) => errors.push(String(e))
  page.on("pageerror", onError)
  const t0 = performance.now()
  await page.goto(`file://${file}`)
  await page.waitForSelector("body[data-ready]", { timeout: 20_000 })
  const ms = performance.now() - t0
  page.off("pageerror", onError)
  return { ms, errors }
}

/** Waits until the search shows this count text. */
const searchCount = (text: string) =>
  page.waitForFunction(`document.querySelector("#search-count").textContent === ${JSON.stringify(text)}`)

/** What the viewer's last draw did. */
const viewerStats = () =>
  page.evaluate("window.mullTrace") as Promise<{ renderMs: number; visible: number; total: number }>

const ids = (selector: string) => page.$$eval(selector, (els) => els.map((e) => e.getAttribute("data-id") ?? "").sort())
const count = (selector: string) => page.$$eval(selector, (els) => els.length)

interface TraceFacts {
  readonly chosen: string
  readonly answer: string
  readonly ranking: ReadonlyArray<{ readonly answer: string; readonly count: number }>
  readonly created: number
  readonly dropped: ReadonlyArray<string>
}

const factsOf = (text: string): TraceFacts => {
  const events = text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  const selected = events.findLast((e) => e._tag === "Selected") ?? {}
  return {
    chosen: String(selected.chosen),
    answer: String(selected.answer),
    ranking: selected.ranking as TraceFacts["ranking"],
    created: events.filter((e) => e._tag === "CandidateCreated").length,
    dropped: events.flatMap((e) => (e._tag === "CandidatesPruned" ? (e.dropped as Array<string>) : []))
  }
}

describe("mull trace in headless Chromium", () => {
  it("shows a real beam search's tree, chosen path and vote; hover, click, collapse and search work", async () => {
    const trace = NodePath.join(dir, "beam.jsonl")
    const html = NodePath.join(dir, "beam.html")
    await cli(["run", "beam-search", "--problem", "math500:#42", "--param", "N=16", "--trace", trace, "--json"])
    await cli(["trace", trace, "--out", html])
    const facts = factsOf(await readFile(trace, "utf8"))
    const { ms, errors } = await open(html)
    assert.deepStrictEqual(errors, [])

    // the tree: every candidate and the problem
    assert.strictEqual(await count("#tree [data-id]"), facts.created + 1)
    assert.strictEqual(await count("#tree .node.pruned"), new Set(facts.dropped).size)
    // the chosen answer's path: the problem and every prefix of the chosen id (beam ids are paths)
    const segments = facts.chosen.split(".")
    const path = ["", ...segments.map((_, i) => segments.slice(0, i + 1).join("."))].sort()
    assert.deepStrictEqual(await ids("#tree .node.on-path"), path)
    assert.deepStrictEqual(await ids("#tree .node.chosen"), [facts.chosen])
    const pathEdges = await page.$eval("#tree path.edge.path", (e) => (e.getAttribute("d") ?? "").split("M").length - 1)
    assert.strictEqual(pathEdges, path.length - 1)
    assert.include(await page.textContent("#tree .chosen-label"), facts.answer)

    // the vote tally: every answer of the ranking, the winner first
    const rows = await page.$$eval("#tally tr[data-vote]", (trs) =>
      trs.map((tr) => ({
        answer: tr.getAttribute("data-answer"),
        winner: tr.classList.contains("winner"),
        votes: Number(tr.querySelectorAll("td")[1]?.textContent)
      }))
    )
    assert.deepStrictEqual(
      rows,
      facts.ranking.map((r, i) => ({ answer: r.answer, winner: i === 0, votes: r.count }))
    )
    assert.strictEqual(rows[0]?.answer, facts.answer)
    // the run is graded against the gold answer the trace carries
    assert.match((await page.textContent("header")) ?? "", /gold\s*4/u)
    // the budget chart: one panel per meter spent
    assert.isAbove(await count("#budget svg .mark-line path, #budget svg path"), 0)

    // hover: the candidate's step text and score
    const chosen = `#tree [data-id="${facts.chosen}"]`
    await page.hover(chosen)
    assert.isTrue(await page.isVisible("#tip"))
    assert.include(await page.textContent("#tip"), facts.chosen)
    assert.include(await page.textContent("#tip"), "PRM score")

    // click: the whole solution, one block per step
    await page.click(chosen)
    assert.strictEqual(await page.textContent("#details h3"), facts.chosen)
    assert.strictEqual(await count("#details .step"), segments.length)

    // collapse a subtree (double-click), then expand it from the details panel
    const all = await count("#tree [data-id]")
    const top = `#tree [data-id="${segments[0]}"]`
    await page.dblclick(top)
    assert.deepStrictEqual(await ids("#tree .node.collapsed"), [segments[0]])
    const hidden = Number((await page.textContent("#tree .label.more"))?.slice(1))
    assert.isAbove(hidden, 0)
    assert.strictEqual(await count("#tree [data-id]"), all - hidden)
    await page.click("#toggle-collapse")
    assert.strictEqual(await count("#tree [data-id]"), all)

    // search by text: matches are marked and counted; by id: exactly one
    const word = (facts.chosen.length > 0 ? await page.textContent("#details .step pre") : "")?.split(/\s+/u)[2] ?? ""
    await page.fill("#search", word)
    await page.waitForFunction(`document.querySelector("#search-count").textContent !== ""`)
    assert.isAbove(await count("#tree .node.match"), 0)
    await page.fill("#search", facts.chosen)
    await searchCount("1 match")
    assert.deepStrictEqual(await ids("#tree .node.match"), [facts.chosen])

    // hide pruned candidates (the path stays) once the search is cleared
    await page.fill("#search", "")
    await searchCount("")
    await page.uncheck("#show-pruned")
    assert.strictEqual(await count("#tree [data-id]"), all - new Set(facts.dropped).size)
    await page.check("#show-pruned")

    // the README's picture: the tree with the chosen candidate's solution open
    await page.click(chosen)
    await page.click("#fit")
    await page.mouse.move(0, 0)
    await mkdir(NodePath.dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    console.log(`N = 16 beam search: ${facts.created} candidates, page ready in ${ms.toFixed(0)} ms`)
  })

  it("keeps a N = 256, 40-round beam (10,752 candidates) usable: compact at first, every candidate on demand", async () => {
    const trace = NodePath.join(dir, "big.jsonl")
    const html = NodePath.join(dir, "big.html")
    const beam = syntheticBeam(256, 4, 40)
    await writeFile(trace, beam.jsonl)
    await cli(["trace", trace, "--out", html])
    const { ms, errors } = await open(html)
    assert.deepStrictEqual(errors, [])
    const first = await viewerStats()
    assert.strictEqual(first.total, 256 + 40 * 256 + 256)
    // pruned candidates start hidden: the beam's kept lanes and the final solutions remain
    assert.isBelow(first.visible, first.total / 2)
    assert.strictEqual(await count("#tree [data-id]"), first.visible + 1)
    assert.strictEqual(await count("#tree .node.on-path"), 42 + 1)
    // every candidate, on demand
    await page.check("#show-pruned")
    const all = await viewerStats()
    assert.strictEqual(all.visible, first.total)
    await page.uncheck("#show-pruned")
    // search finds a pruned candidate deep in the tree and reveals it
    await page.fill("#search", beam.deepPruned)
    await searchCount("1 match")
    assert.deepStrictEqual(await ids("#tree .node.match"), [beam.deepPruned])
    console.log(
      `N = 256 × 40 rounds: ${first.total} candidates; page ready in ${ms.toFixed(0)} ms (first draw ${first.renderMs.toFixed(0)} ms, ${first.visible} shown); all ${all.visible} drawn in ${all.renderMs.toFixed(0)} ms`
    )
    assert.isBelow(ms, 15_000)
    assert.isBelow(all.renderMs, 5_000)
  })
})

/**
 * A beam-search trace like `mull run beam-search --param N=… --trace` writes, without running
 * one: N samples, then each round scores the active lanes, keeps N / M and expands each M ways;
 * finally every lane is completed, scored and voted on. Scores follow a fixed hash of the id.
 */
const syntheticBeam = (n: number, m: number, rounds: number): { jsonl: string; deepPruned: string } => {
  let deepPruned = ""
  const lines: Array<unknown> = []
  const zero = {
    calls: 0,
    sequences: 0,
    inputTokens: 0,
    outputTokens: 0,
    verifierCalls: 0,
    verifierTokens: 0,
    flops: 0,
    usd: 0,
    wallMs: 0
  }
  const total = { ...zero }
  let at = 1_000
  const charge = (node: string, sequences: number, verifierCalls: number) => {
    total.calls += 1
    total.sequences += sequences
    total.outputTokens += sequences * 60
    total.verifierCalls += verifierCalls
    at += 3
    lines.push({
      _tag: "Charged",
      node,
      usage: { ...zero, calls: 1, sequences, outputTokens: sequences * 60, verifierCalls },
      total: { ...total },
      at
    })
  }
  const scoreOf = (id: string) => {
    let h = 2166136261
    for (const c of id) h = Math.imul(h ^ c.charCodeAt(0), 16777619)
    return ((h >>> 0) % 1000) / 1000
  }
  const create = (id: string, parentId: string | undefined, round: number, answer?: string) =>
    lines.push({
      _tag: "CandidateCreated",
      id,
      ...(parentId === undefined ? {} : { parentId }),
      node: parentId === undefined ? "root.nodes.0" : "root.nodes.1.body.nodes.2",
      round,
      done: answer !== undefined,
      ...(answer === undefined ? {} : { answer }),
      tokens: 60 * (round + 1),
      text: `Step ${round + 1} of ${id}: we simplify the expression and compare both sides of the equation.`
    })
  lines.push({
    _tag: "RunStarted",
    problemId: "synthetic",
    question: "?",
    graph: "beam-search",
    params: { N: n, M: m, rounds },
    limits: {},
    seed: "0",
    at
  })
  let active = Array.from({ length: n }, (_, i) => `s${i}`)
  charge("root.nodes.0", n, 0)
  for (const id of active) create(id, undefined, 0)
  for (let r = 0; r < rounds; r++) {
    charge("root.nodes.1.body.nodes.0", 0, active.length)
    for (const id of active)
      lines.push({
        _tag: "CandidateScored",
        id,
        node: "root.nodes.1.body.nodes.0",
        score: scoreOf(id),
        stepScores: [scoreOf(id)]
      })
    const ranked = [...active].sort((a, b) => scoreOf(b) - scoreOf(a))
    const kept = new Set(ranked.slice(0, n / m))
    if (r === 20) deepPruned = ranked[ranked.length - 1] ?? ""
    lines.push({
      _tag: "CandidatesPruned",
      node: "root.nodes.1.body.nodes.1",
      kept: active.filter((id) => kept.has(id)),
      dropped: active.filter((id) => !kept.has(id))
    })
    const next: Array<string> = []
    for (const id of active.filter((x) => kept.has(x))) {
      charge("root.nodes.1.body.nodes.2", m, 0)
      for (let k = 0; k < m; k++) {
        create(`${id}.${k}`, id, r + 1)
        next.push(`${id}.${k}`)
      }
    }
    active = next
  }
  const done = active.map((id, i) => {
    const child = `${id}.0`
    charge("root.nodes.2", 1, 0)
    create(child, id, rounds + 1, String(i % 7))
    return child
  })
  charge("root.nodes.3", 0, done.length)
  for (const id of done)
    lines.push({ _tag: "CandidateScored", id, node: "root.nodes.3", score: scoreOf(id), stepScores: [scoreOf(id)] })
  const weights = new Map<string, { weight: number; count: number; best: string }>()
  done.forEach((id, i) => {
    const a = String(i % 7)
    const w = weights.get(a) ?? { weight: 0, count: 0, best: id }
    if (scoreOf(id) > scoreOf(w.best)) w.best = id
    weights.set(a, { weight: w.weight + scoreOf(id), count: w.count + 1, best: w.best })
  })
  const ranking = [...weights].map(([answer, w]) => ({ answer, ...w })).sort((a, b) => b.weight - a.weight)
  const top = ranking[0]
  lines.push({
    _tag: "Selected",
    node: "root.nodes.4",
    answer: top?.answer,
    chosen: top?.best,
    method: "weighted",
    candidates: done.length,
    ranking
  })
  lines.push({ _tag: "RunFinished", answer: top?.answer, exhausted: false, usage: total })
  return { jsonl: `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`, deepPruned }
}
