/**
 * The graph reference (docs/reference.md), generated from the graph Schema so that it cannot drift
 * from it: every node type with its fields, their types, whether they are required, their defaults
 * and descriptions. It reads the JSON Schema that `JsonSchema.graphJsonSchema` derives from
 * `Graph.GraphDocument` (the same document editors get), whose nodes are the kinds the registry
 * (`src/nodes/Registry.ts`) lists, so a field, a literal or an annotation added to a kind's module
 * (`src/nodes/<kind>.ts`) appears here. `npm run docs:reference` writes the file;
 * `test/graph/reference.test.ts` fails when the committed file differs from this text.
 *
 * @since 0.1.0
 */
import { writeFileSync } from "node:fs"
import { fromRoot } from "../paths.ts"
import { graphJsonSchema } from "./JsonSchema.ts"

type Json = { readonly [key: string]: unknown }

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const refName = (s: Json): string | undefined =>
  typeof s.$ref === "string" ? s.$ref.replace(/^#\/\$defs\//u, "") : undefined

/** A property's own annotations: those on the property, and (key annotations) in its `allOf`. */
const annotations = (s: Json): { readonly description?: string; readonly default?: unknown } => {
  const parts = [s, ...(Array.isArray(s.allOf) ? s.allOf.filter(isObject) : [])]
  let description: string | undefined
  let fallback: unknown
  let hasDefault = false
  for (const p of parts) {
    // a `$ref` part's description is the referenced type's, not the field's
    if (description === undefined && typeof p.description === "string" && refName(p) === undefined)
      description = p.description
    if (!hasDefault && "default" in p) {
      fallback = p.default
      hasDefault = true
    }
  }
  return { ...(description === undefined ? {} : { description }), ...(hasDefault ? { default: fallback } : {}) }
}

const LINKS: Readonly<Record<string, string>> = { Num: "[Num](#num)", Node: "[Node](#nodes)" }

/** The type of a schema, as a short Markdown phrase. */
const typeOf = (s: Json): string => {
  const ref = refName(s)
  if (ref !== undefined) return LINKS[ref] ?? ref
  if (Array.isArray(s.allOf)) {
    const typed = s.allOf.filter(isObject).find((p) => refName(p) !== undefined || p.type !== undefined)
    if (typed !== undefined && s.type === undefined) return typeOf(typed)
  }
  if (Array.isArray(s.anyOf)) return s.anyOf.filter(isObject).map(typeOf).join(" or ")
  if (Array.isArray(s.enum)) {
    const values = s.enum.map((v) => `\`${JSON.stringify(v)}\``)
    return values.length === 1 ? (values[0] ?? "") : `one of ${values.join(", ")}`
  }
  switch (s.type) {
    case "string": {
      const rules = [
        typeof s.minLength === "number" && s.minLength > 0 ? "non-empty" : undefined,
        typeof s.pattern === "string" ? `matching \`${s.pattern}\`` : undefined
      ].filter((r) => r !== undefined)
      return rules.length === 0 ? "string" : `string (${rules.join(", ")})`
    }
    case "number":
      return "number"
    case "integer":
      return "integer"
    case "boolean":
      return "boolean"
    case "array":
      return isObject(s.items) ? `array of ${typeOf(s.items)}` : "array"
    case "object": {
      if (isObject(s.additionalProperties)) return `object: name → ${typeOf(s.additionalProperties)}`
      if (isObject(s.patternProperties)) {
        const [[pattern, value] = ["", {}]] = Object.entries(s.patternProperties)
        return `object: name matching \`${pattern}\` → ${isObject(value) ? typeOf(value) : "?"}`
      }
      return "object (fields below)"
    }
    default:
      return "any"
  }
}

/** A cell's text: pipes escaped, newlines flattened. */
const cell = (text: string): string => text.replace(/\|/gu, "\\|").replace(/\s*\n\s*/gu, " ")

/** A Markdown table, padded as `biome format` pads it (so the formatter leaves the file alone). */
const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const all = [head, ...rows].map((r) => r.map(cell))
  const widths = head.map((_, c) => Math.max(3, ...all.map((r) => (r[c] ?? "").length)))
  const line = (r: ReadonlyArray<string>) => `| ${r.map((x, c) => x.padEnd(widths[c] ?? 0)).join(" | ")} |`
  return [line(all[0] ?? []), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...all.slice(1).map(line)].join(
    "\n"
  )
}

interface Field {
  readonly name: string
  readonly type: string
  readonly required: boolean
  readonly default?: unknown
  readonly description?: string
}

