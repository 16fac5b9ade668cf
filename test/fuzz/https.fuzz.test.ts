/**
 * Fuzzing the real webhook over HTTPS: buildServer() with a generated certificate, listening on
 * 127.0.0.1 (a random port), requests verified against its CA on a keep-alive agent, like the API
 * server. Fewer runs than test/fuzz/review.fuzz.test.ts: each one is a real TLS round trip through
 * fastify's parser, limits and error handler. The server runs in this process, so the prototype
 * check covers it too. FUZZ_SEED=<n> replays a run.
 */
import { Agent, request } from 'node:https'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  addNoise,
  checkNotPolluted,
  checkResponseBody,
  deniedBases,
  mutatedReview,
  noise,
  oddEnvelope,
  prototypeFingerprint,
  unicodeString,
  validReview,
  viaJson,
  type Json,
} from '../../bench/arbitraries.js'
import { DEFAULT_POLICY } from '../../src/policy/load.js'
import { buildServer, type GuardServer } from '../../src/server/build-server.js'
import { generateCertificates, staticTls } from '../../src/server/certificates.js'
import { staticPolicy } from '../../src/server/policy-source.js'
import { staticState } from '../../src/server/state-source.js'
import { loadFileView } from '../../src/state/file-view.js'

const EXAMPLES = fileURLToPath(new URL('../../examples/state', import.meta.url))
const seed = process.env.FUZZ_SEED === undefined ? {} : { seed: Number(process.env.FUZZ_SEED) }
/** Each request must be answered within 10 s; a busy machine makes fewer runs, never a timed-out test. */
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, ...seed, plugins: [fc.timeout(10_000), fc.interruptAfterTimeLimit(40_000)] })
const LIMIT_MS = 90_000

let app: GuardServer
let port: number
let agent: Agent
let fingerprint: string

interface Answer {
  readonly status: number
  readonly contentType: string
  readonly text: string
}

function post(path: string, body: string | Buffer, contentType = 'application/json'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: POST ${path}`)))
    req.end(body)
  })
}

const uidOf = (body: Json): string | undefined => {
  const r = body !== null && typeof body === 'object' && !Array.isArray(body) && Object.hasOwn(body, 'request') ? body.request : undefined
  const u = r !== null && typeof r === 'object' && !Array.isArray(r) && r !== undefined && Object.hasOwn(r, 'uid') ? r.uid : undefined
  return typeof u === 'string' && u !== '' ? u : undefined
}

/** Every answer: JSON, never a 5xx, never a stack; 200 + well-formed review with a uid, else a 4xx. */
function checkAnswer(a: Answer, uid: string | undefined): void {
  expect(a.status, a.text.slice(0, 300)).toBeLessThan(500)
  expect(a.contentType).toMatch(/^application\/json/)
  expect(a.text).not.toMatch(/\n\s+at .+:\d+:\d+/)
  const parsed: unknown = JSON.parse(a.text)
  if (uid === undefined) {
    expect(a.status).toBeGreaterThanOrEqual(400)
    expect(typeof (parsed as { error?: unknown }).error).toBe('string')
  } else {
    expect(a.status, a.text.slice(0, 300)).toBe(200)
    checkResponseBody(parsed, uid)
  }
}

beforeAll(async () => {
  fingerprint = prototypeFingerprint()
  const certs = await generateCertificates()
  const view = loadFileView([EXAMPLES], DEFAULT_POLICY.catalog).view
  app = await buildServer({ policy: staticPolicy(DEFAULT_POLICY), state: staticState(view, 'files examples/state'), tls: staticTls(certs) })
  await app.listen({ host: '127.0.0.1', port: 0 })
  port = (app.server.address() as AddressInfo).port
  agent = new Agent({ keepAlive: true, maxSockets: 4, ca: certs.caCert, rejectUnauthorized: true })
})

afterAll(async () => {
  agent?.destroy()
  await app?.close()
})

describe('the webhook over HTTPS under fuzzing', () => {
  it('valid and mutated reviews: never 5xx, uid echoed, well-formed AdmissionReview (or 4xx without a uid)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(validReview, mutatedReview, oddEnvelope), fc.constantFrom('/validate?timeout=10s', '/mutate?timeout=10s'), async (body, path) => {
        const wire = viaJson(body as Json)
        checkAnswer(await post(path, JSON.stringify(wire)), uidOf(wire))
        checkNotPolluted(fingerprint)
      }),
      params(300),
    )
  }, LIMIT_MS)

  it('noise on denied requests stays denied over the wire', async () => {
    const bases = deniedBases()
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: bases.length - 1 }), fc.array(noise, { minLength: 1, maxLength: 6 }), async (i, items) => {
        const base = bases[i]
        if (base === undefined) return
        const noisy = viaJson(addNoise(base.review, items))
        const answer = await post('/validate?timeout=10s', JSON.stringify(noisy))
        checkAnswer(answer, uidOf(noisy))
        expect((JSON.parse(answer.text) as { response: { allowed: boolean } }).response.allowed).toBe(false)
        checkNotPolluted(fingerprint)
      }),
      params(150),
    )
  }, LIMIT_MS)

  it('raw bytes: truncated JSON, garbage, other content types get a JSON 4xx, never a 5xx', async () => {
    const rawBody = fc.oneof(
      validReview.chain((r) => fc.nat().map((n) => { const t = JSON.stringify(r); return t.slice(0, n % t.length) })),
      unicodeString(200),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
      fc.constantFrom('', ' ', 'null', '[]', '{}', '"x"', '{"__proto__":{"polluted":"yes"},"request":{"uid":"u"}}', '{"constructor":{"prototype":{"polluted":"yes"}}}'),
    )
    await fc.assert(
      fc.asyncProperty(rawBody, fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/yaml'), async (text, contentType) => {
        const answer = await post('/validate', text, contentType)
        expect(answer.status, answer.text.slice(0, 300)).toBeLessThan(500)
        if (answer.status !== 200) {
          expect(answer.status).toBeGreaterThanOrEqual(400)
          expect(typeof (JSON.parse(answer.text) as { error?: unknown }).error).toBe('string')
        } else {
          checkResponseBody(JSON.parse(answer.text), uidOf(JSON.parse(text) as Json) ?? '')
        }
        checkNotPolluted(fingerprint)
      }),
      params(150),
    )
  }, LIMIT_MS)

  it('is still healthy afterwards and Object.prototype is clean', async () => {
    const health = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
        .on('error', reject)
        .end()
    })
    expect(health).toBe(200)
    checkNotPolluted(fingerprint)
  })
})
