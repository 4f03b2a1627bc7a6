import { Effect, Schema } from "effect"
import * as Wire from "./src/server/Wire.ts"
import { Reply } from "./src/server/Http.ts"
import { decode } from "./src/server/Http.ts"
const body = { model: "mull/passthrough", messages: [{ role: "user", content: "What is $6 \\cdot 7$?" }] }
const bench = (name: string, f: () => unknown, n = 5000) => { for (let i = 0; i < 500; i++) f(); const u0 = process.cpuUsage(); for (let i = 0; i < n; i++) f(); const u = process.cpuUsage(u0); console.log(name, ((u.user + u.system) / n).toFixed(1), "µs") }
bench("decode ChatRequest", () => Effect.runSync(decode(Wire.ChatRequest, body)))
bench("decode MullOptions", () => Effect.runSync(decode(Wire.MullOptions, { params: { N: 4 } }, { strict: true })))
bench("new Reply", () => new Reply({ status: 503, body: Wire.errorBody(503, "x", "y"), headers: { a: "b" } }))
bench("new Error", () => new Error("x"))
bench("runSync succeed", () => Effect.runSync(Effect.succeed(1)))
import { hash64 } from "./src/domain/Hash.ts"
bench("hash64 plan id", () => hash64(["What is $6 \\cdot 7$?", "mull/passthrough", JSON.stringify({ N: 4 }), JSON.stringify({ calls: 8192, sequences: 4096, inputTokens: 8000000 }), 0, 1, Date.now(), Math.random()]))
