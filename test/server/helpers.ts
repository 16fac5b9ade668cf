/**
 * @module test/server/helpers
 * End-to-end plumbing for the server tests: a CA and serving certificate from `selfsigned`, the
 * real server (buildServer + listen on 127.0.0.1:0) and an HTTPS client that trusts ONLY that
 * CA. Every helper returns something to close; tests close it in afterAll/finally.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { Agent, request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { PeerCertificate, TLSSocket } from 'node:tls'
import { expect } from 'vitest'
import { silentLogger, type Logger } from '../../src/log.js'
import { loadPolicy } from '../../src/policy/load.js'
import type { Policy } from '../../src/policy/types.js'
import { buildServer, type GuardServer, type ServerLimits } from '../../src/server/build-server.js'
import { generateCertificates, staticTls, type GeneratedCertificates, type TlsSource } from '../../src/server/certificates.js'
import { ServerMetrics } from '../../src/server/metrics.js'
import { staticPolicy, type PolicyProvider } from '../../src/server/policy-source.js'
import { staticState, type StateSource } from '../../src/server/state-source.js'
import { loadFileView } from '../../src/state/file-view.js'

export const ROOT = join(import.meta.dirname, '../..')
export const CLI = join(ROOT, 'dist/cli/main.js')
export const REFERENCE = join(ROOT, '../shared/reference/admission-reviews')
export const REFERENCE_STATE = join(ROOT, 'test/fixtures/reference-state')
export const EXAMPLES_STATE = join(ROOT, 'examples/state')
export const EXAMPLE_REVIEWS = join(ROOT, 'examples/reviews')
export const DEFAULT_POLICY_PATH = join(ROOT, 'policies/default.yaml')

/** dist/ is built by `npm test` (tsc) before vitest; say so plainly when it is missing. */
export function requireDist(): void {
  if (!existsSync(join(ROOT, 'dist/server/run.js'))) throw new Error('dist/ is not built: run `npx tsc -p tsconfig.json` (npm test does) before these tests')
}

export function readReview(dir: 'v1beta1' | 'v1beta2', prefix: string): { file: string; text: string } {
  const name = readdirSync(join(REFERENCE, dir)).find((f) => f.startsWith(`${prefix}-`))
  if (name === undefined) throw new Error(`no captured review ${dir}/${prefix}-*`)
  const file = join(REFERENCE, dir, name)
  return { file, text: readFileSync(file, 'utf8') }
}

export interface TestServer {
  readonly app: GuardServer
  readonly port: number
  readonly ca: string
  readonly agent: Agent
  readonly metrics: ServerMetrics
  post(path: string, body: string | Buffer, headers?: Record<string, string>): Promise<HttpResult>
  get(path: string): Promise<HttpResult>
  close(): Promise<void>
}

export interface HttpResult {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
  readonly peerCertificate?: PeerCertificate
}

export interface RequestOptions {
  readonly port: number
  readonly ca: string
  readonly method: string
  readonly path: string
  readonly body?: string | Buffer
  readonly headers?: Record<string, string>
  readonly agent?: Agent | false
  readonly timeoutMs?: number
}

/** One HTTPS request, trusting only `ca`. Resolves with the answer (a write error after the answer is ignored). */
export function httpsCall(options: RequestOptions): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    let settled = false
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: options.port,
        method: options.method,
        path: options.path,
        ca: options.ca,
        agent: options.agent ?? false,
        headers: { ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}), ...options.headers },
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = []
        const peerCertificate = (res.socket as TLSSocket).getPeerCertificate?.()
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          settled = true
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ...(peerCertificate !== undefined ? { peerCertificate } : {}) })
        })
        res.on('error', (e) => !settled && reject(e))
      },
    )
    req.on('timeout', () => req.destroy(new Error('client timeout')))
    req.on('error', (e) => {
      if (!settled) reject(e)
    })
    if (options.body !== undefined) req.end(options.body)
    else req.end()
  })
}

