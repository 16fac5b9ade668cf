/**
 * The real server over real HTTPS (a client trusting only the generated CA) answering the
 * AdmissionReviews a kube-apiserver actually sent (shared/reference/admission-reviews), with
 * the state they belong to (test/fixtures/reference-state). Every answer must be byte for byte
 * what `upgrade-guard review` prints for the same input.
 */
import jsonpatch, { type Operation } from 'fast-json-patch'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  DEFAULT_POLICY_PATH,
  deniedRules,
  mapLimit,
  parseAnswer,
  patchOf,
  readReview,
  REFERENCE_STATE,
  requireDist,
  runReviewCliAsync,
  startTestServer,
  warnedRules,
  type TestServer,
} from './helpers.js'

type Dir = 'v1beta1' | 'v1beta2'
type Obj = Record<string, unknown>

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ statePath: REFERENCE_STATE })
})
afterAll(async () => {
  await server?.close()
})

const endpointOf = (file: string): 'validate' | 'mutate' => (file.includes('-mutate-') ? 'mutate' : 'validate')

async function send(dir: Dir, prefix: string, transform?: (review: Obj) => Obj) {
  const { file, text } = readReview(dir, prefix)
  const body = transform === undefined ? text : JSON.stringify(transform(JSON.parse(text) as Obj))
  const answer = parseAnswer(await server.post(`/${endpointOf(file)}?timeout=10s`, body))
  return { answer, review: JSON.parse(body) as { request: { uid: string; object: Obj } } }
}