/** The fields of an object schema, nested objects flattened as `outer.inner`. */
const fieldsOf = (s: Json, prefix = ""): ReadonlyArray<Field> => {
  const properties = isObject(s.properties) ? s.properties : {}
  const required = new Set(Array.isArray(s.required) ? s.required : [])
  return Object.entries(properties).flatMap(([key, value]): ReadonlyArray<Field> => {
    if (!isObject(value)) return []
    const name = `${prefix}${key}`
    const notes = annotations(value)
    const field: Field = { name, type: typeOf(value), required: required.has(key), ...notes }
    return value.type === "object" && isObject(value.properties) ? [field, ...fieldsOf(value, `${name}.`)] : [field]
  })
}

const fieldTable = (fields: ReadonlyArray<Field>): string =>
  table(
    ["field", "type", "required", "default", "description"],
    fields.map((f) => [
      `\`${f.name}\``,
      f.type,
      f.required ? "yes" : "no",
      "default" in f ? `\`${JSON.stringify(f.default)}\`` : "",
      f.description ?? ""
    ])
  )

/** The `type` literal of a node schema. */
const nodeType = (s: Json): string => {
  const type = isObject(s.properties) ? s.properties.type : undefined
  return isObject(type) && Array.isArray(type.enum) && typeof type.enum[0] === "string" ? type.enum[0] : "?"
}

/**
 * The graph reference as Markdown.
 *
 * @example
 * writeFileSync("docs/reference.md", graphReference())
 */
export const graphReference = (): string => {
  const schema = graphJsonSchema()
  const defs = isObject(schema.$defs) ? schema.$defs : {}
  const def = (name: string): Json => {
    const d = defs[name]
    return isObject(d) ? d : {}
  }
  const document = def("GraphDocument")
  const num = def("Num")
  const nodes = (Array.isArray(def("Node").anyOf) ? (def("Node").anyOf as ReadonlyArray<unknown>) : [])
    .filter(isObject)
    .map((r) => def(refName(r) ?? ""))
  const description = (s: Json) => (typeof s.description === "string" ? s.description : "")

  return [
    "# Graph reference",
    "",
    "<!-- Generated from the graph Schema (src/graph/Graph.ts and each node kind's src/nodes/<kind>.ts) by `npm run docs:reference`. Do not edit: test/graph/reference.test.ts fails when this file differs from the Schema. -->",
    "",
    "Every field of a graph document and of each node type, as the Schema that decodes them declares",
    "it. A field not listed is an error (excess properties are rejected everywhere). Defaults are",
    "applied when the document is compiled into its plan, not when it is decoded, so a document",
    "prints back as written. What each node does, exactly, and what it costs:",
    "[graphs.md](graphs.md#nodes); the same Schema as JSON Schema, for editors:",
    "[graph.schema.json](graph.schema.json) (`mull schema`).",
    "",
    "- [The document](#the-document)",
    "- [Num](#num)",
    `- [Nodes](#nodes): ${nodes.map((n) => `[${nodeType(n)}](#${nodeType(n)})`).join(" · ")}`,
    "",
    "## The document",
    "",
    `${description(document)}.`,
    "",
    fieldTable(fieldsOf(document)),
    "",
    "## Num",
    "",
    `${description(num)} (${typeOf(num)}). A string is an expression over the graph's params,`,
    "`budget.<meter>` (the frame's budget), `remaining.<meter>` (what is left of it for the graph's",
    "nodes when the node starts) and `population.size`, `population.active`, `population.done`: numbers,",
    "names, `+ - * /`, unary minus, parentheses, `min max floor ceil sqrt round`. It is parsed when",
    "the document is decoded; a syntax error is reported with the field's path. Which fields must be",
    "integers, and their ranges: [graphs.md § Expressions](graphs.md#expressions).",
    "",
    "## Nodes",
    "",
    "A node is an object whose `type` names its kind.",
    "",
    table(
      ["type", "what it does"],
      nodes.map((n) => [`[\`${nodeType(n)}\`](#${nodeType(n)})`, description(n)])
    ),
    "",
    ...nodes.flatMap((n) => [
      `### ${nodeType(n)}`,
      "",
      description(n),
      "",
      fieldTable(fieldsOf(n)),
      "",
      `Semantics: [graphs.md § ${nodeType(n)}](graphs.md#${nodeType(n)}).`,
      ""
    ])
  ].join("\n")
}

// `npm run docs:reference` writes docs/reference.md; `npm run docs:reference -- FILE` writes FILE
if (import.meta.main) {
  const file = process.argv[2] ?? fromRoot("docs", "reference.md")
  writeFileSync(file, graphReference())
  console.log(`wrote ${file}`)
}
