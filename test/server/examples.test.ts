/**
 * examples/reviews/*.json (what the README's curl line sends) against examples/state, over
 * HTTPS: each example's verdict is what its name and examples/reviews/README.md promise.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import jsonpatch, { type Operation } from 'fast-json-patch'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deniedRules, EXAMPLE_REVIEWS, EXAMPLES_STATE, parseAnswer, patchOf, startTestServer, warnedRules, type TestServer } from './helpers.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ statePath: EXAMPLES_STATE })
})
afterAll(async () => {
  await server?.close()
})

const EXPECTED = [
  { file: 'kcp-skip-minor.json', endpoint: 'validate', allowed: false, denied: ['control-plane-minor-step', 'worker-skew'], warned: ['pinned-component-tags'] },
  { file: 'kcp-one-minor.json', endpoint: 'validate', allowed: true, denied: [], warned: ['pinned-component-tags'] },
  { file: 'md-maxsurge-1.json', endpoint: 'validate', allowed: false, denied: ['max-surge-zero'], warned: [] },
  { file: 'md-storage-ahead-of-control-plane.json', endpoint: 'validate', allowed: false, denied: ['workers-follow-control-plane'], warned: [] },
  { file: 'catalog-key-without-v.json', endpoint: 'validate', allowed: false, denied: ['catalog-shape'], warned: [] },
  { file: 'kcp-create-default-surge.json', endpoint: 'mutate', allowed: true, denied: [], warned: ['max-surge-zero'] },
] as const

describe('examples/reviews', () => {
  it('every example file has an expected verdict here', () => {
    expect(readdirSync(EXAMPLE_REVIEWS).filter((f) => f.endsWith('.json')).sort()).toEqual(EXPECTED.map((e) => e.file).sort())
  })

  it.each(EXPECTED)('$file -> /$endpoint: allowed=$allowed', async (row) => {
    const text = readFileSync(join(EXAMPLE_REVIEWS, row.file), 'utf8')
    const answer = parseAnswer(await server.post(`/${row.endpoint}`, text))
    expect(answer.response.uid).toBe((JSON.parse(text) as { request: { uid: string } }).request.uid)
    expect(answer.response.allowed).toBe(row.allowed)
    expect(deniedRules(answer)).toEqual(row.denied)
    expect(warnedRules(answer)).toEqual(row.warned)
  })

  it('kcp-create-default-surge.json: the patch turns the CRD-default maxSurge 1 into 0', async () => {
    const text = readFileSync(join(EXAMPLE_REVIEWS, 'kcp-create-default-surge.json'), 'utf8')
    const review = JSON.parse(text) as { request: { object: { spec: { rolloutStrategy: unknown } } } }
    const answer = parseAnswer(await server.post('/mutate', text))
    const after = jsonpatch.applyPatch(structuredClone(review.request.object), patchOf(answer) as Operation[], true, false).newDocument
    expect(after.spec.rolloutStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 0 } })
  })
})
