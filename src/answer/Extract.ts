/**
 * Answer extraction: the final answer of a solution, as the model wrote it (normalisation comes
 * later).
 *
 * The answer is the **last answer statement** in the text, whatever its kind:
 * - a box: `\boxed{…}` or `\fbox{…}`, with every box of the same statement when the answer is
 *   split over several (`\boxed{2} and \boxed{3}`, `\boxed{(2,2)} \quad \text{and} \quad
 *   \boxed{(6,2)}`): boxes are one statement when they are under 10 characters apart, or under 70
 *   apart with a comma, semicolon, "and" or "or" between them (Math-Verify's rule), and not across
 *   the end of a display formula (`$$\boxed{20}$$ \boxed{143}` is 143);
 * - "the final answer is", "Final Answer:", "the answer is", "answer:": the formula that follows,
 *   or in a sentence the value after its last "is" (`Final Answer: The largest $n$ is 34.`), or
 *   its first number (`Final Answer: Jane started 3 hours ago.`);
 * - `#### 18` (GSM8K's answer line) and `A: 18` at the start of a line (GSM8K-style few-shot
 *   solutions).
 *
 * "Last" is by position: an intermediate `\boxed{255}` does not beat a later "The final answer is
 * $10,455$". A plain "the answer is" (or "answer:") counts only when no box, final answer, `A:` or
 * `####` statement is there: a box beats a later "let me check the answer: 3 + 4 = 7", as boxes
 * outrank the plain "answer" patterns in Math-Verify. `auto` stops there and returns `undefined` when the text has no statement. `free`
 * (what `mull grade` uses) goes on, as Math-Verify does, to:
 * - `as-written`: a text with no statement, no `$` and no prose (two words in a row) is the answer
 *   as written (`x \in [-2,7]`, `28 percent`, `\text{Evelyn}`);
 * - `last-math`: the last formula (`$…$`, `$$…$$`, `\(…\)`, `\[…\]`), with the formulas joined to
 *   it by "and", "or" or a comma (`$1$ and $2$ and $3$`), or the last number or arithmetic
 *   expression of the prose (`… increases by 100%.`), whichever ends later;
 * - `as-written` again when the text has neither.
 *
 * Numbers read from prose (not from a formula) take a decimal comma as the decimal point (`2,74`,
 * `0,500`), unless the commas group thousands (`1,000,000`); inside a formula a comma separates
 * the parts of a list, as in MATH.
 *
 * @since 0.1.0
 */
import { closingBrace } from "./Latex.ts"
import { numberWords } from "./Numbers.ts"

export type Method = "boxed" | "gsm8k" | "answer-is" | "auto" | "free"
/** A built-in method, or a dataset's own pattern. */
export type Extractor = Method | { readonly pattern: RegExp }

export const METHODS: ReadonlyArray<Method> = ["boxed", "gsm8k", "answer-is", "auto", "free"]

/** How an answer was found: the kind of statement, or the fallback of `free`. */
export type How = "box" | "answer-is" | "gsm8k" | "a-colon" | "pattern" | "last-math" | "last-number" | "as-written"

/** The fallbacks of `free`, which `mull grade` reports. */
export const FALLBACKS: ReadonlyArray<How> = ["last-math", "last-number", "as-written"]

/** An extracted answer and how it was found. */
export interface Extraction {
  readonly answer: string
  readonly how: How
}

/** Texts longer than this are read from their last part only: answers come at the end. */
const MAX_TEXT = 200_000

const nonEmpty = (s: string | undefined): string | undefined => {
  const t = s?.trim()
  return t === undefined || t === "" ? undefined : t
}

// ---------------------------------------------------------------------------------------------
// Boxes

interface Box {
  readonly start: number
  readonly end: number
  readonly content: string | undefined
}

const BOX = /\\(?:boxed|fbox)(?![a-zA-Z])/g

