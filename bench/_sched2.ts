import { bestOfNScheduling, measureScheduling } from "./scheduling.ts"
import { fmt, spread } from "./Stats.ts"
const reps = Number(process.argv[2] ?? 30)
const r = await measureScheduling(bestOfNScheduling(256, 5, 256), "served", reps)
console.log(`${r.label}: ${spread(r.ratio, 3)} (${fmt(r.wallMs.median, 1)} ÷ ${r.criticalMs}; ${r.waves} waves, ${r.phases} phases; floor ${fmt(r.floorMs.median, 1)})`)
