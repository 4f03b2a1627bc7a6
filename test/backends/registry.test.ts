/**
 * Backends as descriptors: each plugin exports one, the registry lists them, and everything that
 * runs a backend (CLI flags, sweeps, the embedding API) reads the registry — so a backend added as
 * one descriptor and one registry entry runs everywhere.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Schema } from "effect"
import * as Simulated from "../../plugins/simulated/index.ts"
import * as MathGrader from "../../src/answer/MathGrader.ts"
import { backendLayer, registry } from "../../src/backends/Registry.ts"
import { optionFlags, withBackendOptions } from "../../src/cli/Inputs.ts"
import { runGraph } from "../../src/Mull.ts"
import * as Backend from "../../src/services/Backend.ts"
import { Generator } from "../../src/services/Generator.ts"

const generatorOf = (layer: Layer.Layer<Backend.BackendServices, Backend.BackendConfigError>) =>
  Effect.flip(
    Effect.provide(
      Effect.gen(function* () {
        return yield* Generator
      }),
      layer
    )
  )

describe("the built-in registry", () => {
  it("lists each backend once, the simulated one first; prm-http is openai's verifier, not a backend", () => {
    assert.deepStrictEqual(registry.names, ["simulated", "replay", "openai", "llama-cpp"])
    assert.strictEqual(registry.defaultName, "simulated")
    assert.isUndefined(registry.find("prm-http"))
    assert.isTrue(registry.module?.endsWith("/backends/Registry.ts"))
    assert.deepStrictEqual(
      registry.backends.map((b) => [b.name, b.cacheable, b.simulator]),
      [
        ["simulated", true, true],
        ["replay", false, false],
        ["openai", true, false],
        ["llama-cpp", true, false]
      ]
    )
  })

  it("flags belong to the backends that declare them; the verifier's are nested at verifier", () => {
    const byName = new Map(registry.flags.map((f) => [f.name, f]))
    assert.deepStrictEqual(byName.get("prm-url")?.path, ["verifier", "baseUrl"])
    assert.deepStrictEqual(byName.get("prm-url")?.backends, ["openai"])
    assert.deepStrictEqual(byName.get("threads")?.backends, ["llama-cpp"])
    assert.strictEqual(byName.get("api-key")?.kind, "secret")
    assert.deepStrictEqual(Object.keys(optionFlags(registry)), [
      "baseUrl",
      "model",
      "server",
      "apiKey",
      "prmUrl",
      "prmModel",
      "modelPath",
      "threads",
      "contextSize",
      "maxTokens",
      "stepTokens"
    ])
    assert.notInclude(Object.keys(optionFlags(registry, { secrets: false })), "apiKey")
  })

  it.effect("flags set their fields (secrets revealed, objects kept), and are refused for other backends", () =>
    Effect.gen(function* () {
      const merged = yield* withBackendOptions(
        "openai",
        { model: "old", verifier: { model: "prm", mode: "logprobs" } },
        { model: Option.some("m"), apiKey: Option.some(Redacted.make("sk-1")), prmUrl: Option.some("http://h:2") }
      )
      assert.deepStrictEqual(merged, {
        model: "m",
        apiKey: "sk-1",
        verifier: { model: "prm", mode: "logprobs", baseUrl: "http://h:2" }
      })
      const none = yield* withBackendOptions("simulated", { worldSeed: 1 }, { model: Option.none() })
      assert.deepStrictEqual(none, { worldSeed: 1 })
      const refused = yield* Effect.flip(
        withBackendOptions("simulated", undefined, { threads: Option.some(1), prmUrl: Option.some("x") })
      )
      assert.deepStrictEqual(refused.problems, [
        "--prm-url: only for --backend openai",
        "--threads: only for --backend llama-cpp"
      ])
    })
  )

  it.effect("one config error, its lines at backend-config.<field> through the registry", () =>
    Effect.gen(function* () {
      const sim = yield* generatorOf(backendLayer("simulated", { worldSeed: -1, prm: { sdo: 1 } }))
      assert.strictEqual(sim._tag, "BackendConfigError")
      assert.strictEqual(sim.backend, "simulated")
      assert.deepStrictEqual(
        sim.problems.map((p) => p.split(":")[0]),
        ["backend-config.worldSeed", "backend-config.prm.sdo"]
      )
      const own = yield* generatorOf(Simulated.backend.layer({ worldSeed: -1 }))
      assert.match(own.problems[0] ?? "", /^worldSeed: /u)
      assert.strictEqual(own.path, "worldSeed")
      const root = yield* generatorOf(backendLayer("simulated", "nope"))
      assert.match(root.problems[0] ?? "", /^backend-config: /u)
      const openai = yield* generatorOf(
        backendLayer("openai", { baseUrl: "http://x/v1", model: "m", verifier: { mode: "x" } })
      )
      assert.strictEqual(openai.backend, "openai")
      assert.isTrue(openai.problems.some((p) => p.startsWith("backend-config.verifier.mode: ")))
      const unknown = yield* generatorOf(backendLayer("vllm"))
      assert.strictEqual(
        unknown.message,
        'invalid vllm backend config: unknown backend "vllm" (known: simulated, replay, openai, llama-cpp)'
      )
    })
  )

  it.effect("a dataset a backend serves is found by name, with its configuration", () =>
    Effect.gen(function* () {
      const serving = registry.serving("qwen-pool")
      assert.strictEqual(serving?.backend.name, "replay")
      assert.deepStrictEqual(serving?.config, { dataset: "qwen-pool" })
      assert.deepStrictEqual(registry.serving("qwen-pool", "rec.jsonl")?.config, { dataset: "rec.jsonl" })
      assert.isUndefined(registry.serving("math500"))
      assert.isUndefined(registry.serving("constructor"))
      const problems = yield* Effect.fromNullishOr(serving?.backend.problems).pipe(
        Effect.flatMap((load) => load(serving?.config))
      )
      assert.strictEqual(problems.length, 50)
    })
  )
})

/** A backend written as a user would: one descriptor (here, the simulator under another name). */
const EchoConfig = Schema.Struct({ seed: Schema.optionalKey(Schema.Int) })
const echo = Backend.make({
  name: "echo",
  description: "the simulator, renamed",
  config: EchoConfig,
  decode: (input) =>
    Schema.decodeUnknownEffect(EchoConfig)(input ?? {}).pipe(
      Effect.mapError(() => Backend.configError("echo", ["seed"], "expected an integer")),
      Effect.flatMap((c) => Simulated.decodeConfig({ worldSeed: c.seed ?? 0 }))
    ),
  flags: [{ name: "echo-seed", kind: "integer", path: ["seed"], description: "the world seed" }],
  variants: [{ label: "", capabilities: Simulated.CAPABILITIES, verifiers: "prm, orm" }],
  layer: (config) => Layer.mergeAll(Simulated.layerConfig(config), MathGrader.layer)
})

