/**
 * The string rewrite rules of answer normalisation, after Hendrycks' MATH `_strip_string` (as
 * used by PRM800K's `math_normalize.py`) and Qwen2.5-Math's `strip_string`: `cleanup` rewrites a
 * whole answer before it is split into parts, `normalizeScalar` rewrites one part (an element of a
 * tuple, set or matrix, or the whole answer when it has no parts).
 *
 * Both are linear passes (the wrappers they remove are bounded by the answer's length), and
 * together with the structure split they reach a fixed point, so `normalize` is idempotent.
 *
 * @since 0.1.0
 */
import { closingBrace, enclosed, readArgument, splitTopLevel, unwrapMacros } from "./Latex.ts"

/** Wrappers whose content is the answer: `\text{Evelyn}` is `Evelyn`. */
const TEXT_MACROS = [
  "text",
  "textrm",
  "textnormal",
  "textit",
  "textbf",
  "textsf",
  "texttt",
  "mbox",
  "mathrm",
  "mathit",
  "mathbf",
  "mathsf",
  "boldsymbol",
  "operatorname",
  "boxed",
  "fbox",
  "hbox"
]

/**
 * A left side that only names the answer: `x`, `AB`, `f(x)`, `\theta`, `a_1`, `(a,b)`, `m\angle A`,
 * `|AB|`, and ratios of names: `\frac{NO}{BO}`, `A:B`, `S_{MBCN}:S`. A left side with arithmetic
 * (`a+3z`, `x^2`) or a number (`7`) is an equation, not a label.
 *
 * @example
 * isName("\\frac{NO}{BO}") // true
 * isName("2x+z") // false
 */
export const isName = (lhs: string): boolean => {
  const s = lhs
    .trim()
    .replace(/\\frac\s*\{([a-zA-Z]{1,6})\}\s*\{([a-zA-Z]{1,6})\}/g, "$1$2")
    .replace(/(?<=[a-zA-Z}])\s*:\s*(?=[a-zA-Z])/g, "")
  if (s === "" || s.length > 24 || /^\d/.test(s) || /[+\-^/<>=]|\\(?:frac|sqrt|cdot|pm)(?![a-zA-Z])/.test(s))
    return false
  return /^[a-zA-Z\\{}_'()[\],| 0-9]+$/.test(s)
}

/** Unicode spellings that models write instead of LaTeX. */
const UNICODE: ReadonlyArray<readonly [string, string]> = [
  ["\u2212", "-"],
  ["\u2013", "-"],
  ["\u00a0", " "],
  ["\u00d7", "\\times "],
  ["\u22c5", "\\cdot "],
  ["\u00b7", "\\cdot "],
  ["\u00f7", "\\div "],
  ["\u03c0", "\\pi "],
  ["\u221a", "\\sqrt"],
  ["\u221e", "\\infty "],
  ["\u00b0", "^\\circ"],
  ["\u2264", "\\le "],
  ["\u2265", "\\ge "],
  ["\u2260", "\\ne "],
  ["\u222a", "\\cup "],
  ["\u2229", "\\cap "],
  ["\u2208", "\\in "],
  ["\u00b1", "\\pm "],
  ["\u2205", "\\emptyset "]
]

/** Command spellings with the same meaning, mapped to one. */
const SYNONYMS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\\[dtc]frac(?![a-zA-Z])/g, "\\frac"],
  [/\\[dt]binom(?![a-zA-Z])/g, "\\binom"],
  [/\\leq(?:slant)?(?![a-zA-Z])/g, "\\le"],
  [/\\geq(?:slant)?(?![a-zA-Z])/g, "\\ge"],
  [/\\neq(?![a-zA-Z])/g, "\\ne"],
  [/\\lt(?![a-zA-Z])/g, "<"],
  [/\\gt(?![a-zA-Z])/g, ">"],
  [/<=/g, "\\le "],
  [/>=/g, "\\ge "],
  [/!=/g, "\\ne "],
  [/\\times(?![a-zA-Z])/g, "\\cdot "],
  [/\\ast(?![a-zA-Z])/g, "\\cdot "],
  [/\*/g, "\\cdot "],
  [/\\(?:varnothing|O)(?![a-zA-Z])/g, "\\emptyset "],
  [/\\(?:infinity|infin)(?![a-zA-Z])/g, "\\infty "],
  [/\\varepsilon(?![a-zA-Z])/g, "\\epsilon "],
  [/\\begin\{(?:bmatrix|Bmatrix|matrix|smallmatrix)\}/g, "\\begin{pmatrix}"],
  [/\\end\{(?:bmatrix|Bmatrix|matrix|smallmatrix)\}/g, "\\end{pmatrix}"],
  [/\\begin\{array\}\{[^{}]*\}/g, "\\begin{pmatrix}"],
  [/\\end\{array\}/g, "\\end{pmatrix}"]
]

