/**
 * Vega-Lite specifications rendered server-side to SVG strings by Vega (no browser, no canvas):
 * the evaluation report's charts and the trace viewer's budget chart both go through `render`,
 * the only effect here.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as vega from "vega"
import * as vl from "vega-lite"

/** A Vega-Lite specification (the library's own type). */
export type Spec = vl.TopLevelSpec

/** A rendered chart. */
export interface Chart {
  /** a slug, used for the SVG's file name and to keep its element ids unique in a page */
  readonly id: string
  readonly title: string
  readonly svg: string
}

/**
 * Makes the element ids of an SVG unique to a chart (`clip1` → `<id>-clip1`), so several charts
 * can be inlined in one HTML page.
 *
 * @example
 * scopeIds('<clipPath id="clip1"/><g clip-path="url(#clip1)"/>', "acc")
 * // '<clipPath id="acc-clip1"/><g clip-path="url(#acc-clip1)"/>'
 */
export const scopeIds = (svg: string, id: string): string =>
  svg
    .replace(/\bid="([^"]+)"/gu, (_, x: string) => `id="${id}-${x}"`)
    .replace(/url\(#([^)]+)\)/gu, (_, x: string) => `url(#${id}-${x})`)
    .replace(/href="#([^"]+)"/gu, (_, x: string) => `href="#${id}-${x}"`)

/**
 * Renders a Vega-Lite spec to an SVG string (headless: no renderer, text measured by estimate).
 *
 * @example
 * const svg = yield* render({ mark: "point", data: { values: [{ x: 1 }] }, encoding: { x: { field: "x" } } }, "dots")
 */
export const render = (spec: Spec, id: string): Effect.Effect<string> =>
  Effect.promise(async () => {
    // warnings (e.g. a log scale's ignored properties) are not the reader's concern; errors are
    const logger = vega.logger(vega.Error)
    const view = new vega.View(vega.parse(vl.compile(spec, { logger }).spec), { renderer: "none", logger })
    try {
      return scopeIds(await view.toSVG(), id)
    } finally {
      view.finalize()
    }
  })

/**
 * Renders a spec into a `Chart`.
 *
 * @example
 * const rendered = yield* chart("accuracy-n", "Accuracy vs N", accuracyChart(points, "budget", "Accuracy vs N"))
 */
export const chart = (id: string, title: string, spec: Spec): Effect.Effect<Chart> =>
  Effect.map(render(spec, id), (svg) => ({ id, title, svg }))
