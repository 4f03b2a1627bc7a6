/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): the hottest frames by self time, with their
 * share of all samples. Usage:
 *
 *     npm exec -- node --cpu-prof --cpu-prof-dir=out/prof bench/run.ts --only overhead
 *     npm exec -- node bench/profile.ts out/prof/CPU.*.cpuprofile [--top 25] [--within src/runtime]
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { relative } from "node:path"

interface ProfileNode {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
  }
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
}

/** A frame's share of the samples. */
export interface Hot {
  readonly frame: string
  readonly self: number
  readonly share: number
}

const frameName = (n: ProfileNode): string => {
  const f = n.callFrame
  const where = f.url === "" ? "" : ` ${relative(process.cwd(), f.url.replace(/^file:\/\//u, ""))}:${f.lineNumber + 1}`
  return `${f.functionName === "" ? "(anonymous)" : f.functionName}${where}`
}

/**
 * The `top` frames by self time (samples in the frame itself), idle and GC included.
 *
 * @example
 * hottest(JSON.parse(readFileSync(file, "utf8")), 20)[0].frame // "(garbage collector)"
 */
export const hottest = (profile: Profile, top: number): ReadonlyArray<Hot> => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const counts = new Map<string, number>()
  for (const id of profile.samples) {
    const n = byId.get(id)
    if (n === undefined) continue
    const name = frameName(n)
    counts.set(name, (counts.get(name) ?? 0) + 1)
  }
  const total = profile.samples.length
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, self]) => ({ frame, self, share: self / total }))
}

/**
 * The `top` frames by total time (samples in the frame or anything it called; a recursive frame
 * counts once per sample), restricted to frames whose location contains `within`.
 *
 * @example
 * inclusive(profile, 20, "src/runtime")
 */
export const inclusive = (profile: Profile, top: number, within: string): ReadonlyArray<Hot> => {
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const counts = new Map<string, number>()
  for (const id of profile.samples) {
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at)
      if (n === undefined) break
      const name = frameName(n)
      if (!name.includes(within) || seen.has(name)) continue
      seen.add(name)
      counts.set(name, (counts.get(name) ?? 0) + 1)
    }
  }
  const total = profile.samples.length
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, self]) => ({ frame, self, share: self / total }))
}

/**
 * Self time per source area (`node_modules/effect`, `src/runtime`, `plugins/simulated`…), to see
 * where a run's time goes at a glance.
 *
 * @example
 * byArea(profile) // [["node_modules/effect", 0.41], ["plugins/simulated", 0.22], …]
 */
export const byArea = (profile: Profile): ReadonlyArray<readonly [string, number]> => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const counts = new Map<string, number>()
  for (const id of profile.samples) {
    const n = byId.get(id)
    if (n === undefined) continue
    const url = relative(process.cwd(), n.callFrame.url.replace(/^file:\/\//u, ""))
    const parts = url.split("/")
    const area =
      n.callFrame.url === ""
        ? n.callFrame.functionName
        : parts[0] === "node_modules"
          ? parts.slice(0, 2).join("/")
          : url.startsWith("node:")
            ? "node internals"
            : parts.slice(0, 2).join("/")
    counts.set(area, (counts.get(area) ?? 0) + 1)
  }
  const total = profile.samples.length
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([a, c]) => [a, c / total] as const)
}

if (import.meta.main) {
  const args = process.argv.slice(2)
  const topAt = args.indexOf("--top")
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 25
  const withinAt = args.indexOf("--within")
  const within = withinAt >= 0 ? args[withinAt + 1] : undefined
  const files = args.filter(
    (a, i) => !a.startsWith("--") && (topAt < 0 || i !== topAt + 1) && (withinAt < 0 || i !== withinAt + 1)
  )
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
    console.log(`${file}: ${profile.samples.length} samples`)
    console.log("\nself time by area:")
    for (const [area, share] of byArea(profile).slice(0, 12))
      console.log(`  ${(share * 100).toFixed(1).padStart(5)}%  ${area}`)
    console.log(`\nhottest ${top} frames (self time):`)
    for (const h of hottest(profile, top)) console.log(`  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.frame}`)
    if (within !== undefined) {
      console.log(`\ntotal time of frames in ${within}:`)
      for (const h of inclusive(profile, top, within))
        console.log(`  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.frame}`)
    }
  }
}