/** Sizing and spacing commands that carry no meaning. */
const NOISE =
  /\\(?:displaystyle|textstyle|scriptstyle|big|Big|bigg|Bigg|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|middle|limits|nolimits)(?![a-zA-Z])/g

/** A unit after a number, with an optional square/cube prefix and power. */
const UNIT = String.raw`(?:(?:square|sq\.?|cubic|cu\.?)\s+)?(?:units?|centimet(?:er|re)s?|millimet(?:er|re)s?|kilomet(?:er|re)s?|met(?:er|re)s?|inch(?:es)?|feet|foot|ft|yards?|yd|miles?|mi|cm|mm|km|m|in|grams?|g|kilograms?|kg|pounds?|lbs?|ounces?|oz|tons?|lit(?:er|re)s?|ml|gallons?|gal|cups?|seconds?|secs?|s|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|yrs?|mph|kph|km/h|m/s|ft/s|degrees?|deg|radians?|rad|dollars?|cents?|euros?|points?)(?:\s*\^\s*\{?[23]\}?)?`

/** A trailing unit written as bare words after a number: `5 cm`, `100 square units`, `12\pi\ cm^2`. */
const BARE_UNIT = new RegExp(String.raw`^(.*?[\d}\w])(\s*)(${UNIT})\.?$`)
/** A trailing `\text{…}` whose content is words, as in `100\text{ square units}`. */
const TEXT_UNIT = /\\(?:text|textrm|textnormal|textit|mbox|mathrm)\s*\{([^{}]*)\}(\s*\^\s*\{?[23]\}?)?\s*$/
/** Text that qualifies the answer and must stay: a time of day. */
const MEANINGFUL_SUFFIX = /^\s*(?:a\.?\s*m\.?|p\.?\s*m\.?|noon|midnight)\s*$/i
/** A number-like prefix after which a bare unit word may be dropped. */
const NUMERIC_PREFIX =
  /^[+-]?(?:\d[\d,.]*|\.\d+)(?:\s*\\frac\s*\{?\d+\}?\s*\{?\d+\}?)?(?:\s*\\?pi)?$|^[+-]?\\frac\s*(?:\{[^{}]*\}|\d)\s*(?:\{[^{}]*\}|\d)$/