/** Every box of the text in order; a box that never closes has no content and ends the text. */
const boxes = (text: string): Array<Box> => {
  const out: Array<Box> = []
  for (const m of text.matchAll(BOX)) {
    let i = m.index + m[0].length
    if (out.length > 0 && m.index < (out.at(-1)?.end ?? 0)) continue // nested in the previous box
    while (text[i] === " ") i++
    if (text[i] === "{") {
      const close = closingBrace(text, i)
      if (close < 0) {
        out.push({ start: m.index, end: text.length, content: undefined })
        break
      }
      out.push({ start: m.index, end: close + 1, content: nonEmpty(text.slice(i + 1, close)) })
    } else {
      // \boxed 5: one token, up to a space or a math delimiter
      const token = /^[^\s$]+/.exec(text.slice(i))
      const content = token === null ? undefined : nonEmpty(token[0].replace(/[.,;]+$/, ""))
      out.push({ start: m.index, end: i + (token?.[0].length ?? 0), content })
    }
  }
  return out
}

const SEPARATOR = /\b(?:and|or)\b|[,;]/
/** A gap that ends a display formula (`$$`, `\]`) or a paragraph separates statements. */
const STATEMENT_BREAK = /\$\$|\\\]|\n\s*\n/

/** Math-Verify's rule for boxes of one statement (see the module doc), plus display breaks. */
const sameStatement = (text: string, a: Box, b: Box): boolean => {
  const gap = text.slice(a.end, b.start)
  if (STATEMENT_BREAK.test(gap)) return false
  if (gap.length < 10) return true
  return a.content !== b.content && gap.length < 70 && SEPARATOR.test(gap)
}

/** The last group of boxes that make one statement, as one answer (`2, 3`), with its start. */
const lastBoxGroup = (text: string): { readonly answer: string | undefined; readonly start: number } | undefined => {
  const all = boxes(text)
  const last = all.at(-1)
  if (last === undefined) return undefined
  if (last.content === undefined) return { answer: undefined, start: last.start }
  const group = [last]
  for (let k = all.length - 2; k >= 0; k--) {
    const prev = all[k]
    const next = group[0]
    if (prev === undefined || next === undefined || prev.content === undefined || !sameStatement(text, prev, next))
      break
    group.unshift(prev)
  }
  const parts: Array<string> = []
  for (const b of group) if (b.content !== undefined && parts.at(-1) !== b.content) parts.push(b.content)
  return { answer: parts.join(", "), start: group[0]?.start ?? last.start }
}

/**
 * The content of the last box, with the boxes of the same statement (`\boxed{1}, \boxed{2}` →
 * `1, 2`). A last box that never closes, as in a truncated output, means no answer; so does an
 * empty one.
 *
 * @example
 * boxed("so $x = \\boxed{\\frac{1}{2}}$.") // "\\frac{1}{2}"
 * boxed("$x = \\boxed{2}$ or $x = \\boxed{3}$") // "2, 3"
 * boxed("no box here") // undefined
 */
export const boxed = (text: string): string | undefined => lastBoxGroup(text)?.answer

// ---------------------------------------------------------------------------------------------
// GSM8K

/**
 * What follows the last `####` (GSM8K's answer line).
 *
 * @example
 * gsm8k("She makes 9 * 2 = $18.\n#### 18") // "18"
 */
export const gsm8k = (text: string): string | undefined => {
  const at = text.lastIndexOf("####")
  if (at < 0) return undefined
  const line = text.slice(at + 4).split("\n")[0] ?? ""
  return nonEmpty(line.replace(/\.\s*$/, ""))
}

// ---------------------------------------------------------------------------------------------
// Formulas and numbers in running text

interface Span {
  readonly start: number
  readonly end: number
  readonly text: string
}

