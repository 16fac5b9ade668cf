/**
 * Bad input over real HTTPS: every answer is a clear 4xx with a JSON `{error}` body, or a
 * well-formed AdmissionReview (200, uid echoed); never a 5xx, a stack trace, a hang or a crash.
 * The server is still healthy afterwards.
 */
import { connect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpsCall, parseAnswer, readReview, REFERENCE_STATE, startTestServer, type HttpResult, type TestServer } from './helpers.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ statePath: REFERENCE_STATE })
})
afterAll(async () => {
  await server?.close()
})

type Obj = Record<string, unknown>
const base = JSON.parse(readReview('v1beta1', '016').text) as { apiVersion: string; kind: string; request: Obj & { uid: string; object: Obj & { spec: Obj; metadata: Obj } } }
const UID = base.request.uid
const edit = (f: (b: typeof base) => void): string => {
  const b = structuredClone(base)
  f(b)
  return JSON.stringify(b)
}

/** No stack frames, no HTML, short. */
function expectCleanError(r: HttpResult, status: number, message: RegExp): void {
  expect(r.status).toBe(status)
  expect(r.headers['content-type']).toMatch(/^application\/json/)
  const body = JSON.parse(r.body) as { error: string }
  expect(Object.keys(body)).toEqual(['error'])
  expect(body.error).toMatch(message)
  expect(r.body).not.toMatch(/\bat .+:\d+:\d+|node_modules|\/work\//)
}

const json = { 'content-type': 'application/json' }

describe('no AdmissionReview to answer: 4xx with a JSON error', () => {
  it.each([
    { name: 'empty body', body: '', headers: json, status: 400, message: /empty body/ },
    { name: 'whitespace body', body: '  \n ', headers: json, status: 400, message: /empty body/ },
    { name: 'empty body without a content type', body: '', headers: {}, status: 400, message: /empty body/ },
    { name: 'invalid JSON', body: '{"apiVersion": "admission.k8s.io/v1", "kind":', headers: json, status: 400, message: /invalid JSON/ },
    { name: 'JSON that is not an AdmissionReview (object)', body: '{"hello":"world"}', headers: json, status: 400, message: /not an AdmissionReview: request.uid is missing/ },
    { name: 'JSON array', body: '[1,2,3]', headers: json, status: 400, message: /not an AdmissionReview/ },
    { name: 'JSON string', body: '"AdmissionReview"', headers: json, status: 400, message: /not an AdmissionReview/ },
    { name: 'JSON null', body: 'null', headers: json, status: 400, message: /not an AdmissionReview/ },
    { name: 'missing uid', body: edit((b) => delete (b.request as Obj).uid), headers: json, status: 400, message: /request.uid is missing/ },
    { name: 'uid is a number', body: edit((b) => ((b.request as Obj).uid = 42)), headers: json, status: 400, message: /request.uid is missing/ },
    { name: 'request is a list', body: JSON.stringify({ ...base, request: [base.request] }), headers: json, status: 400, message: /request.uid is missing/ },
    { name: 'text/plain', body: JSON.stringify(base), headers: { 'content-type': 'text/plain' }, status: 415, message: /unsupported content type "text\/plain": send an AdmissionReview as application\/json/ },
    { name: 'YAML', body: 'apiVersion: admission.k8s.io/v1\n', headers: { 'content-type': 'application/yaml' }, status: 415, message: /unsupported content type/ },
    { name: 'form', body: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, message: /unsupported content type/ },
    { name: 'a body without a content type', body: JSON.stringify(base), headers: {}, status: 415, message: /unsupported content type \(none\)/ },
  ])('$name -> $status', async ({ body, headers, status, message }) => {
    expectCleanError(await server.post('/validate?timeout=10s', body, headers), status, message)
  })

  it('a 10 MiB body -> 413, the limit named', async () => {
    const big = JSON.stringify({ ...base, padding: 'x'.repeat(10 * 1024 * 1024) })
    expectCleanError(await server.post('/validate', big), 413, /larger than 3145728 bytes/)
  })

  it('a body just under 3 MiB is still answered', async () => {
    const padded = edit((b) => ((b.request.object.metadata.annotations as Obj)['example.com/padding'] = 'x'.repeat(3 * 1024 * 1024 - 20_000)))
    expect(Buffer.byteLength(padded)).toBeLessThan(3 * 1024 * 1024)
    const answer = parseAnswer(await server.post('/validate', padded))
    expect(answer.response.uid).toBe(UID)
  })

  it('unknown path -> 404 JSON, wrong method -> 405 JSON with Allow', async () => {
    expectCleanError(await server.post('/validate-me', JSON.stringify(base)), 404, /no such path: \/validate-me/)
    expectCleanError(await server.get('/'), 404, /no such path/)
    const get = await server.get('/validate?timeout=10s')
    expectCleanError(get, 405, /method GET is not allowed on \/validate; use POST/)
    expect(get.headers.allow).toBe('POST')
    const put = await httpsCall({ port: server.port, ca: server.ca, method: 'PUT', path: '/mutate' })
    expectCleanError(put, 405, /not allowed/)
    expectCleanError(await server.post('/healthz', '{}'), 405, /use GET/)
  })
})

describe('an AdmissionReview with a uid: always a well-formed answer', () => {
  const cases = [
    { name: 'missing object on UPDATE', body: edit((b) => delete (b.request as Obj).object), allowed: false },
    { name: 'object null on UPDATE', body: edit((b) => ((b.request as Obj).object = null)), allowed: false },
    { name: 'a number where the version string belongs', body: edit((b) => (b.request.object.spec.version = 1.34)), allowed: false },
    { name: 'a list where the rollout strategy object belongs', body: edit((b) => (b.request.object.spec.rolloutStrategy = [{ maxSurge: 0 }])), allowed: false },
    { name: 'an object where maxSurge belongs', body: edit((b) => (((b.request.object.spec.rolloutStrategy as Obj).rollingUpdate as Obj).maxSurge = { value: 1 })), allowed: false },
    { name: 'a list where the object belongs', body: edit((b) => ((b.request as Obj).object = [])), allowed: false },
    { name: 'a string where request.kind belongs', body: edit((b) => ((b.request as Obj).kind = 'KubeadmControlPlane')), allowed: false },
    { name: 'an unknown operation', body: edit((b) => ((b.request as Obj).operation = 'PATCH')), allowed: false },
    { name: 'a string where userInfo belongs', body: edit((b) => ((b.request as Obj).userInfo = 'admin')), allowed: false },
    // Unreadable labels lose the cluster-name label, but the Cluster's controlPlaneRef still ties
    // the KCP to its cluster, so this legal one-minor bump is judged (and allowed) all the same.
    { name: 'a list where labels belong', body: edit((b) => (b.request.object.metadata.labels = ['cluster.x-k8s.io/cluster-name'])), allowed: true },
    {
      name: 'an unknown kind (a Pod)',
      body: edit((b) => {
        const r = b.request as Obj
        r.kind = { group: '', version: 'v1', kind: 'Pod' }
        r.resource = { group: '', version: 'v1', resource: 'pods' }
        r.object = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [] } }
        r.oldObject = null
        r.operation = 'CREATE'
      }),
      allowed: true,
    },
    { name: 'deeply nested JSON in the object', body: edit((b) => (b.request.object.spec.extra = 'DEEP')).replace('"DEEP"', `${'['.repeat(100_000)}1${']'.repeat(100_000)}`), allowed: undefined },
  ]
  it.each(cases)('$name', async ({ body, allowed }) => {
    for (const endpoint of ['validate', 'mutate']) {
      const answer = parseAnswer(await server.post(`/${endpoint}?timeout=10s`, body))
      expect(answer.apiVersion).toBe('admission.k8s.io/v1')
      expect(answer.kind).toBe('AdmissionReview')
      expect(answer.response.uid).toBe(UID)
      expect(typeof answer.response.allowed).toBe('boolean')
      if (endpoint === 'validate' && allowed !== undefined) expect(answer.response.allowed).toBe(allowed)
      if (!answer.response.allowed) {
        expect(answer.response.status?.message).toMatch(/^\[[a-z-]+\] /)
        expect([400, 403]).toContain(answer.response.status?.code)
      }
    }
  })

  it('charset parameter and a trailing slash are fine', async () => {
    const r = await server.post('/validate/?timeout=10s', JSON.stringify(base), { 'content-type': 'application/json; charset=utf-8' })
    expect(parseAnswer(r).response.uid).toBe(UID)
  })
})