export interface StartOptions {
  readonly statePath?: string
  readonly policy?: Policy | PolicyProvider
  readonly state?: StateSource
  readonly tls?: TlsSource
  readonly certs?: GeneratedCertificates
  readonly limits?: Partial<ServerLimits>
  readonly logger?: Logger
}

let sharedCerts: Promise<GeneratedCertificates> | undefined
/** One CA + serving certificate per test file (generation takes ~50 ms). */
export function testCertificates(): Promise<GeneratedCertificates> {
  sharedCerts ??= generateCertificates(['localhost', '127.0.0.1'])
  return sharedCerts
}

export async function startTestServer(options: StartOptions = {}): Promise<TestServer> {
  const certs = options.certs ?? (await testCertificates())
  const policyValue = options.policy ?? loadPolicy(DEFAULT_POLICY_PATH)
  const policy: PolicyProvider = 'current' in policyValue ? policyValue : staticPolicy(policyValue)
  const state = options.state ?? staticState(loadFileView([options.statePath ?? REFERENCE_STATE], policy.current().catalog).view, 'test files')
  const tls = options.tls ?? staticTls(certs)
  const metrics = new ServerMetrics({ defaultMetrics: false })
  const app = await buildServer({ policy, state, tls, metrics, logger: options.logger ?? silentLogger(), ...(options.limits !== undefined ? { limits: options.limits } : {}) })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as AddressInfo).port
  const agent = new Agent({ ca: certs.caCert, keepAlive: true, maxSockets: 16 })
  return {
    app,
    port,
    ca: certs.caCert,
    agent,
    metrics,
    post: (path, body, headers = { 'content-type': 'application/json' }) => httpsCall({ port, ca: certs.caCert, method: 'POST', path, body, headers, agent }),
    get: (path) => httpsCall({ port, ca: certs.caCert, method: 'GET', path, agent }),
    close: async () => {
      agent.destroy()
      await app.close()
    },
  }
}

export interface AdmissionAnswer {
  readonly apiVersion: string
  readonly kind: string
  readonly response: {
    readonly uid: string
    readonly allowed: boolean
    readonly status?: { readonly code: number; readonly reason: string; readonly message: string; readonly details?: { readonly causes?: readonly { readonly field: string; readonly message: string; readonly reason: string }[] } }
    readonly warnings?: readonly string[]
    readonly patchType?: string
    readonly patch?: string
  }
}

export function parseAnswer(result: HttpResult): AdmissionAnswer {
  expect(result.status).toBe(200)
  expect(result.headers['content-type']).toMatch(/^application\/json/)
  return JSON.parse(result.body) as AdmissionAnswer
}

/** Rule ids of the causes of a denial, in order. */
export const deniedRules = (a: AdmissionAnswer): string[] => [...new Set((a.response.status?.details?.causes ?? []).map((c) => /^\[([^\]]+)\]/.exec(c.message)?.[1] ?? '?'))]
export const warnedRules = (a: AdmissionAnswer): string[] => [...new Set((a.response.warnings ?? []).map((w) => /^\[([^\]]+)\]/.exec(w)?.[1] ?? '?'))]
export const patchOf = (a: AdmissionAnswer): unknown[] => (a.response.patch === undefined ? [] : (JSON.parse(Buffer.from(a.response.patch, 'base64').toString('utf8')) as unknown[]))

/** `upgrade-guard review` as a process: its stdout is the reference bytes. */
export function runReviewCli(input: string, args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'review', ...args], { input, encoding: 'utf8', cwd: ROOT, timeout: 20_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Same, without blocking the event loop (many in parallel). */
export function runReviewCliAsync(input: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'review', ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') })
    })
    child.stdin.end(input)
  })
}

/** Runs `fn` over items with at most `limit` at a time. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i] as T)
      }
    }),
  )
  return out
}

/** Waits until `check` returns true (polling), or fails after timeoutMs. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

/** Kills a child process we started if it is still running. */
export function killChild(child: ChildProcess | undefined): void {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
}