/** `$$…$$`, `\[…\]` (any lines), `$…$`, `\(…\)` (one line), in order and not overlapping. */
const formulas = (text: string): Array<Span> => {
  const out: Array<Span> = []
  const re =
    /(?<!\\)\$\$([\s\S]+?)(?<!\\)\$\$|(?<!\\)\\\[([\s\S]+?)(?<!\\)\\\]|(?<![\\\d])\$((?:\\\$|[^\n$])+?)(?<!\\)\$|(?<!\\)\\\(((?:[^\\\n]|\\(?!\)))+?)(?<!\\)\\\)/g
  for (const m of text.matchAll(re)) {
    const body = m[1] ?? m[2] ?? m[3] ?? m[4] ?? ""
    if (body.trim() !== "") out.push({ start: m.index, end: m.index + m[0].length, text: body.trim() })
  }
  return out
}

const PERCENT = /^\s*(?:\\?%|percentage\b|percent\b|pct\b)/i
const CONNECTIVE = /^\s*(?:,?\s*(?:and|or)|,)\s*$/i

/** Formulas joined by "and", "or" or commas read as one answer (`$1$ and $2$` → `1, 2`). */
const formulaGroup = (text: string, spans: ReadonlyArray<Span>, last: number): Span | undefined => {
  const end = spans[last]
  if (end === undefined) return undefined
  let first = last
  while (first > 0 && last - first < 5) {
    const prev = spans[first - 1]
    const next = spans[first]
    if (prev === undefined || next === undefined || !CONNECTIVE.test(text.slice(prev.end, next.start))) break
    first--
  }
  const parts = spans.slice(first, last + 1).map((s) => {
    const pct = PERCENT.exec(text.slice(s.end, s.end + 12))
    return pct === null ? s.text : `${s.text}\\%`
  })
  return { start: spans[first]?.start ?? end.start, end: end.end, text: parts.join(", ") }
}

/** A number in prose, with thousands separators or a decimal comma, and a percent sign. */
const NUMBER =
  /(?<![\w.,\\])(-?(?:[1-9]\d{0,2}(?:,\d{3})+(?!\d)(?:\.\d+)?|[1-9]\d{0,2}(?: \d{3})+(?![\d,])(?:\.\d+)?|\d+(?:[.,]\d+)?|\.\d+))(?:\s*(%|percent(?:age)?\b|pct\b))?/g
/** Arithmetic in prose: a number, an operator, more numbers (`2/3`, `(1/2) * (4/3)`). */
const EXPRESSION = /(?<![\w.\\])(-?\(?-?\d[\d.\s]*(?:[+\-*×/^÷][\s(]*-?\d[\d.\s)]*)+)(?=[\s.,:;!?)$]|$)/g

/**
 * A number as prose writes it, in LaTeX: thousands separators go, a decimal comma becomes a point
 * (`2,74` → `2.74`, `0,500` → `0.500`), a percent word becomes `\%`.
 */
const proseNumber = (raw: string, percent: string | undefined): string => {
  let n = raw.trim()
  if (/^-?[1-9]\d{0,2}(?:[, ]\d{3})+(?:\.\d+)?$/.test(n)) n = n.replace(/[, ]/g, "")
  else n = n.replace(",", ".")
  return percent === undefined ? n : `${n}\\%`
}

/** The last number or arithmetic expression of the text outside its formulas. */
const lastProseNumber = (text: string, spans: ReadonlyArray<Span>): Span | undefined => {
  let masked = text
  for (const s of spans) masked = masked.slice(0, s.start) + " ".repeat(s.end - s.start) + masked.slice(s.end)
  // a formula that does not close on its line (`$ \n 9 \n $`) lends no number to the prose
  masked = masked.replace(/(?<![\\\d])\$[^$]*\$|\\\([\s\S]*?\\\)/g, (m) => " ".repeat(m.length))
  // LaTeX thousands separators, 10,\!080 and 10{,}080 (positions move by a character or two)
  masked = masked.replace(/(?<=\d)(?:,\\!\s*|\{,\})(?=\d)/g, ",")
  let best: Span | undefined
  for (const m of masked.matchAll(NUMBER)) {
    const end = m.index + m[0].length
    if (best === undefined || end >= best.end) best = { start: m.index, end, text: proseNumber(m[1] ?? "", m[2]) }
  }
  for (const m of masked.matchAll(EXPRESSION)) {
    const body = (m[1] ?? "").trim()
    const end = m.index + (m[1] ?? "").trimEnd().length
    // an expression that ends where the last number ends is that number with its operands
    if (/[+\-*×/^÷]/.test(body.slice(1)) && (best === undefined || end >= best.end))
      best = { start: m.index, end, text: body.replace(/×/g, "\\times ").replace(/÷/g, "\\div ") }
  }
  return best
}

