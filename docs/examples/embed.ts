/**
 * Embedding a graph in a service (docs/recipes.md): a plain `node:http` server whose POST /solve
 * runs weighted best-of-N on the question in the body, under a per-request budget, and answers
 * with the answer, the usage and whether the budget ran out. A client that goes away aborts its
 * run (its reservations are released). Run it with `npm exec -- node docs/examples/embed.ts`:
 * it starts the server on a free port, sends itself one request, prints the reply and stops.
 *
 * In your own project, import from "mull" instead of "../../src/index.ts".
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { makeRunner } from "../../src/index.ts"

const mull = makeRunner({ backend: "simulated" }) // built once; every request shares the backend

const server = createServer((req, res) => {
  if (req.method !== "POST" || req.url !== "/solve") {
    res.writeHead(404).end()
    return
  }
  let body = ""
  req.on("data", (chunk: Buffer) => {
    body += chunk.toString("utf8")
  })
  req.on("end", async () => {
    const controller = new AbortController()
    res.on("close", () => controller.abort()) // the client went away: stop spending
    try {
      const { question } = JSON.parse(body) as { question: string }
      const result = await mull.run({
        graph: "weighted-best-of-n",
        problem: { question },
        params: { N: 8 },
        budget: { sequences: 8 },
        signal: controller.signal
      })
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ answer: result.answer, sequences: result.usage.sequences, exhausted: result.exhausted }))
    } catch (e) {
      res.writeHead(400, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }))
    }
  })
})

server.listen(0, "127.0.0.1", async () => {
  const { port } = server.address() as AddressInfo
  const reply = await fetch(`http://127.0.0.1:${port}/solve`, {
    method: "POST",
    body: JSON.stringify({ question: "What is $6 \\cdot 7$?" })
  })
  console.log(reply.status, await reply.text())
  server.close()
  await mull.dispose()
})