describe('validating webhook: captured KCP / MD / catalog requests', () => {
  it.each([
    // KubeadmControlPlane
    { dir: 'v1beta1', id: '012', name: 'KCP skips a minor (v1.33.7-2 -> v1.35.6-acp.1)', allowed: false, denied: ['control-plane-minor-step', 'worker-skew'], warned: ['pinned-component-tags'] },
    { dir: 'v1beta2', id: '012', name: 'v1beta2 KCP skips a minor', allowed: false, denied: ['control-plane-minor-step', 'worker-skew'], warned: ['pinned-component-tags'] },
    { dir: 'v1beta1', id: '014', name: 'KCP downgrade', allowed: false, denied: ['control-plane-minor-step'], warned: ['pinned-component-tags'] },
    { dir: 'v1beta1', id: '016', name: 'KCP one minor up: allowed, pinned tags warned', allowed: true, warned: ['pinned-component-tags'] },
    { dir: 'v1beta2', id: '016', name: 'v1beta2 KCP one minor up: allowed, warned', allowed: true, warned: ['pinned-component-tags'] },
    { dir: 'v1beta1', id: '018', name: 'dry run of a skip while a rollout is in flight', allowed: false, denied: ['control-plane-minor-step', 'worker-skew'], warned: ['pinned-component-tags'] },
    { dir: 'v1beta1', id: '020', name: 'second bump while status lags', allowed: false, denied: ['control-plane-minor-step', 'worker-skew'], warned: ['pinned-component-tags'] },
    { dir: 'v1beta1', id: '022', name: 'KCP maxSurge 0 -> 1', allowed: false, denied: ['max-surge-zero'] },
    { dir: 'v1beta2', id: '022', name: 'v1beta2 KCP maxSurge 0 -> 1', allowed: false, denied: ['max-surge-zero'] },
    { dir: 'v1beta1', id: '024', name: 'KCP replace back to maxSurge 0', allowed: true },
    { dir: 'v1beta1', id: '030', name: 'KCP CREATE with the CRD-default maxSurge 1', allowed: false, denied: ['max-surge-zero'] },
    { dir: 'v1beta2', id: '030', name: 'v1beta2 KCP CREATE without a rollout', allowed: false, denied: ['max-surge-zero'] },
    // MachineDeployment
    { dir: 'v1beta1', id: '036', name: 'MD CREATE without a strategy', allowed: false, denied: ['max-surge-zero'] },
    { dir: 'v1beta1', id: '038', name: 'MD ahead of the control plane', allowed: false, denied: ['workers-follow-control-plane'] },
    { dir: 'v1beta2', id: '037', name: 'v1beta2 MD ahead of the control plane', allowed: false, denied: ['workers-follow-control-plane'] },
    { dir: 'v1beta1', id: '040', name: 'MD maxSurge 0 -> "25%"', allowed: false, denied: ['max-surge-zero'] },
    { dir: 'v1beta2', id: '039', name: 'v1beta2 MD maxSurge "25%"', allowed: false, denied: ['max-surge-zero'] },
    { dir: 'v1beta1', id: '044', name: 'server-side apply metadata-only follow-up', allowed: true },
    // catalog ConfigMap
    { dir: 'v1beta1', id: '050', name: 'catalog gains a valid key', allowed: true },
    { dir: 'v1beta1', id: '052', name: 'catalog key without the leading v', allowed: false, denied: ['catalog-shape'] },
    { dir: 'v1beta2', id: '053', name: 'v1beta2 run: catalog key without the leading v', allowed: false, denied: ['catalog-shape'] },
    { dir: 'v1beta1', id: '054', name: 'catalog key in use removed', allowed: false, denied: ['catalog-in-use'] },
    { dir: 'v1beta1', id: '004', name: 'same-named ConfigMap in another namespace', allowed: true },
    // subresources, DELETE
    { dir: 'v1beta1', id: '056', name: 'KCP status subresource', allowed: true },
    { dir: 'v1beta1', id: '058', name: 'KCP scale to 3 (Scale object)', allowed: true },
    { dir: 'v1beta1', id: '062', name: 'KCP DELETE dry run', allowed: true },
    { dir: 'v1beta1', id: '064', name: 'MD DELETE', allowed: true },
  ] as const)('$dir/$id $name', async (row) => {
    const { answer, review } = await send(row.dir, row.id)
    expect(answer.apiVersion).toBe('admission.k8s.io/v1')
    expect(answer.kind).toBe('AdmissionReview')
    expect(answer.response.uid).toBe(review.request.uid)
    expect(answer.response.allowed).toBe(row.allowed)
    if (row.allowed) {
      expect(answer.response.status).toBeUndefined()
    } else {
      expect(answer.response.status?.code).toBe(403)
      expect(answer.response.status?.reason).toBe('Forbidden')
      expect(deniedRules(answer)).toEqual(row.denied)
      for (const cause of answer.response.status?.details?.causes ?? []) {
        expect(cause.field).not.toBe('')
        expect(cause.message).toMatch(/^\[[a-z-]+\] \S+: /)
      }
    }
    expect(warnedRules(answer)).toEqual('warned' in row ? row.warned : [])
    for (const w of answer.response.warnings ?? []) expect(w).not.toMatch(/[\n\t]/)
  })

  it('answers a v1beta1 AdmissionReview envelope in v1beta1', async () => {
    const { answer, review } = await send('v1beta1', '012', (r) => ({ ...r, apiVersion: 'admission.k8s.io/v1beta1' }))
    expect(answer.apiVersion).toBe('admission.k8s.io/v1beta1')
    expect(answer.response.uid).toBe(review.request.uid)
    expect(answer.response.allowed).toBe(false)
    expect(deniedRules(answer)).toContain('control-plane-minor-step')
  })
})

