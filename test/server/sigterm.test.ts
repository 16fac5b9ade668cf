/**
 * SIGTERM during load, on the real CLI process: requests whose bodies are still arriving when
 * the signal comes are all answered 200 (with `Connection: close`), new connections are refused,
 * and the process exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { Agent, request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, httpsCall, killChild, readReview, REFERENCE_STATE, requireDist, ROOT, waitFor } from './helpers.js'

interface Started {
  readonly child: ChildProcess
  readonly port: number
  readonly ca: string
  readonly stdout: () => string
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

let dir: string
let running: Started | undefined

async function startCli(): Promise<Started> {
  const caFile = join(dir, 'ca.crt')
  const child = spawn(process.execPath, [CLI, 'serve', '--self-signed', '--ca-out', caFile, '--state', REFERENCE_STATE, '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--log-level', 'info'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()))
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  await waitFor(() => out.includes('"msg":"upgrade-guard webhook listening"') || child.exitCode !== null, 30_000, `the server to listen (stderr: ${err})`)
  const line = out.split('\n').find((l) => l.includes('"msg":"upgrade-guard webhook listening"'))
  if (line === undefined) throw new Error(`no listening line; stdout: ${out}; stderr: ${err}`)
  const port = (JSON.parse(line) as { port: number }).port
  return { child, port, ca: readFileSync(caFile, 'utf8'), stdout: () => out, exit }
}

beforeAll(() => {
  requireDist()
  dir = mkdtempSync(join(tmpdir(), 'ug-sigterm-'))
})
afterAll(() => {
  killChild(running?.child)
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

interface SlowResult {
  readonly status: number
  readonly connection: string | undefined
  readonly body: string
}

/** Sends headers and half the body now, the rest when `finish()` is called. */
function slowRequest(port: number, agent: Agent, body: string): { finish: () => void; result: Promise<SlowResult> } {
  const half = Math.floor(body.length / 2)
  let finish = (): void => undefined
  const result = new Promise<SlowResult>((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, method: 'POST', path: '/validate?timeout=10s', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        let text = ''
        res.on('data', (c: Buffer) => (text += c.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }))
      },
    )
    req.on('error', reject)
    req.write(body.slice(0, half))
    finish = () => req.end(body.slice(half))
  })
  return { finish: () => finish(), result }
}

describe('SIGTERM during load', () => {
  it('answers every in-flight request with 200, refuses new connections, exits 0', { timeout: 90_000 }, async () => {
    running = await startCli()
    const { port, ca } = running
    const agent = new Agent({ ca, keepAlive: true, maxSockets: 64 })
    const review = readReview('v1beta1', '016').text
    try {
      // Warm the keep-alive pool: these connections sit idle when the signal comes.
      const warm = await Promise.all(Array.from({ length: 8 }, () => httpsCall({ port, ca, method: 'POST', path: '/validate', body: review, headers: { 'content-type': 'application/json' }, agent })))
      expect(warm.every((r) => r.status === 200)).toBe(true)

      const N = 24
      const inflight = Array.from({ length: N }, () => slowRequest(port, agent, review))
      await new Promise((r) => setTimeout(r, 500)) // headers and half of every body are at the server
      running.child.kill('SIGTERM')
      await new Promise((r) => setTimeout(r, 400))

      // The listener is closed: a new connection is refused.
      await expect(httpsCall({ port, ca, method: 'GET', path: '/healthz', agent: false, timeoutMs: 3_000 })).rejects.toThrow(/ECONNREFUSED|ECONNRESET|socket hang up/)

      for (const r of inflight) r.finish()
      const results = await Promise.all(inflight.map((r) => r.result))
      expect(results.map((r) => r.status)).toEqual(Array.from({ length: N }, () => 200))
      for (const r of results) {
        expect(JSON.parse(r.body)).toMatchObject({ kind: 'AdmissionReview', response: { allowed: true } })
        expect(r.connection).toBe('close')
      }
      const exit = await Promise.race([running.exit, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no exit within 20 s')), 20_000))])
      expect(exit).toEqual({ code: 0, signal: null })
      expect(running.stdout()).toMatch(/"clean":true,"msg":"stopped"/)
    } finally {
      agent.destroy()
      killChild(running.child)
    }
  })
})
