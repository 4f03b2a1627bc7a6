import { beamCase, bestOfNCase, measureOverhead } from "./overhead.ts"
import { spread } from "./Stats.ts"
const reps = Number(process.argv[2] ?? 5)
const only = process.argv[3] ?? "all"
for (const [name, c, problems] of [["beam", beamCase(64, 4, 40), 2], ["bon", bestOfNCase(256), 4], ["one", bestOfNCase(1), 40]] as const) {
  if (only !== "all" && !only.split(",").includes(name)) continue
  for (const recorded of [false, true]) {
    const r = await measureOverhead(c, { reps, warmup: 2, problems, recorded })
    console.log(`${r.label} ${recorded ? "rec" : "sim"}: ratio ${spread(r.ratio)} perCall ${spread(r.perCallUs, 1)} perRun ${spread(r.perRunUs, 1)} rt ${spread(r.runtimeMs, 1)} plain ${spread(r.plainMs, 1)} calls ${r.calls}`)
  }
}