describe('mutating webhook: patches applied to the object give the expected result', () => {
  const applied = (object: Obj, ops: unknown[]): Obj => jsonpatch.applyPatch(structuredClone(object), ops as Operation[], true, false).newDocument

  it.each([
    {
      dir: 'v1beta1',
      id: '029',
      name: 'v1beta1 KCP CREATE with the CRD default maxSurge 1 -> 0, with a warning',
      path: ['spec', 'rolloutStrategy'],
      expected: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0 } },
      warned: ['max-surge-zero'],
    },
    { dir: 'v1beta1', id: '031', name: 'KCP strategy type only -> maxSurge 0 added', path: ['spec', 'rolloutStrategy'], expected: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0 } }, warned: ['max-surge-zero'] },
    { dir: 'v1beta1', id: '033', name: 'KCP rollingUpdate {} -> maxSurge 0 inside', path: ['spec', 'rolloutStrategy', 'rollingUpdate'], expected: { maxSurge: 0 }, warned: ['max-surge-zero'] },
    { dir: 'v1beta1', id: '035', name: 'MD CREATE without a strategy -> maxSurge 0, maxUnavailable 1', path: ['spec', 'strategy'], expected: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } }, warned: ['max-surge-zero'] },
    { dir: 'v1beta2', id: '029', name: 'v1beta2 KCP CREATE without a rollout -> rollout.strategy added whole', path: ['spec', 'rollout'], expected: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0 } } }, warned: ['max-surge-zero'] },
    { dir: 'v1beta2', id: '034', name: 'v1beta2 MD CREATE without a rollout', path: ['spec', 'rollout'], expected: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } }, warned: ['max-surge-zero'] },
    // SPEC Round 2 "Messages": every defaulting says so (one [max-surge-zero] warning).
  ] as const)('$dir/$id $name', async (row) => {
    const { answer, review } = await send(row.dir, row.id)
    expect(answer.response.allowed).toBe(true)
    expect(answer.response.uid).toBe(review.request.uid)
    expect(answer.response.patchType).toBe('JSONPatch')
    const result = applied(review.request.object, patchOf(answer))
    let at: unknown = result
    for (const key of row.path) at = (at as Obj)[key]
    expect(at).toEqual(row.expected)
    // Nothing but the strategy changed.
    const { spec: specAfter, ...restAfter } = result
    const { spec: specBefore, ...restBefore } = review.request.object
    expect(restAfter).toEqual(restBefore)
    expect(Object.keys(specAfter as Obj).sort()).toEqual([...new Set([...Object.keys(specBefore as Obj), row.path[1]])].sort())
    expect(warnedRules(answer)).toEqual(row.warned)
  })

  it('the validating partner then allows the mutated object (mutate -> validate, as the API server chains them)', async () => {
    const m = await send('v1beta1', '029')
    const mutated = applied(m.review.request.object, patchOf(m.answer))
    const v = await send('v1beta1', '030', (r) => {
      const request = r.request as Obj
      return { ...r, request: { ...request, object: { ...(request.object as Obj), spec: (mutated as { spec: unknown }).spec } } }
    })
    expect(v.answer.response.allowed).toBe(true)
  })

  it.each([
    { dir: 'v1beta1', id: '011', name: 'KCP version change: nothing to default' },
    { dir: 'v1beta1', id: '021', name: 'explicit unsafe maxSurge 1 is not rewritten (validation rejects it)' },
    { dir: 'v1beta1', id: '049', name: 'catalog edit' },
    { dir: 'v1beta1', id: '057', name: 'Scale object' },
    { dir: 'v1beta1', id: '063', name: 'DELETE' },
  ] as const)('$dir/$id $name: allowed without a patch', async (row) => {
    const { answer } = await send(row.dir, row.id)
    expect(answer.response.allowed).toBe(true)
    expect(answer.response.patch).toBeUndefined()
    expect(answer.response.patchType).toBeUndefined()
  })
})

describe('one code path: the HTTP body is byte for byte what `upgrade-guard review` prints', () => {
  beforeAll(() => requireDist())
  // Every kind of answer: denial, warning, patch, CRD-default rewrite, catalog, Scale, DELETE, both API levels.
  // (Each CLI run is a fresh node process, ~1 s of CPU: a representative set, not all 133.)
  const picked: readonly { dir: Dir; id: string }[] = [
    ...['012', '016', '022', '029', '031', '035', '040', '052', '054', '058', '062'].map((id) => ({ dir: 'v1beta1' as const, id })),
    ...['012', '029', '037', '053'].map((id) => ({ dir: 'v1beta2' as const, id })),
  ]

  it(`${picked.length} captured requests`, { timeout: 180_000 }, async () => {
    const mismatches = await mapLimit(picked, 4, async ({ dir, id }) => {
      const { file, text } = readReview(dir, id)
      const endpoint = endpointOf(file)
      const [http, cli] = await Promise.all([
        server.post(`/${endpoint}?timeout=10s`, text),
        runReviewCliAsync(text, ['--state', REFERENCE_STATE, '--policy', DEFAULT_POLICY_PATH, ...(endpoint === 'mutate' ? ['--mutate'] : [])]),
      ])
      if (cli.code !== 0) return `${dir}/${id}: CLI exit ${cli.code}: ${cli.stderr.split('\n')[0]}`
      if (http.status !== 200) return `${dir}/${id}: HTTP ${http.status}`
      return http.body === cli.stdout ? undefined : `${dir}/${id}: bodies differ`
    })
    expect(mismatches.filter((m) => m !== undefined)).toEqual([])
  })
})
