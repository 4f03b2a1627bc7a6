import { beamCase, bestOfNCase, measureOverhead } from "./overhead.ts"
import { spread } from "./Stats.ts"

const which = process.argv[2] ?? "beam"
const reps = Number(process.argv[3] ?? 20)
const c = which === "beam" ? beamCase(64, 4, 40) : bestOfNCase(Number(which))
const r = await measureOverhead(c, { reps, warmup: 3, problems: which === "beam" ? 2 : 20, recorded: true })
console.log(
  `${r.label} rec: ratio ${spread(r.ratio)} perCall ${spread(r.perCallUs, 1)} perRun ${spread(r.perRunUs, 1)} rt ${spread(r.runtimeMs, 1)} plain ${spread(r.plainMs, 1)} calls ${r.calls}`
)
