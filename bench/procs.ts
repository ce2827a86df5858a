// Child processes: each server (DCX, baseline, hello-worlds) and each load run is its own
// `node --import tsx …` process, so the load generator never shares the server's event loop
// and the server's RSS can be sampled by pid.
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url))
export const ROOT = path.resolve(BENCH_DIR, '..')

export interface Server {
  name: string
  pid: number
  port: number
  url: string
  proc: ChildProcess
  stop(): Promise<void>
  /**
   * The server's process.memoryUsage() right after a full GC (bench/server.mjs answers SIGUSR2 with a
   * "BENCH_MEM {…}" line when started with --expose-gc): live memory, not what the GC has yet to collect.
   */
  memory(): Promise<NodeJS.MemoryUsage | undefined>
}

const live = new Set<ChildProcess>()

/** Kill every child still running (on exit or Ctrl-C). Only our own children, by pid. */
export function killAll() {
  for (const p of live) {
    try {
      p.kill('SIGKILL')
    } catch {
      /* already gone */
    }
  }
  live.clear()
}

/** The last 4 KB of a child's stderr, kept for the error message if it dies (each line also passed to onLine). */
function tailOf(proc: ChildProcess, onLine?: (line: string) => void): () => string {
  let stderr = ''
  proc.stderr?.setEncoding('utf8')
  proc.stderr?.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4096)
    if (onLine) for (const line of d.split('\n')) if (line.trim()) onLine(line)
  })
  return () => stderr
}

/** SIGTERM (a graceful close, which also writes a --cpu-prof profile), SIGKILL after 15 s. */
async function stopProc(proc: ChildProcess) {
  if (proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise<void>((r) => proc.once('exit', () => r()))
    proc.kill('SIGTERM')
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000)
    await exited
    clearTimeout(timer)
  }
  live.delete(proc)
}

/**
 * Start `node [nodeFlags] [--import tsx] <script> [args]` (tsx unless the script is .mjs) and wait for its "BENCH_READY <port>" line.
 * stderr is kept (last 4 KB) for the error message if it dies, and echoed with a prefix.
 */
export async function startServer(
  name: string,
  script: string,
  args: string[],
  env: Record<string, string>,
  nodeFlags: string[] = [],
  timeoutMs = 90_000,
): Promise<Server> {
  // A plain .mjs script (the built server) runs without tsx's loader.
  const loader = script.endsWith('.mjs') ? [] : ['--import', 'tsx']
  const proc = spawn(process.execPath, [...nodeFlags, ...loader, path.join(BENCH_DIR, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(proc)
  const stderr = tailOf(proc, (line) => process.stderr.write(`  [${name}] ${line.slice(0, 400)}\n`))
  const memWaiters: ((m: NodeJS.MemoryUsage | undefined) => void)[] = []
  let line = ''
  proc.stdout?.setEncoding('utf8')
  proc.stdout?.on('data', (d: string) => {
    line += d
    for (let i = line.indexOf('\n'); i >= 0; i = line.indexOf('\n')) {
      const l = line.slice(0, i)
      line = line.slice(i + 1)
      if (l.startsWith('BENCH_MEM ')) memWaiters.shift()?.(JSON.parse(l.slice('BENCH_MEM '.length)) as NodeJS.MemoryUsage)
    }
  })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs} ms\n${stderr()}`)), timeoutMs)
    proc.stdout?.on('data', (d: string) => {
      out += d
      const m = /BENCH_READY (\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    proc.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})\n${stderr()}`))
    })
  })
  proc.stdout?.resume()
  const pid = proc.pid as number
  return {
    name,
    pid,
    port,
    url: `http://127.0.0.1:${port}`,
    proc,
    stop: () => stopProc(proc),
    memory() {
      return new Promise((resolve) => {
        const t = setTimeout(() => resolve(undefined), 10_000)
        memWaiters.push((m) => {
          clearTimeout(t)
          resolve(m)
        })
        proc.kill('SIGUSR2')
      })
    },
  }
}

/** `npm run build` (tsc → dist/): the DCX server the bench measures is the built one, as production runs it. */
export function buildDist() {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
}

/**
 * Start a server the way its user does — `node <argv>` (e.g. dist/server.js, what `npm start`
 * runs) on a free port — and wait until its /readyz answers 200. No "BENCH_READY" line needed.
 */