describe('TLS', () => {
  const handshake = (minVersion: 'TLSv1' | 'TLSv1.2' | 'TLSv1.3', maxVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3') =>
    new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: server.port, ca: server.ca, minVersion, maxVersion, ciphers: 'DEFAULT:@SECLEVEL=0' }, () => {
        resolve(socket.getProtocol() ?? '')
        socket.end()
      })
      socket.on('error', reject)
    })

  it('TLS 1.2 and 1.3 are served; 1.0 and 1.1 are refused by the server', async () => {
    expect(await handshake('TLSv1', 'TLSv1.2')).toBe('TLSv1.2')
    expect(await handshake('TLSv1.3', 'TLSv1.3')).toBe('TLSv1.3')
    await expect(handshake('TLSv1', 'TLSv1.1')).rejects.toThrow(/alert protocol version/)
    await expect(handshake('TLSv1', 'TLSv1')).rejects.toThrow(/alert protocol version/)
  })
})

describe('afterwards', () => {
  it('the server is still healthy and still decides', async () => {
    const health = await server.get('/healthz')
    expect(health.status).toBe(200)
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' })
    expect((await server.get('/readyz')).status).toBe(200)
    expect(parseAnswer(await server.post('/validate', readReview('v1beta1', '022').text)).response.allowed).toBe(false)
  })

  it('rejected requests are counted by code', async () => {
    const text = await server.metrics.registry.getSingleMetricAsString('upgrade_guard_rejected_requests_total')
    expect(text).toMatch(/upgrade_guard_rejected_requests_total\{endpoint="validate",code="400"\} \d+/)
    expect(text).toMatch(/code="413"\} 1/)
    expect(text).toMatch(/code="415"\} \d+/)
  })
})