const removeTextUnits = (s: string): string => {
  let out = s
  for (let i = 0; i < 4; i++) {
    const m = TEXT_UNIT.exec(out)
    if (m === null) break
    const content = m[1] ?? ""
    const prefix = out.slice(0, m.index).trim()
    if (prefix === "" || /[-+=,(\\[{]$/.test(prefix) || !/^[\s]*[A-Za-z][A-Za-z\s.\-/]*$/.test(content)) break
    if (MEANINGFUL_SUFFIX.test(content) || /^\s*(?:or|and)\s*$/i.test(content)) break
    out = prefix
  }
  return out
}

const removeBareUnits = (s: string): string => {
  const m = BARE_UNIT.exec(s)
  if (m === null) return s
  const prefix = (m[1] ?? "").trim()
  // a one-letter unit needs a space: `10m` may be a product, `10 m` is ten metres
  if ((m[3] ?? "").length === 1 && (m[2] ?? "") === "") return s
  return NUMERIC_PREFIX.test(prefix) ? prefix : s
}

/** Bare function names that models write without a backslash: `sqrt(2)`, `2pi`. */
const bareFunctions = (s: string): string =>
  s
    .replace(/(?<![\\a-zA-Z])sqrt\s*\(([^()]*)\)/g, "\\sqrt{$1}")
    .replace(/(?<![\\a-zA-Z])(pi|sqrt|sin|cos|tan|cot|sec|csc|ln|log|exp)(?![a-zA-Z])/g, "\\$1 ")
    .replace(/(?<![\\a-zA-Z])(?:infinity|inf)(?![a-zA-Z])/g, "\\infty ")

/** `\left(` → `(`; `\left.` → nothing. */
const removeLeftRight = (s: string): string =>
  s.replace(/\\(?:left|right)\s*(?:\.|(?=[^a-zA-Z]))/g, "").replace(/\\(?:left|right)(?![a-zA-Z])/g, "")

/**
 * An approximation keeps the exact value: `x \approx 11` is 11 (the left side only names it), but
 * `\frac{1}{3} \approx 0.333` is `\frac{1}{3}` and `x = \frac13 \approx 0.33` is `x = \frac13`
 * (Math-Verify reads the same values; PRM800K rewrites `\approx` to `=`, which turns both into
 * equations).
 */
const approximation = (s: string): string => {
  const parts = s.split(/\\approx(?![a-zA-Z])|\u2248/)
  if (parts.length < 2) return s
  const left = (parts[0] ?? "").trim()
  return left === "" || isName(left) ? (parts.at(-1) ?? "").trim() : left
}

/**
 * Rewrites a whole answer before it is split into parts: math delimiters, `\left`/`\right`,
 * spacing commands, `dfrac`/`tfrac`, degrees, dollars, units, `\text{}` wrappers, Unicode,
 * thousands separators written `,\!` or `{,}`, and the connectives `or`/`and` (which become
 * commas, as in PRM800K).
 *
 * @example
 * cleanup("\\$32,\\!348") // "32348"
 * cleanup("100\\text{ square units}") // "100"
 */
export const cleanup = (raw: string): string => {
  let s = raw
  for (const [from, to] of UNICODE) s = s.replaceAll(from, to)
  s = s.replace(/[\r\n\t]+/g, " ")
  // a doubled backslash before a command (`\\frac`) is the command, outside matrices (Math-Verify)
  if (!s.includes("\\begin")) s = s.replace(/\\\\(?=[a-zA-Z])/g, "\\")
  // `\quadx_2`: a spacing command glued to the next name
  s = s.replace(/\\(q?quad)(?=[a-zA-Z])/g, "\\$1 ")
  // an ellipsis is a part of a list (`1, 2, 3, \ldots` is not `1, 2, 3`)
  s = s.replace(/\.{3}|\u2026|\\[lc]?dots[bcmo]?(?![a-zA-Z])/g, "\\ldots ")
  // thousands separators spelled for LaTeX spacing: 10,\!080 and 10{,}080
  s = s.replace(/(\d)\s*(?:,\\!|\{,\})\s*(?=\d)/g, "$1")
  // (?<!\\) keeps a matrix row break `\\` intact
  s = s.replace(/(?<!\\)\\(?:[!,;:> ]|q?quad(?![a-zA-Z])|enspace|thinspace)|~/g, " ")
  s = s.replace(/(?<!\\)\\(?:\$|%)/g, (m) => (m === "\\%" ? "%" : ""))
  s = s.replace(/(?<!\\)\\[()[\]]|\$/g, " ")
  s = removeLeftRight(s).replace(NOISE, " ")
  for (const [re, to] of SYNONYMS) s = s.replace(re, to)
  // degrees: ^\circ, ^{\circ}, \circ, \degree
  s = s.replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![a-zA-Z])|\\circ(?![a-zA-Z])|\\degree(?![a-zA-Z])/g, "")
  s = s.replace(/\\(?:emph|underline)(?![a-zA-Z])\s*/g, "")
  s = s.replace(/\\mathbb\s*\{\s*R\s*\}/g, "(-\\infty,\\infty)")
  s = unwrapMacros(s, ["boxed", "fbox"])
  s = removeTextUnits(s.trim())
  s = unwrapMacros(s, TEXT_MACROS)
  s = s.replace(/\s+/g, " ").trim()
  s = s.replace(/(?<![a-zA-Z\\])(?:percentage|percent|pct)(?![a-zA-Z])/g, "%")
  // PRM800K: 2 million → 2·10^6
  s = s.replace(
    /(\d)\s*(million|billion|trillion)(?![a-zA-Z])/g,
    (_m, d: string, w: string) => `${d}\\cdot10^{${w === "million" ? 6 : w === "billion" ? 9 : 12}}`
  )
  s = approximation(s)
  s = bareFunctions(s)
  s = s.replace(/\s+/g, " ").trim()
  s = s.replace(/^(?:final answer|answer|ans)\s*[:=]\s*/i, "")
  s = s.replace(/[.;:,\s]+$/, "").replace(/^[:\s]+/, "")
  s = removeBareUnits(s)
  // "or", "and" between parts of an answer list, with or without spaces: `(11,7)or(7,11)`
  s = s.replace(/(?<![a-zA-Z\\])\s*,?\s*(?:or|and)\s*(?![a-zA-Z])/gi, ", ").replace(/^,\s*|,\s*$/g, "")
  s = s.replace(/\\emptyset\s*|\\\{\s*\\\}/g, "\\emptyset")
  s = s.replace(/\+\s*\\infty/g, "\\infty")
  return s.trim()
}

/** Braces the arguments of each `\frac` (two) or `\sqrt` (one): `\frac12` → `\frac{1}{2}`, `\sqrt2` → `\sqrt{2}`. */
const braceArguments = (s: string, command: "frac" | "sqrt", arity: number): string => {
  const marker = `\\${command}`
  let out = ""
  let i = 0
  while (i < s.length) {
    const at = s.indexOf(marker, i)
    if (at < 0 || /[a-zA-Z]/.test(s[at + marker.length] ?? "")) {
      const stop = at < 0 ? s.length : at + marker.length
      out += s.slice(i, stop)
      i = stop
      continue
    }
    out += s.slice(i, at) + marker
    let j = at + marker.length
    if (command === "sqrt" && s[j] === "[") {
      const close = s.indexOf("]", j)
      if (close < 0) return out + s.slice(j)
      out += s.slice(j, close + 1)
      j = close + 1
    }
    for (let k = 0; k < arity; k++) {
      const arg = readArgument(s, j)
      if (arg === undefined) break
      out += `{${arg.text}}`
      j = arg.end
    }
    i = j
  }
  return out + s.slice(i)
}

/** Removes spaces, except one after a control word followed by a letter (`\cot x` stays parseable). */
const removeSpaces = (s: string): string =>
  s.replace(/(\\[a-zA-Z]+)\s+(?=[a-zA-Z])|\s+/g, (_m, command: string | undefined) =>
    command === undefined ? "" : `${command} `
  )

/** Whether a part is words rather than math: a run of three letters outside a command (`east`). */
export const isTexty = (s: string): boolean => /(?<![\\a-zA-Z])[a-zA-Z]{3,}/.test(s.replace(/\\[a-zA-Z]+/g, " "))

/** Strips one pair of braces or parentheses around the whole part (not around a tuple). */
const stripOuter = (s: string): string => {
  for (let i = 0; i < 8; i++) {
    if (s.startsWith("{") && closingBrace(s, 0) === s.length - 1) s = s.slice(1, -1).trim()
    else if (s.startsWith("(") && s.endsWith(")") && enclosed(s) && splitTopLevel(s.slice(1, -1), [","]).length === 1)
      s = s.slice(1, -1).trim()
    else break
  }
  return s
}

/** The canonical spelling of a plain decimal: `+007.50` → `7.5`, `-0` → `0`, `5.` → `5`. */
const canonicalDecimal = (s: string): string => {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(s)
  if (m === null || (m[2] === "" && (m[3] ?? "") === "")) return s
  const whole = (m[2] ?? "").replace(/^0+(?=\d)/, "") || "0"
  const frac = (m[3] ?? "").replace(/0+$/, "")
  const body = frac === "" ? whole : `${whole}.${frac}`
  return m[1] === "-" && /[1-9]/.test(body) ? `-${body}` : body
}

/**
 * Normalises one part of an answer: outer braces and parentheses, `\frac12` → `\frac{1}{2}`,
 * `\sqrt2` → `\sqrt{2}`, spaces, single-character scripts (`x^{2}` → `x^2`), leading `.5` → `0.5`,
 * thousands separators, `a/b` → `\frac{a}{b}`, the canonical decimal spelling, and lower case for
 * word answers. A trailing `%` is the caller's business (see `Structures`).
 *
 * @example
 * normalizeScalar("\\frac 34") // "\\frac{3}{4}"
 * normalizeScalar("10,080") // "10080"
 * normalizeScalar("Evelyn") // "evelyn"
 */
export const normalizeScalar = (part: string): string => {
  let s = stripOuter(part.trim())
  s = braceArguments(s, "frac", 2)
  s = braceArguments(s, "sqrt", 1)
  s = removeSpaces(s)
  s = s.replace(/([\^_])\{([a-zA-Z0-9])\}/g, "$1$2")
  s = s.replace(/(^|[^\d.])\.(\d)/g, "$10.$2")
  if (/^[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$/.test(s)) s = s.replaceAll(",", "")
  const slash = /^([+-]?)((?:\d+)?(?:\\sqrt\{\d+\}|\\pi)?)\/((?:\d+)?(?:\\sqrt\{\d+\}|\\pi)?)$/.exec(s)
  if (slash !== null && slash[2] !== "" && slash[3] !== "") s = `${slash[1]}\\frac{${slash[2]}}{${slash[3]}}`
  s = canonicalDecimal(s)
  if (isTexty(s) && !s.includes("\\")) s = s.toLowerCase()
  return s
}