export async function startCommand(name: string, argv: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<Server> {
  const port = await new Promise<number>((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const p = (probe.address() as net.AddressInfo).port
      probe.close(() => resolve(p))
    })
  })
  const proc = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  live.add(proc)
  const stderr = tailOf(proc)
  const url = `http://127.0.0.1:${port}`
  const t0 = Date.now()
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited before it was ready (code ${proc.exitCode})\n${stderr()}`)
    if (Date.now() - t0 > timeoutMs) throw new Error(`${name} did not start within ${timeoutMs} ms\n${stderr()}`)
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    )
    if (ok) break
    await new Promise((r) => setTimeout(r, 200))
  }
  return {
    name,
    pid: proc.pid as number,
    port,
    url,
    proc,
    stop: () => stopProc(proc),
    memory: async () => undefined,
  }
}

/** Resident set size of a process in MB (from /proc; `ps -o rss=` where there is no /proc). */
export function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status)
    if (m) return Number(m[1]) / 1024
  } catch {
    /* fall through to ps */
  }
  try {
    return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) / 1024
  } catch {
    return 0
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; NaN without /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of those.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch {
    return NaN
  }
}

/**
 * Waits until a server is quiet: its CPU under 10 % of a core for `windows` consecutive 250 ms windows
 * and `busy()` (e.g. active queries in PostgreSQL) false. autocannon abandons the requests still
 * in flight when a run ends; without this, their work would land in the next measurement.
 */
export async function waitIdle(pid: number, busy: () => Promise<boolean> = async () => false, windows = 2, maxMs = 120_000): Promise<number> {
  const t0 = Date.now()
  let quiet = 0
  let last = cpuSeconds(pid)
  while (Date.now() - t0 < maxMs) {
    await new Promise((r) => setTimeout(r, 250))
    const now = cpuSeconds(pid)
    if (Number.isNaN(now)) return Date.now() - t0
    const used = (now - last) / 0.25
    last = now
    quiet = used < 0.1 && !(await busy()) ? quiet + 1 : 0
    if (quiet >= windows) break
  }
  return Date.now() - t0
}

/** Samples a pid's RSS every intervalMs until stopped; returns the peak (and all samples). */
export function sampleRss(pid: number, intervalMs = 200) {
  const samples: number[] = [rssMb(pid)]
  const timer = setInterval(() => samples.push(rssMb(pid)), intervalMs)
  return {
    samples,
    stop() {
      clearInterval(timer)
      samples.push(rssMb(pid))
      return Math.max(...samples)
    },
  }
}

/** The load generator (bench/load.ts) as one long-lived child: specs in, results out, over IPC. */
export class LoadWorker {
  private proc: ChildProcess | undefined
  private seq = 0
  private pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>()

  async start() {
    const proc = fork(path.join(BENCH_DIR, 'load.ts'), [], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    live.add(proc)
    this.proc = proc
    proc.on('message', (m: { id?: number; result?: unknown; error?: string }) => {
      if (m.id === undefined) return
      const p = this.pending.get(m.id)
      this.pending.delete(m.id)
      if (m.error !== undefined) p?.reject(new Error(`load generator: ${m.error}`))
      else p?.resolve(m.result)
    })
    proc.on('exit', (code) => {
      live.delete(proc)
      for (const p of this.pending.values()) p.reject(new Error(`load generator exited (code ${code})`))
      this.pending.clear()
    })
    await new Promise<void>((resolve, reject) => {
      proc.once('message', () => resolve())
      proc.once('exit', (code) => reject(new Error(`load generator exited before it was ready (code ${code})`)))
    })
  }

  run<T>(spec: unknown): Promise<T> {
    const id = ++this.seq
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject })
      this.proc?.send({ id, spec })
    })
  }

  stop() {
    this.proc?.disconnect()
  }
}

/** Runs a node script to completion; resolves with its exit code. */
export function runNode(script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(BENCH_DIR, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'pipe'],
  })
  live.add(proc)
  let stderr = ''
  proc.stderr?.setEncoding('utf8')
  proc.stderr?.on('data', (d: string) => {
    stderr = (stderr + d).slice(-8192)
  })
  return new Promise((resolve) => {
    proc.once('exit', (code) => {
      live.delete(proc)
      resolve({ code: code ?? 1, stderr })
    })
  })
}