describe("a registry of one's own", () => {
  it("runs a backend added as one descriptor and one registry entry", async () => {
    const mine = Backend.makeRegistry([echo, ...registry.backends])
    const result = await runGraph({
      graph: "majority",
      problem: { question: "What is $1+1$?", gold: "2", level: 1 },
      params: { N: 4 },
      registry: mine,
      backend: "echo",
      backendConfig: { seed: 3 }
    })
    expect(result.population.length).toBe(4)
    expect(result.usage.sequences).toBe(4)
    await expect(
      runGraph({
        graph: "majority",
        problem: { question: "x" },
        registry: mine,
        backend: "echo",
        backendConfig: { seed: 0.5 }
      })
    ).rejects.toThrow("backend-config.seed: expected an integer")
    // a registry without a module runs sweeps in the calling thread
    expect(mine.module).toBeUndefined()
  })

  it("refuses two backends of one name, and one flag meaning two things", () => {
    expect(() => Backend.makeRegistry([echo, echo])).toThrow('two backends named "echo"')
    const clash = Backend.make({
      ...echoOptions,
      name: "clash",
      flags: [{ name: "echo-seed", kind: "text", path: ["x"], description: "" }]
    })
    expect(() => Backend.makeRegistry([echo, clash])).toThrow("--echo-seed means different things to echo and clash")
    expect(() => Backend.makeRegistry([])).toThrow("no backends")
  })
})

const echoOptions = {
  name: "echo",
  description: "",
  config: EchoConfig,
  decode: Simulated.decodeConfig,
  variants: [],
  layer: (config: Simulated.SimulatedConfig) => Layer.mergeAll(Simulated.layerConfig(config), MathGrader.layer)
}
