import { makeRunner, webHandler } from "./src/Mull.ts"
const { handler, dispose } = await webHandler({ backend: "simulated" })
const body = JSON.stringify({ model: "mull/passthrough", messages: [{ role: "user", content: "What is $6 \\cdot 7$?" }] })
const req = () => handler(new Request("http://127.0.0.1/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body })).then((r) => r.text())
const runner = makeRunner({ backend: "simulated" })
const run = () => runner.run({ graph: "passthrough", problem: { question: "What is $6 \\cdot 7$?" } })
const cpu = async (f: () => Promise<unknown>, n = 500) => { for (let i = 0; i < 100; i++) await f(); const u0 = process.cpuUsage(); for (let i = 0; i < n; i++) await f(); const u = process.cpuUsage(u0); return ((u.user + u.system) / n).toFixed(0) }
for (let k = 0; k < 3; k++) console.log("web", await cpu(req), "run", await cpu(run))
console.log((await req()).slice(0, 300))
await dispose(); await runner.dispose()
