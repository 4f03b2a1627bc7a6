import { Effect } from "effect"
import { run } from "../src/runtime/Run.ts"
import { RunEvents, silent } from "../src/runtime/RunEvents.ts"
import { plainSimulated } from "./PlainLoop.ts"
import { portsOf, recordedPlain } from "./Recorded.ts"
import { cpuMs } from "./Stats.ts"
import { backendOf, graph, LONG, problem, provide } from "./World.ts"
const which = process.argv[2] ?? "beam"
const iters = Number(process.argv[3] ?? 30)
const sim = await backendOf(which === "beam" ? LONG : {})
const ports = portsOf(recordedPlain(plainSimulated(sim)), sim)
const loaded = await graph(which === "beam" ? "beam-search" : "weighted-best-of-n")
const params = which === "beam" ? { N: 64, M: 4, rounds: 40 } : { N: Number(which) }
const p = await problem(17)
const once = () => Effect.runPromise(provide(ports, run(loaded, p, { params, seed: 0 }).pipe(Effect.provideService(RunEvents, silent))))
for (let i = 0; i < 5; i++) await once()
const t0 = cpuMs()
let calls = 0
for (let i = 0; i < iters; i++) calls += (await once()).usage.calls
const ms = cpuMs() - t0
console.log(`${which}: ${(ms / iters).toFixed(3)} ms a run, ${((ms * 1000) / calls).toFixed(2)} µs a call (${calls / iters} calls a run)`)
