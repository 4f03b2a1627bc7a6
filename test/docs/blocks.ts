/**
 * The fenced code blocks of README.md and docs/*.md, with their markers, for the docs test
 * (commands.test.ts, which documents the markers). Pure functions over Markdown text.
 */
import { readdirSync, readFileSync } from "node:fs"
import { fromRoot } from "../../src/paths.ts"

/** The Markdown files whose blocks are checked, relative to the repository root. */
export const docFiles = (): ReadonlyArray<string> => [
  "README.md",
  ...readdirSync(fromRoot("docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`)
]

export interface Block {
  readonly file: string
  /** 1-based line of the opening fence */
  readonly line: number
  readonly lang: string
  /** the first word after the language: run, ci, external, server, slow, check, illustrative */
  readonly kind: string | undefined
  /** key=value and key="value" words of the info string */
  readonly attrs: Readonly<Record<string, string>>
  readonly body: string
}

/** Shell languages: every block in one of them must be ```sh with a marker. */
export const SHELL = new Set(["sh", "bash", "shell", "zsh", "console"])

const FENCE = /^(\s*)(`{3,}|~{3,})\s*(.*)$/u

/** Every fenced block of a Markdown text (indented fences in lists included). */
export const blocksOf = (file: string, text: string): ReadonlyArray<Block> => {
  const lines = text.split("\n")
  const blocks: Array<Block> = []
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? "")
    if (open === null) continue
    const [, indent = "", fence = "", info = ""] = open
    const body: Array<string> = []
    let j = i + 1
    for (; j < lines.length; j++) {
      const close = FENCE.exec(lines[j] ?? "")
      if (close !== null && (close[2] ?? "").startsWith(fence) && (close[3] ?? "").trim() === "") break
      const l = lines[j] ?? ""
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart())
    }
    const words = [...info.trim().matchAll(/([\w-]+)="([^"]*)"|([\w-]+)=(\S+)|(\S+)/gu)]
    const attrs: Record<string, string> = {}
    const plain: Array<string> = []
    for (const w of words) {
      if (w[1] !== undefined) attrs[w[1]] = w[2] ?? ""
      else if (w[3] !== undefined) attrs[w[3]] = w[4] ?? ""
      else if (w[5] !== undefined) plain.push(w[5])
    }
    blocks.push({ file, line: i + 1, lang: plain[0] ?? "", kind: plain[1], attrs, body: body.join("\n") })
    i = j
  }
  return blocks
}

export const allBlocks = (): ReadonlyArray<Block> =>
  docFiles().flatMap((file) => blocksOf(file, readFileSync(fromRoot(file), "utf8")))

export interface Command {
  /** the command as written (continuation lines joined), without a trailing comment */
  readonly text: string
  /** 1-based line in the Markdown file */
  readonly line: number
}

/** Where a shell comment starts in a line (a `#` after whitespace, outside quotes), or -1. */
const commentAt = (line: string): number => {
  let quote: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (quote !== undefined) {
      if (c === "\\" && quote === '"') i++
      else if (c === quote) quote = undefined
    } else if (c === "\\") i++
    else if (c === "'" || c === '"') quote = c
    else if (c === "#" && (i === 0 || /\s/u.test(line[i - 1] ?? ""))) return i
  }
  return -1
}

/** The commands of a shell block: one per line, `\` continuations joined, comments dropped. */
export const commandsOf = (block: Block): ReadonlyArray<Command> => {
  const lines = block.body.split("\n")
  const commands: Array<Command> = []
  for (let i = 0; i < lines.length; i++) {
    const start = i
    let text = lines[i] ?? ""
    while (/\\\s*$/u.test(text) && i + 1 < lines.length) {
      i++
      text = `${text.replace(/\\\s*$/u, "")} ${(lines[i] ?? "").trim()}`
    }
    const at = commentAt(text)
    const command = (at >= 0 ? text.slice(0, at) : text).trim()
    if (command !== "") commands.push({ text: command, line: block.line + 1 + start })
  }
  return commands
}

/**
 * A command with `with` arguments: each flag of `args` replaces the command's flag of that name
 * (and its value, when the flag in `args` takes one); then `args` is appended — after `--` for an
 * npm script, which passes what follows it to the script.
 */
export const withArgs = (command: string, args: string): string => {
  const words = args.trim().split(/\s+/u)
  let text = command
  for (let i = 0; i < words.length; i++) {
    const flag = words[i] ?? ""
    if (!flag.startsWith("--")) continue
    const takesValue = i + 1 < words.length && !(words[i + 1] ?? "").startsWith("-")
    const escaped = flag.replace(/[.*+?^${}()|[\]\\]/gu, "\\$&")
    text = text.replace(new RegExp(`\\s${escaped}(=\\S+|${takesValue ? "\\s+[^-\\s]\\S*" : "(?!\\S)"})`, "gu"), "")
  }
  const npmScript = /^npm (start|run(-script)? (-s )?\S+)/u.test(text) && !/\s--(\s|$)/u.test(text)
  return `${text}${npmScript ? " --" : ""} ${args.trim()}`
}
