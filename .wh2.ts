import { webHandler } from "./src/Mull.ts"
const { handler, dispose } = await webHandler({ backend: "simulated" })
const body = JSON.stringify({ model: "mull/passthrough", messages: [{ role: "user", content: "What is $6 \\cdot 7$?" }] })
const req = () => handler(new Request("http://127.0.0.1/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body })).then((r) => r.text())
for (let i = 0; i < 300; i++) await req()
console.log("T0", performance.timeOrigin + performance.now())
const t = performance.now(); for (let i = 0; i < 3000; i++) await req(); console.log(performance.now() - t)
await dispose()
