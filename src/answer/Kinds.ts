/**
 * Answers by kind (see `domain/AnswerKind.ts`): how an answer of each kind is extracted, compared,
 * keyed for voting and graded.
 *
 * - `math` (the default): `Extract` (`auto`), MATH equivalence and keys (`Equivalence`).
 * - `number`: the answer statement, else the last number of the text (`free`'s fallbacks), then
 *   the last number in it (`18 dollars` → `18`, `$1,080` → `1,080`); compared and keyed by value.
 * - `choice`: a letter among the options. The answer statement (`\boxed{B}`, `Answer: (B)`, `the
 *   answer is B`) read as a letter or as an option's text, else the last "answer/option/choice
 *   … B" or `(B)` of the text; compared by letter, without case.
 * - `free`: the answer statement (`Final answer: …`, `Answer: …`, `the answer is …`, a box), else
 *   the last paragraph; compared by SQuAD's normalisation (lower case; punctuation, the articles
 *   a/an/the and extra spaces dropped; Rajpurkar et al. 2016, the official evaluation script's
 *   `normalize_answer`), and as math when neither side has words. Voting groups free text by this
 *   key, and a consistency judge merges the groups that say the same thing (runtime/Judge.ts).
 *
 * @since 0.2.0
 */
import { type AnswerKind, type AnswerSpec, kindOf, letters } from "../domain/AnswerKind.ts"
import type { Problem } from "../domain/Problem.ts"
import type { AnswerKeyShape } from "../services/Grader.ts"
import { answerCells, answerKey, equivalent, grade } from "./Equivalence.ts"
import { boxed, type Extractor, extract, extractAnswer } from "./Extract.ts"
import { parseNumber } from "./Numbers.ts"
import { isTexty } from "./Rules.ts"

/** Free-text answers longer than this are cut (a paragraph is an answer; a whole essay is not). */
export const MAX_FREE_ANSWER = 1000

// ---------------------------------------------------------------------------------------------
// free text

/**
 * SQuAD's answer normalisation: lower case, punctuation and the articles a/an/the dropped, spaces
 * collapsed; LaTeX `\text{…}` and `$` unwrapped first.
 *
 * @example
 * normalizeFree("The Eiffel Tower.") // "eiffel tower"
 */
export const normalizeFree = (text: string): string =>
  text
    .replace(/\\(?:text|textbf|mathrm)\{([^{}]*)\}/gu, "$1")
    .replace(/\$/gu, "")
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, " ")
    .replace(/\b(?:a|an|the)\b/gu, " ")
    .replace(/\s+/gu, " ")
    .trim()

