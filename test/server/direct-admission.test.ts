/**
 * The direct path (server/direct-admission) answers the API server's calls without fastify's
 * routing: the same status, headers and bytes as the fastify route for every kind of body, and
 * every request it does not take is answered by fastify exactly as before. A counting onRequest
 * hook tells which path answered.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { request as httpsRequest, Agent } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { IncomingMessage } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadPolicy } from '../../src/policy/load.js'
import { buildServer, type GuardServer } from '../../src/server/build-server.js'
import { staticTls } from '../../src/server/certificates.js'
import { directEndpoint } from '../../src/server/direct-admission.js'
import { ServerMetrics } from '../../src/server/metrics.js'
import { staticPolicy } from '../../src/server/policy-source.js'
import { staticState } from '../../src/server/state-source.js'
import { loadFileView } from '../../src/state/file-view.js'
import { DEFAULT_POLICY_PATH, EXAMPLE_REVIEWS, EXAMPLES_STATE, httpsCall, REFERENCE, testCertificates, waitFor, type HttpResult } from './helpers.js'

const lifecycle = { draining: false }
let app: GuardServer
let port: number
let ca: string
let agent: Agent
let metrics: ServerMetrics
/** Requests fastify routed (its onRequest hook ran). */
let routed = 0

beforeAll(async () => {
  const certs = await testCertificates()
  ca = certs.caCert
  const policy = loadPolicy(DEFAULT_POLICY_PATH)
  metrics = new ServerMetrics({ defaultMetrics: false })
  app = await buildServer({ policy: staticPolicy(policy), state: staticState(loadFileView([EXAMPLES_STATE], policy.catalog).view, 'examples'), tls: staticTls(certs), metrics, lifecycle, limits: { bodyLimit: 64 * 1024 } })
  app.addHook('onRequest', (_request, _reply, done) => {
    routed++
    done()
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  port = (app.server.address() as AddressInfo).port
  agent = new Agent({ ca, keepAlive: true })
})
afterAll(async () => {
  agent?.destroy()
  await app?.close()
})

/** One call, and whether fastify routed it. */
async function call(method: string, path: string, body: string | undefined, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<HttpResult & { viaFastify: boolean }> {
  const before = routed
  const result = await httpsCall({ port, ca, method, path, headers, agent, ...(body !== undefined ? { body } : {}) })
  return { ...result, viaFastify: routed > before }
}

/** What a client sees of an answer, the Date header aside. */
const seen = (r: HttpResult) => {
  const { date: _date, ...headers } = r.headers
  return { status: r.status, headers, body: r.body }
}

const examples = readdirSync(EXAMPLE_REVIEWS).filter((f) => f.endsWith('.json'))
const captured = ['v1beta1', 'v1beta2'].flatMap((dir) => readdirSync(join(REFERENCE, dir)).filter((f) => f.endsWith('.json')).slice(0, 12).map((f) => join(dir, f)))
const bodies: { name: string; text: string }[] = [
  ...examples.map((f) => ({ name: `examples/${f}`, text: readFileSync(join(EXAMPLE_REVIEWS, f), 'utf8') })),
  ...captured.map((f) => ({ name: f, text: readFileSync(join(REFERENCE, f), 'utf8') })),
  { name: 'empty body', text: '' },
  { name: 'invalid JSON', text: '{"request":' },
  { name: 'no uid', text: '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}' },
  { name: 'malformed request (uid, no kind)', text: '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","operation":"UPDATE"}}' },
  { name: 'multi-byte text', text: '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"ü-✓-😀","operation":"CONNECT"}}' },
]

describe('the same answer on both paths', () => {
  it.each(bodies.flatMap((b) => (['validate', 'mutate'] as const).map((endpoint) => ({ ...b, endpoint }))))('$endpoint: $name', async ({ text, endpoint }) => {
    const direct = await call('POST', `/${endpoint}?timeout=10s`, text)
    // A trailing slash is not taken directly: fastify routes it to the same handler.
    const viaFastify = await call('POST', `/${endpoint}/?timeout=10s`, text)
    expect(direct.viaFastify).toBe(false)
    expect(viaFastify.viaFastify).toBe(true)
    expect(seen(direct)).toEqual(seen(viaFastify))
    // And what inject() (fastify, no socket) answers.
    const injected = await app.inject({ method: 'POST', url: `/${endpoint}`, headers: { 'content-type': 'application/json' }, payload: text })
    expect(direct.body).toBe(injected.body)
    expect(direct.status).toBe(injected.statusCode)
    expect(direct.headers['content-type']).toBe(injected.headers['content-type'])
    expect(direct.headers['content-length']).toBe(String(Buffer.byteLength(direct.body)))
  })

  it('counts a decision once, on the same series, whichever path answered', async () => {
    const text = readFileSync(join(EXAMPLE_REVIEWS, 'kcp-skip-minor.json'), 'utf8')
    const count = async () => /upgrade_guard_admission_denials_total\{rule="control-plane-minor-step",kind="KubeadmControlPlane"\} (\d+)/.exec(await metrics.registry.metrics())?.[1]
    const before = Number((await count()) ?? 0)
    await call('POST', '/validate', text)
    expect(Number(await count())).toBe(before + 1)
    await call('POST', '/validate/', text)
    expect(Number(await count())).toBe(before + 2)
  })
})

describe('what the direct path leaves to fastify', () => {
  const review = readFileSync(join(EXAMPLE_REVIEWS, 'kcp-one-minor.json'), 'utf8')

  it.each([
    { name: 'GET', method: 'GET', path: '/validate', headers: {}, status: 405 },
    { name: 'PUT', method: 'PUT', path: '/mutate', headers: { 'content-type': 'application/json' }, status: 405 },
    { name: 'text/plain', method: 'POST', path: '/validate', headers: { 'content-type': 'text/plain' }, status: 415 },
    { name: 'no content type', method: 'POST', path: '/validate', headers: {}, status: 415 },
    { name: 'JSON with another parameter', method: 'POST', path: '/validate', headers: { 'content-type': 'application/json; charset=utf-8; x=1' }, status: 200 },
    { name: 'another path', method: 'POST', path: '/validatex', headers: { 'content-type': 'application/json' }, status: 404 },
  ])('$name → $status from fastify', async ({ method, path, headers, status }) => {
    const r = await call(method, path, method === 'GET' ? undefined : review, headers)
    expect(r.viaFastify).toBe(true)
    expect(r.status).toBe(status)
    expect(JSON.parse(r.body)).toBeTypeOf('object')
  })

  it('a body over the limit → 413 from fastify, the connection closed', async () => {
    const r = await call('POST', '/validate', 'x'.repeat(64 * 1024 + 1))
    expect(r.viaFastify).toBe(true)
    expect(r.status).toBe(413)
    expect(r.headers.connection).toBe('close')
  })

  it('a chunked body (no Content-Length) → fastify, the same answer', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, ca, method: 'POST', path: '/validate', agent: false, headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res: IncomingMessage) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      })
      req.on('error', reject)
      req.write(review.slice(0, 100))
      req.end(review.slice(100))
    })
    const direct = await call('POST', '/validate', review)
    expect(direct.viaFastify).toBe(false)
    expect(answer).toEqual({ status: direct.status, body: direct.body })
  })
})