/** Words with no LaTeX around them: two in a row make prose, not an answer written as is. */
const isProse = (text: string): boolean =>
  /[A-Za-z]{2,}[ \t]+[A-Za-z]{2,}/.test(
    text.replace(/\\(?:text\w*|mbox|mathrm|operatorname)\s*\{[^{}]*\}/g, " ").replace(/\\[a-zA-Z]+/g, " ")
  )

// ---------------------------------------------------------------------------------------------
// Answer statements

/** The last anchor phrase wins, so "Final Answer: The final answer is $X$" reads after "is". */
const ANSWER_IS = /\b(?:final\s+answer|answer)\b(?:\s*\*\*)?\s*(?:is\b\s*:?|:|=)(?:\s*\*\*)?/gi
const A_COLON = /(?:^|\n)[ \t]*(?:\*\*)?A:(?:\*\*)?[ \t]*/g

/** A word answer after "the answer is" must look like one: not "correct" or "as follows". */
const wordAnswer = (s: string): boolean => /^(?:\(?[A-Z]\)?|[A-Z][a-z]*(?:\s+[A-Z][a-z]*)*)$/.test(s.trim())

/** The clause after an anchor: to the end of its line or sentence (a period before a space or the end). */
const clause = (rest: string): string => {
  const line = rest.split("\n")[0] ?? ""
  const stop = /\.(?=\s|$)|\s+I hope\b|<\|/.exec(line)
  return (stop === null ? line : line.slice(0, stop.index)).trim()
}

/**
 * The answer a statement gives, from the text after its anchor: a formula right after it (with
 * the formulas joined to it), else the clause when it is an answer as written, else the value
 * after the clause's last "is", else the clause's first formula or number.
 */
