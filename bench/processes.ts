/**
 * @module bench/processes
 * Child processes of the benchmark (the webhook as deployed, through its CLI; the baseline; the
 * state probe), free ports on 127.0.0.1, readiness polling, RSS from /proc, and one verified
 * HTTPS request (the CA is checked here; the load generator itself does not verify).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs'
import { get as httpGet } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { createServer, type AddressInfo } from 'node:net'
import { dirname, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The repository root: the nearest folder above this file holding package.json. The same from
 * the source (bench/, as vitest runs it) and from the build (dist-bench/bench/).
 */
export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)))

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return `${dir}${sep}`
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export interface Child {
  readonly process: ChildProcess
  readonly pid: number
  readonly logFile: string
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>
  stop(): Promise<void>
}

/**
 * Starts `node <args>` (this Node binary) in the repository root; stdout+stderr go to logFile.
 * `prefix` runs it through a wrapper that execs it (e.g. `taskset -c 0`), so the pid is node's.
 */
export function spawnNode(args: readonly string[], logFile: string, nodeOptions: readonly string[] = [], prefix: readonly string[] = []): Child {
  const fd = openSync(logFile, 'a')
  const [command, ...pre] = prefix.length > 0 ? [...prefix, process.execPath] : [process.execPath]
  const child = spawn(command ?? process.execPath, [...pre, ...nodeOptions, ...args], { cwd: ROOT, stdio: ['ignore', fd, fd], env: { ...process.env, NODE_ENV: 'production' } })
  closeSync(fd)
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
  if (child.pid === undefined) throw new Error(`could not start node ${args.join(' ')}`)
  const pid = child.pid
  return {
    process: child,
    pid,
    logFile,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)])
      if (!done) {
        child.kill('SIGKILL')
        await exited
      }
    },
  }
}

export function getText(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error(`timeout: GET ${url}`)))
  })
}

/** Polls until check() is true; fails with the child's log tail if it exits or time runs out. */
export async function waitUntil(what: string, check: () => Promise<boolean>, child: Child, timeoutMs: number): Promise<number> {
  const started = performance.now()
  let exitedWith: number | string | undefined
  void child.exited.then((c) => (exitedWith = c))
  while (performance.now() - started < timeoutMs) {
    if (exitedWith !== undefined) throw new Error(`${what}: the process exited (${exitedWith}) before it was ready:\n${logTail(child.logFile)}`)
    if (await check().catch(() => false)) return performance.now() - started
    await sleep(50)
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms:\n${logTail(child.logFile)}`)
}

export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

export interface Memory {
  readonly rssMiB: number
  /** Peak RSS since the process started (VmHWM). */
  readonly peakMiB: number
}

/** VmRSS and VmHWM of a process (Linux /proc). */
export function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 }
}

/** One POST over HTTPS that verifies the server certificate against the CA. */
export function postReview(port: number, body: string, ca: string, path = '/validate?timeout=10s'): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, method: 'POST', ca, rejectUnauthorized: true, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      },
    )
    req.on('error', reject)
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')))
    req.end(body)
  })
}