describe('connection handling', () => {
  it('while draining, direct answers carry Connection: close, as fastify answers do', async () => {
    const review = readFileSync(join(EXAMPLE_REVIEWS, 'kcp-one-minor.json'), 'utf8')
    lifecycle.draining = true
    try {
      const direct = await call('POST', '/validate', review)
      const viaFastify = await call('POST', '/validate/', review)
      expect(direct.viaFastify).toBe(false)
      expect(direct.headers.connection).toBe('close')
      expect(seen(direct)).toEqual(seen(viaFastify))
    } finally {
      lifecycle.draining = false
    }
    const after = await call('POST', '/validate', review)
    expect(after.headers.connection).toBe('keep-alive')
  })

  it('a body cut short (the client went away) is counted as a rejected request, and the server goes on', async () => {
    const rejected = async () => Number(/upgrade_guard_rejected_requests_total\{endpoint="validate",code="400"\} (\d+)/.exec(await metrics.registry.metrics())?.[1] ?? 0)
    const before = await rejected()
    await new Promise<void>((resolve) => {
      const req = httpsRequest({ host: '127.0.0.1', port, ca, method: 'POST', path: '/validate', agent: false, headers: { 'content-type': 'application/json', 'content-length': '5000' } })
      req.on('error', () => resolve())
      req.write('{"apiVersion":', () => setTimeout(() => req.destroy(), 50))
      req.on('close', () => resolve())
    })
    await waitFor(async () => (await rejected()) === before + 1, 5_000, 'the cut body counted')
    const review = readFileSync(join(EXAMPLE_REVIEWS, 'kcp-one-minor.json'), 'utf8')
    expect((await call('POST', '/validate', review)).status).toBe(200)
  })
})

describe('directEndpoint', () => {
  const req = (method: string, url: string, headers: Record<string, string>) => ({ method, url, headers }) as unknown as IncomingMessage
  const json = { 'content-type': 'application/json', 'content-length': '10' }
  it.each([
    { name: 'validate', method: 'POST', url: '/validate', headers: json, expected: 'validate' },
    { name: 'mutate with the API server query', method: 'POST', url: '/mutate?timeout=10s', headers: json, expected: 'mutate' },
    { name: 'charset utf-8, any case', method: 'POST', url: '/validate', headers: { ...json, 'content-type': 'Application/JSON; Charset=UTF-8' }, expected: 'validate' },
    { name: 'at the limit', method: 'POST', url: '/validate', headers: { ...json, 'content-length': '100' }, expected: 'validate' },
    { name: 'over the limit', method: 'POST', url: '/validate', headers: { ...json, 'content-length': '101' }, expected: undefined },
    { name: 'not a number', method: 'POST', url: '/validate', headers: { ...json, 'content-length': 'x' }, expected: undefined },
    { name: 'no length', method: 'POST', url: '/validate', headers: { 'content-type': 'application/json' }, expected: undefined },
    { name: 'chunked', method: 'POST', url: '/validate', headers: { ...json, 'transfer-encoding': 'chunked' }, expected: undefined },
    { name: 'latin1', method: 'POST', url: '/validate', headers: { ...json, 'content-type': 'application/json; charset=latin1' }, expected: undefined },
    { name: 'GET', method: 'GET', url: '/validate', headers: json, expected: undefined },
    { name: 'trailing slash', method: 'POST', url: '/validate/', headers: json, expected: undefined },
    { name: 'longer path', method: 'POST', url: '/validate2', headers: json, expected: undefined },
    { name: 'encoded path', method: 'POST', url: '/valid%61te', headers: json, expected: undefined },
    { name: 'other path', method: 'POST', url: '/healthz', headers: json, expected: undefined },
  ])('$name → $expected', ({ method, url, headers, expected }) => {
    expect(directEndpoint(req(method, url, headers), 100)).toBe(expected)
  })
})
