import { beamScheduling, bestOfNScheduling, measureScheduling } from "./scheduling.ts"
import { fmt, spread } from "./Stats.ts"
const reps = Number(process.argv[2] ?? 3)
const modes = (process.argv[3] ?? "served").split(",") as Array<"served" | "simulated">
for (const c of [beamScheduling(64, 4, 40, 1, 64), bestOfNScheduling(256, 5, 256), beamScheduling(64, 4, 40, 5, 64), bestOfNScheduling(256, 20, 32)])
  for (const mode of modes) {
    const r = await measureScheduling(c, mode, reps)
    console.log(`${r.label}: ${spread(r.ratio, 3)} (${fmt(r.wallMs.median, 1)} ÷ ${r.criticalMs}; ${r.waves} waves, ${r.phases} phases; floor ${fmt(r.floorMs.median, 1)} = ${fmt(r.floorMs.median / r.criticalMs, 3)})`)
  }