const statementValue = (rest: string, strict: boolean): string | undefined => {
  const lead = /^[\s:*"'“]*/.exec(rest)?.[0].length ?? 0
  const body = rest.slice(lead)
  const spans = formulas(body.slice(0, 2000))
  const first = spans[0]
  if (first !== undefined && first.start === 0) {
    let k = 0
    while (k + 1 < spans.length && CONNECTIVE.test(body.slice(spans[k]?.end ?? 0, spans[k + 1]?.start ?? 0))) k++
    return formulaGroup(body, spans, k)?.text
  }
  const c = clause(body).replace(/^\*+|\*+$/g, "")
  if (c === "") return undefined
  const is = c.search(/\s(?:is|are|was|be|equals)\s(?![\s\S]*\s(?:is|are|was|be|equals)\s)/)
  if (!isProse(c)) {
    const plain = c.replace(/["”]+$/, "").trim()
    if (plain.includes("$") || plain.includes("\\(")) {
      const inner = formulas(plain)
      const group = inner.length > 0 ? formulaGroup(plain, inner, inner.length - 1) : undefined
      if (group !== undefined) return group.text
    }
    // one number read as prose writes it: `3,5` is 3.5, `1,000` is 1000
    const lone = new RegExp(`^(?:${NUMBER.source})$`).exec(plain.replace(/^\$/, ""))
    if (lone !== null) return proseNumber(lone[1] ?? "", lone[2])
    if (/\d|\\/.test(plain) || !strict || wordAnswer(plain) || numberWords(plain) !== undefined)
      return nonEmpty(decimalComma(plain))
    return undefined
  }
  if (is >= 0) {
    const after = c.slice(is).replace(/^\s*\w+\s/, "")
    const v = statementValue(after, true)
    if (v !== undefined) return v
  }
  const inner = formulas(c)
  const number = lastProseNumber(c, inner)
  const formula = inner[0]
  const firstNumber = [...c.matchAll(NUMBER)].find((m) => !inner.some((s) => m.index >= s.start && m.index < s.end))
  if (formula !== undefined && (firstNumber === undefined || formula.start < firstNumber.index))
    return formulaGroup(c, inner, 0)?.text
  if (firstNumber !== undefined) return proseNumber(firstNumber[1] ?? "", firstNumber[2])
  return number?.text
}

/** A lone number written with a decimal comma (`1,22`, `0,5`) gets a decimal point; a list `-2,1` does not. */
const decimalComma = (s: string): string => {
  const t = s.trim()
  const m = /^(-?\d+),(\d+)$/.exec(t)
  if (m === null) return t
  const [, whole = "", frac = ""] = m
  if (/^-?[1-9]\d{0,2}$/.test(whole) && frac.length === 3) return t // 32,349: thousands
  return whole === "0" || whole === "-0" || frac.length >= 2 ? `${whole}.${frac}` : t
}

interface Statement {
  readonly start: number
  readonly answer: string | undefined
  readonly how: How
  /** 1: a box, a final answer, `A:`, `####`; 2: a plain "the answer is", which a later box beats */
  readonly tier: 1 | 2
}

const answerStatements = (text: string): Array<Statement> => {
  const out: Array<Statement> = []
  const anchors = [...text.matchAll(ANSWER_IS)]
  const isFinal = (m: RegExpExecArray | RegExpMatchArray): boolean => /final/i.test(m[0])
  const value = (m: RegExpMatchArray & { index: number }): string | undefined =>
    statementValue(text.slice(m.index + m[0].length), !isFinal(m))
  const last = anchors.at(-1)
  const lastFinal = anchors.filter(isFinal).at(-1)
  if (last !== undefined) {
    // "Final Answer: The answer is 5" is one final statement
    const joined =
      lastFinal !== undefined &&
      last.index - (lastFinal.index + lastFinal[0].length) < 40 &&
      !text.slice(lastFinal.index, last.index).includes("\n")
    const tier = isFinal(last) || joined ? 1 : 2
    out.push({ start: last.index, answer: value(last), how: "answer-is", tier })
    if (tier === 2 && lastFinal !== undefined)
      out.push({ start: lastFinal.index, answer: value(lastFinal), how: "answer-is", tier: 1 })
  }
  const aColon = [...text.matchAll(A_COLON)].at(-1)
  if (aColon !== undefined) {
    const rest = text.slice(aColon.index + aColon[0].length)
    out.push({ start: aColon.index + 1, answer: statementValue(rest, false), how: "a-colon", tier: 1 })
  }
  const hashes = text.lastIndexOf("####")
  if (hashes >= 0) out.push({ start: hashes, answer: gsm8k(text), how: "gsm8k", tier: 1 })
  return out
}

/**
 * The answer of the last "the answer is" (also "final answer is", "Final Answer:", "answer:"),
 * `undefined` when there is none or its value is not an answer ("the answer is correct").
 *
 * @example
 * answerIs("Thus the answer is $\\frac{3}{4}$.") // "\\frac{3}{4}"
 * answerIs("Final Answer: The largest $n$ is 34.") // "34"
 */
export const answerIs = (text: string): string | undefined => {
  const anchors = [...text.matchAll(ANSWER_IS)]
  const last = anchors.at(-1)
  if (last === undefined) return undefined
  const rest = text.slice(last.index + last[0].length)
  const line = rest.split("\n")[0] ?? ""
  if (/^[\s:*]*(?:\$|\\\(|\\\[)?\s*\\(?:boxed|fbox)(?![a-zA-Z])/.test(line)) return boxed(line)
  return statementValue(rest, !/final/i.test(last[0]))
}

/**
 * The last match of a dataset's pattern: its `answer` group, else its first group, else the match.
 *
 * @example
 * byPattern("Answer: (B)", /Answer: \((?<answer>[A-E])\)/) // "B"
 */
export const byPattern = (text: string, pattern: RegExp): string | undefined => {
  const global = pattern.global ? pattern : new RegExp(pattern.source, `${pattern.flags}g`)
  const last = [...text.matchAll(global)].at(-1)
  if (last === undefined) return undefined
  return nonEmpty(last.groups?.answer ?? last[1] ?? last[0])
}

/** The last answer statement of any kind (see the module doc), by where it starts. */
const lastStatement = (text: string): Extraction | undefined => {
  const candidates: Array<Statement> = answerStatements(text)
  const box = lastBoxGroup(text)
  if (box !== undefined) candidates.push({ start: box.start, answer: box.answer, how: "box", tier: 1 })
  let best: Statement | undefined
  for (const c of candidates)
    if (
      c.answer !== undefined &&
      (best === undefined || c.tier < best.tier || (c.tier === best.tier && c.start > best.start))
    )
      best = c
  // a box that never closes (a truncated output) after every other statement is no answer
  if (box !== undefined && box.answer === undefined && (best === undefined || box.start > best.start)) return undefined
  return best?.answer === undefined ? undefined : { answer: best.answer, how: best.how }
}

/** A last box that never closes, read to the end of the text (Math-Verify does the same). */
const unclosedBox = (text: string): Extraction | undefined => {
  const last = boxes(text).at(-1)
  if (last === undefined || last.content !== undefined) return undefined
  const open = text.indexOf("{", last.start)
  const rest = open < 0 ? undefined : nonEmpty(text.slice(open + 1).replace(/\$+\s*$/, ""))
  return rest === undefined ? undefined : { answer: rest, how: "box" }
}

/** `free`'s fallbacks when the text has no statement (see the module doc). */
const fallback = (text: string): Extraction | undefined => {
  const trimmed = text.trim()
  if (trimmed === "") return undefined
  if (!/(?<!\\)\$/.test(trimmed) && !/\\[([]/.test(trimmed) && !isProse(trimmed))
    return { answer: decimalComma(trimmed), how: "as-written" }
  const spans = formulas(text)
  const math = spans.length > 0 ? formulaGroup(text, spans, spans.length - 1) : undefined
  const number = lastProseNumber(text, spans)
  if (math !== undefined && (number === undefined || math.end >= number.end))
    return { answer: math.text, how: "last-math" }
  if (number !== undefined) return { answer: number.text, how: "last-number" }
  return { answer: trimmed, how: "as-written" }
}

/**
 * Extracts the final answer of a solution and says how it was found; `undefined` when it has none.
 *
 * @example
 * extractAnswer("Final Answer: The final answer is $10,455$.") // { answer: "10,455", how: "answer-is" }
 * extractAnswer("so it increases by 100%.", "free") // { answer: "100\\%", how: "last-number" }
 */
export const extractAnswer = (input: string, method: Extractor = "auto"): Extraction | undefined => {
  const text = input.length > MAX_TEXT ? input.slice(-MAX_TEXT) : input
  const made = (answer: string | undefined, how: How): Extraction | undefined =>
    answer === undefined ? undefined : { answer, how }
  if (typeof method === "object") return made(byPattern(text, method.pattern), "pattern")
  switch (method) {
    case "boxed":
      return made(boxed(text), "box")
    case "gsm8k":
      return made(gsm8k(text), "gsm8k")
    case "answer-is":
      return made(answerIs(text), "answer-is")
    case "auto":
      return lastStatement(text)
    case "free":
      return lastStatement(text) ?? unclosedBox(text) ?? fallback(text)
  }
}

/**
 * Extracts the final answer of a solution; `undefined` when it has none.
 *
 * @example
 * extract("… so the total is \\boxed{10,080}.") // "10,080"
 * extract("Natalia sold 48+24 = 72 clips.\nA: 72") // "72"
 * extract("I think it is 5") // undefined
 * extract("I think it is 5", "free") // "5"
 */
export const extract = (text: string, method: Extractor = "auto"): string | undefined =>
  extractAnswer(text, method)?.answer
