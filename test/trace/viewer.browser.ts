/**
 * The trace viewer in a real browser (issue 10): a real beam-search run (simulated backend) writes
 * its trace with `mull run --trace`, `mull trace` renders it, and headless Chromium (Debian's
 * `chromium`, driven by playwright-core; no network) shows the tree, the chosen answer's path and
 * the vote tally; hover, click, collapse, search and hiding pruned candidates work; the screenshot
 * the README shows is written to docs/img/trace.png. A synthetic N = 256, 40-round beam (10,752
 * candidates) must load and redraw in reasonable time. Without /usr/bin/chromium the tests fail
 * (CI installs it): they never skip.
 *
 * Run by `npm run test:browser` (its own vitest config), not by `npm test`: a fresh machine has no
 * browser. `npm test` covers the same page logic in a DOM (viewer-dom.test.ts); `.ci/run` runs
 * both.
 */
import { existsSync } from "node:fs"
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { cli, factsOf, syntheticBeam } from "./viewerFixtures.ts"

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
