import { Effect } from "effect"
import { run } from "../src/runtime/Run.ts"
import { layerSilent } from "../src/runtime/RunEvents.ts"
import { recorded, served } from "./Recorded.ts"
import { bestOfNScheduling, SCHEDULING_PROBLEM } from "./scheduling.ts"
import { now, cpuMs } from "./Stats.ts"
import { backendOf, problem, provide } from "./World.ts"
const c = bestOfNScheduling(256, Number(process.argv[2] ?? 5), 256)
const backend = served(recorded(await backendOf(c.config)), c.server)
const loaded = await c.graph()
const p = await problem(SCHEDULING_PROBLEM)
for (let rep = 0; rep < 8; rep++) {
  const starts: Array<number> = []
  const ports = {
    generator: { ...backend.generator, generate: (r: any) => Effect.suspend(() => { starts.push(now()); return backend.generator.generate(r) }) },
    verifier: backend.verifier
  }
  const t0 = now(); const c0 = cpuMs()
  await Effect.runPromise(provide(ports as any, run(loaded, p, { params: c.params, seed: 0 }).pipe(Effect.provide(layerSilent))))
  const wall = now() - t0; const cpu = cpuMs() - c0
  const s = starts.map((x) => x - t0)
  console.log(`wall ${wall.toFixed(1)} cpu ${cpu.toFixed(1)} first start ${s[0]?.toFixed(2)} last ${s[s.length - 1]?.toFixed(2)} 64th ${s[63]?.toFixed(2)} 128th ${s[127]?.toFixed(2)}`)
}
