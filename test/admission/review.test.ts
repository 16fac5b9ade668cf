import { describe, expect, it } from 'vitest'
import { fitWarnings, review, reviewText } from '../../src/admission/review.js'
import { DEFAULT_POLICY } from '../../src/policy/load.js'
import { MemoryView } from '../../src/state/memory-view.js'

const deps = { policy: DEFAULT_POLICY, view: new MemoryView(DEFAULT_POLICY.catalog) }

describe('fitWarnings', () => {
  it('drops control characters instead of losing the warning', () => {
    expect(fitWarnings(['a\nb\tc'])).toEqual(['a b c'])
  })
  it('deduplicates', () => {
    expect(fitWarnings(['x', 'x'])).toEqual(['x'])
  })
  it('keeps short warnings whole and cuts long ones to 16 x 256 runes once past 4096', () => {
    const long = Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(300, 'é'))
    const out = fitWarnings(long)
    expect(out).toHaveLength(16)
    for (const w of out) expect([...w].length).toBeLessThanOrEqual(256)
    expect(fitWarnings(['y'.padEnd(300, 'y')])[0]).toHaveLength(300)
  })
})

describe('review envelope', () => {
  it('no uid: a 400 outcome, not a response', () => {
    expect(review({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }, 'validate', deps)).toMatchObject({ kind: 'error', statusCode: 400 })
    expect(reviewText('nope', 'validate', deps)).toMatchObject({ kind: 'error', statusCode: 400 })
    expect(review([], 'validate', deps)).toMatchObject({ kind: 'error' })
  })

  it.each([
    { name: 'bad operation', request: { uid: 'u', kind: { version: 'v1', kind: 'X' }, operation: 'PATCH' }, field: 'request.operation' },
    { name: 'object is a list', request: { uid: 'u', kind: { version: 'v1', kind: 'X' }, operation: 'CREATE', object: [] }, field: 'request.object' },
    { name: 'kind missing', request: { uid: 'u', operation: 'CREATE' }, field: 'request.kind' },
  ])('malformed with a uid ($name): a well-formed denial echoing the uid', ({ request, field }) => {
    const out = review({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request }, 'validate', deps)
    expect(out.kind).toBe('response')
    if (out.kind !== 'response') return
    expect(out.body.response.uid).toBe('u')
    expect(out.body.response.allowed).toBe(false)
    expect((out.body.response.status as { message: string }).message).toContain(`[request] ${field}`)
  })

  it('a KCP whose version is a number is denied, not crashed on', () => {
    const object = { apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1', kind: 'KubeadmControlPlane', metadata: { name: 'cp', namespace: 'ns' }, spec: { replicas: 3, version: 1.34, rolloutStrategy: { rollingUpdate: { maxSurge: 0 } }, machineTemplate: { infrastructureRef: { kind: 'BaremetalMachineTemplate' } } } }
    const out = review({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', kind: 'KubeadmControlPlane' }, operation: 'CREATE', object, oldObject: null } }, 'validate', deps)
    expect(out.kind === 'response' && out.body.response.allowed).toBe(false)
    expect(out.kind === 'response' && out.decision?.denied.map((v) => v.rule)).toContain('catalog-key')
  })
})
