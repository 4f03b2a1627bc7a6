/**
 * `mull` child processes for the cluster tests: runners that report when they listen, one-shot
 * commands with their output, and a cleanup that kills whatever is still running.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { packageRoot } from "../../src/paths.ts"

const children = new Set<ChildProcess>()

/** A running `mull` process. */
export interface Child {
  readonly process: ChildProcess
  /** stdout and stderr so far */
  readonly output: () => string
  /** resolves with the exit code (or the signal's name) */
  readonly exited: Promise<number | string>
  /** SIGKILL */
  readonly kill: () => void
}

/**
 * Starts `node src/cli/main.ts …args`.
 *
 * @example
 * const runner = start(["runner", "--cluster", url, "--host", "127.0.0.1", "--port", "34500"])
 */
export const start = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Child => {
  const child = spawn(process.execPath, ["src/cli/main.ts", ...args], {
    cwd: packageRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.add(child)
  let out = ""
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString()
  })
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString()
  })
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => {
      children.delete(child)
      resolve(code ?? signal ?? "?")
    })
  )
  return {
    process: child,
    output: () => out,
    exited,
    kill: () => {
      child.kill("SIGKILL")
    }
  }
}

/**
 * Waits until a child's output matches, failing with its output after `ms`.
 *
 * @example
 * await until(runner, /listening on/u, 60_000)
 */
export const until = async (child: Child, pattern: RegExp, ms: number): Promise<void> => {
  const deadline = Date.now() + ms
  while (!pattern.test(child.output())) {
    if (Date.now() > deadline) throw new Error(`no ${pattern} within ${ms} ms; output:\n${child.output()}`)
    const done = await Promise.race([child.exited.then(() => true), sleep(50).then(() => false)])
    if (done && !pattern.test(child.output())) throw new Error(`exited before ${pattern}; output:\n${child.output()}`)
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Kills every child still running (SIGKILL) and waits for them. */
export const killAll = async (): Promise<void> => {
  const running = [...children]
  for (const c of running) c.kill("SIGKILL")
  await Promise.all(running.map((c) => new Promise((r) => (c.exitCode !== null ? r(undefined) : c.on("exit", r)))))
}