const FREE_LABEL = /(?:^|\n)[ \t>#*_-]*(?:final\s+answer|answer)[ \t*_]*[:：][ \t*_]*([^\n]*\S)/giu
const FREE_IS = /\bthe\s+(?:final\s+|correct\s+|short\s+)?answer\s+is\s*[:：]?\s*([^\n]*\S)/giu

const cleanFree = (s: string): string | undefined => {
  const t = s
    .trim()
    .replace(/^\*+|\*+$/gu, "")
    .replace(/^["'“‘]+|["'”’]+$/gu, "")
    .replace(/[.。]+$/u, "")
    .trim()
  if (t === "") return undefined
  return t.length > MAX_FREE_ANSWER ? t.slice(0, MAX_FREE_ANSWER) : t
}

/**
 * The answer of a free-text response: its last answer statement ("Final answer: …", "Answer: …",
 * "the answer is …", or a box), else its last paragraph; `undefined` for an empty text.
 *
 * @example
 * extractFree("Paris is the capital.\n\nAnswer: Paris") // "Paris"
 * extractFree("It was written by Mary Shelley in 1818.") // "It was written by Mary Shelley in 1818"
 */
export const extractFree = (text: string): string | undefined => {
  let best: { readonly at: number; readonly answer: string } | undefined
  for (const re of [FREE_LABEL, FREE_IS])
    for (const m of text.matchAll(re)) {
      const answer = cleanFree(boxed(m[1] ?? "") ?? m[1] ?? "")
      if (answer !== undefined && (best === undefined || m.index >= best.at)) best = { at: m.index, answer }
    }
  if (best !== undefined) return best.answer
  const box = boxed(text)
  if (box !== undefined) return cleanFree(box)
  const paragraphs = text.split(/\n\s*\n/u).filter((p) => p.trim() !== "")
  const last = paragraphs.at(-1)
  return last === undefined ? undefined : cleanFree(last)
}

const freeEquivalent = (a: string, b: string): boolean => {
  const x = normalizeFree(a)
  const y = normalizeFree(b)
  if (x !== "" && x === y) return true
  return !isTexty(a) && !isTexty(b) && equivalent(a, b)
}

// ---------------------------------------------------------------------------------------------
// numbers

const NUMBER = /-?\$?\d[\d,]*(?:\.\d+)?|-?\.\d+/gu

const lastNumberIn = (text: string): string | undefined => {
  if (parseNumber(text.trim()) !== undefined) return text.trim()
  const all = [...text.replace(/\\[!,;: ]/gu, "").matchAll(NUMBER)]
  const last = all.at(-1)?.[0]
  return last === undefined ? undefined : last.replace("$", "").replace(/,$/u, "")
}

/**
 * The answer of a response to a numeric question: the number of its answer statement, else the
 * last number of the text.
 *
 * @example
 * extractNumber("She pays 18 dollars.\nA: 18 dollars") // "18"
 * extractNumber("In all, 1,080 apples") // "1,080"
 */
export const extractNumber = (text: string): string | undefined => {
  const found = extractAnswer(text, "free")
  if (found === undefined) return undefined
  return lastNumberIn(found.answer) ?? lastNumberIn(text)
}

// ---------------------------------------------------------------------------------------------
// multiple choice

const CHOICE_CUE =
  /\b(?:answer|option|choice)\b(?:\s+(?:is|would\s+be|must\s+be|should\s+be))?(?:\s+(?:option|choice))?\s*[:：]?\s*\**\s*\(?([A-Za-z])\)?(?![A-Za-z])/giu
const PAREN_LETTER = /\(([A-Z])\)/gu

/**
 * A multiple-choice answer as a letter (upper case) among the options', or `undefined`: `B`, `(b)`,
 * `\text{(B)}`, `B) 42`, `Option B`, or the text of an option.
 *
 * @example
 * letterOf("\\text{(C)}", { kind: "choice" }) // "C"
 * letterOf("blue", { kind: "choice", options: ["red", "blue"] }) // "B"
 */
export const letterOf = (answer: string, spec: AnswerSpec | undefined): string | undefined => {
  const valid = letters(spec)
  const plain = answer
    .replace(/\\(?:text|textbf|mathrm|mathbf)\{([^{}]*)\}/gu, "$1")
    .replace(/[$*]/gu, "")
    .trim()
  const bare = /^(?:(?:option|choice|answer)\s*[:：]?\s*)?\(?([A-Za-z])\)?[.:]?$/iu.exec(plain)
  // a letter that starts a longer answer must be marked as one: "(B) 42", "B) 42", "B. 42", "B: 42"
  const marked = /^(?:(?:option|choice|answer)\s*[:：]?\s*)?(?:\(([A-Za-z])\)|([A-Za-z])[.:)])\s/iu.exec(plain)
  const letter = (bare?.[1] ?? marked?.[1] ?? marked?.[2])?.toUpperCase()
  if (letter !== undefined && valid.includes(letter)) return letter
  const options = spec?.options
  if (options !== undefined) {
    const key = normalizeFree(plain)
    const i = options.findIndex((o) => key !== "" && normalizeFree(o) === key)
    if (i >= 0) return valid[i]
  }
  return undefined
}

/**
 * The letter a response chooses: its answer statement read as a letter (or an option's text), else
 * the last "answer/option/choice … B", else the last `(B)` among the options' letters.
 *
 * @example
 * extractChoice("The mass is conserved, so the answer is (B).", { kind: "choice" }) // "B"
 */
export const extractChoice = (text: string, spec: AnswerSpec | undefined): string | undefined => {
  const statement = extract(text, "auto")
  const fromStatement = statement === undefined ? undefined : letterOf(statement, spec)
  if (fromStatement !== undefined) return fromStatement
  // "Answer: blue" (an option's text), which the math statements do not take as a word answer
  const free = extractFree(text)
  const fromFree = free === undefined ? undefined : letterOf(free, spec)
  if (fromFree !== undefined) return fromFree
  const valid = letters(spec)
  const cue = [...text.matchAll(CHOICE_CUE)]
    .map((m) => m[1]?.toUpperCase())
    .filter((l): l is string => l !== undefined && valid.includes(l))
    .at(-1)
  if (cue !== undefined) return cue
  const paren = [...text.matchAll(PAREN_LETTER)]
    .map((m) => m[1])
    .filter((l): l is string => l !== undefined && valid.includes(l))
    .at(-1)
  return paren ?? letterOf(text, spec)
}

// ---------------------------------------------------------------------------------------------
// by kind

/**
 * The answer of a solution for a problem of the given answer spec (absent: math): `undefined` when
 * it has none. For `math` a dataset's own extractor may be given (default `auto`).
 *
 * @example
 * extractFor({ kind: "choice" }, "Answer: (B)") // "B"
 * extractFor(undefined, "so \\boxed{5}") // "5"
 */
export const extractFor = (
  spec: AnswerSpec | undefined,
  text: string,
  method: Extractor = "auto"
): string | undefined => {
  switch (spec?.kind ?? "math") {
    case "math":
      return extract(text, method)
    case "number":
      return extractNumber(text)
    case "choice":
      return extractChoice(text, spec)
    case "free":
      return extractFree(text)
  }
}

/**
 * Whether two answers of a kind are the same answer.
 *
 * @example
 * equivalentFor({ kind: "choice" }, "(b)", "B") // true
 * equivalentFor({ kind: "free" }, "The Nile.", "nile") // true
 */
export const equivalentFor = (spec: AnswerSpec | undefined, a: string, b: string): boolean => {
  switch (spec?.kind ?? "math") {
    case "math":
      return equivalent(a, b)
    case "number": {
      const x = lastNumberIn(a)
      const y = lastNumberIn(b)
      return x !== undefined && y !== undefined && equivalent(x, y)
    }
    case "choice": {
      const x = letterOf(a, spec)
      return x !== undefined && x === letterOf(b, spec)
    }
    case "free":
      return freeEquivalent(a, b)
  }
}

/**
 * The voting key of an answer of a kind: equal keys mean the same answer (`math`: `answerKey`).
 *
 * @example
 * keyFor({ kind: "choice" }, "\\text{(B)}") === keyFor({ kind: "choice" }, "b") // true
 */
export const keyFor = (spec: AnswerSpec | undefined, answer: string): string => {
  switch (spec?.kind ?? "math") {
    case "math":
      return answerKey(answer)
    case "number": {
      const n = lastNumberIn(answer)
      return n === undefined ? `text:${normalizeFree(answer)}` : answerKey(n)
    }
    case "choice": {
      const l = letterOf(answer, spec)
      return l === undefined ? `text:${normalizeFree(answer)}` : `choice:${l}`
    }
    case "free": {
      const n = normalizeFree(answer)
      // answers with no words (numbers, formulas) group as math
      return isTexty(answer) || n === "" ? `free:${n}` : answerKey(answer)
    }
  }
}

/**
 * Grades an answer of a kind against the gold (itself read by the kind: a gold letter, option
 * text or `(B)` for choice, a number in a sentence for number).
 *
 * @example
 * gradeFor({ kind: "choice", options: ["3", "4"] }, "4", "B") // true
 * gradeFor(undefined, "\\frac12", "0.5") // true
 */
export const gradeFor = (spec: AnswerSpec | undefined, answer: string | undefined, gold: string): boolean => {
  if (answer === undefined || answer.trim() === "") return false
  switch (spec?.kind ?? "math") {
    case "math":
      return grade(answer, gold)
    default:
      return equivalentFor(spec, answer, gold)
  }
}

/**
 * The answer key of a kind, for voting (`math`: mull's MATH key and equivalence).
 *
 * @example
 * answerKeyFor({ kind: "free" }).key("The Nile.") // "free:nile"
 */
export const answerKeyFor = (spec: AnswerSpec | undefined): AnswerKeyShape => {
  const kind: AnswerKind = spec?.kind ?? "math"
  if (kind === "math") return { name: "math", key: answerKey, equivalent, cells: answerCells }
  return {
    name: kind,
    key: (answer) => keyFor(spec, answer),
    equivalent: (a, b) => equivalentFor(spec, a, b)
  }
}

/**
 * The answer of a solution for a problem, by the problem's kind (what backends put on a finished
 * generation).
 *
 * @example
 * answerOf(problem, "… so the answer is (C).")
 */
export const answerOf = (problem: Pick<Problem, "answer">, text: string): string | undefined =>
  extractFor(problem.answer, text)

/** The kind of a problem's answer (`math` when it declares none). */
export { kindOf }
