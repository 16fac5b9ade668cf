/**
 * Every AdmissionReview a real kube-apiserver sent for the kubectl steps in
 * shared/reference/admission-reviews, decided by review() against the matching state.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { applyPatch, type JsonPatchOp } from '../../src/admission/patch.js'
import { review } from '../../src/admission/review.js'
import { loadPolicy } from '../../src/policy/load.js'
import { loadFileView } from '../../src/state/file-view.js'

const REVIEWS = join(import.meta.dirname, '../../../shared/reference/admission-reviews')
const STATE = join(import.meta.dirname, '../fixtures/reference-state')
const policy = loadPolicy()

function load(dir: string, prefix: string): unknown {
  const file = readdirSync(join(REVIEWS, dir)).find((f) => f.startsWith(prefix))
  if (file === undefined) throw new Error(`no ${dir}/${prefix}*`)
  return JSON.parse(readFileSync(join(REVIEWS, dir, file), 'utf8'))
}

function decide(dir: string, prefix: string) {
  const { view } = loadFileView([STATE], policy.catalog)
  const body = load(dir, prefix)
  const endpoint = readdirSync(join(REVIEWS, dir)).find((f) => f.startsWith(prefix))?.includes('-mutate-') ? 'mutate' : 'validate'
  const outcome = review(body, endpoint, { policy, view })
  if (outcome.kind !== 'response') throw new Error('no response')
  return { outcome, body: body as { request: { uid: string; object: unknown } } }
}

// seq per API version: v1beta2 numbers differ after step 24 (its rejected empty rollingUpdate has no validating call).
const VALIDATE_CASES = [
  { name: 'catalog create', v1: '002', v2: '002', allowed: true, rules: [] },
  { name: 'same-named ConfigMap in another namespace is not ours', v1: '004', v2: '004', allowed: true, rules: [] },
  { name: 'KCP create (maxSurge 0, 3 replicas)', v1: '008', v2: '008', allowed: true, rules: [] },
  { name: 'MD create (0/1)', v1: '010', v2: '010', allowed: true, rules: [] },
  { name: 'KCP skips a minor', v1: '012', v2: '012', allowed: false, rules: ['control-plane-minor-step', 'worker-skew'] },
  { name: 'KCP one minor up', v1: '016', v2: '016', allowed: true, rules: [] },
  { name: 'server-side dry run of a skip', v1: '018', v2: '018', allowed: false, rules: ['control-plane-minor-step', 'worker-skew'] },
  { name: 'second bump mid-rollout', v1: '020', v2: '020', allowed: false, rules: ['control-plane-minor-step', 'worker-skew'] },
  { name: 'KCP maxSurge 0 -> 1', v1: '022', v2: '022', allowed: false, rules: ['max-surge-zero'] },
  { name: 'kubectl replace maxSurge 1 -> 0', v1: '024', v2: '024', allowed: true, rules: [] },
  { name: 'rollout strategy removed (CRD default 1 / unset)', v1: '028', v2: '028', allowed: false, rules: ['max-surge-zero'] },
  { name: 'MD workers before the control plane finished', v1: '038', v2: '037', allowed: false, rules: ['workers-follow-control-plane'] },
  { name: 'MD maxSurge "25%"', v1: '040', v2: '039', allowed: false, rules: ['max-surge-zero'] },
  { name: 'server-side apply: metadata-only follow-ups', v1: '046', v2: '047', allowed: true, rules: [] },
  { name: 'catalog: the seed patch adds a key', v1: '050', v2: '051', allowed: true, rules: [] },
  { name: 'catalog: key without the leading v', v1: '052', v2: '053', allowed: false, rules: ['catalog-shape'] },
  { name: 'catalog: removes a key still running', v1: '054', v2: '055', allowed: false, rules: ['catalog-in-use'] },
  { name: 'status subresource', v1: '056', v2: '057', allowed: true, rules: [] },
  { name: 'kubectl scale KCP to 3', v1: '058', v2: '059', allowed: true, rules: [] },
  { name: 'kubectl scale MD', v1: '060', v2: '061', allowed: true, rules: [] },
  { name: 'KCP delete (dry run) is never denied', v1: '062', v2: '063', allowed: true, rules: [] },
  { name: 'MD delete is never denied', v1: '064', v2: '065', allowed: true, rules: [] },
  { name: 'catalog delete while bare-metal objects use it', v1: '066', v2: '067', allowed: false, rules: ['catalog-in-use'] },
]

describe.each(['v1beta1', 'v1beta2'] as const)('captured %s reviews', (dir) => {
  it.each(VALIDATE_CASES)('$name', ({ v1, v2, allowed, rules }) => {
    const { outcome, body } = decide(dir, dir === 'v1beta1' ? v1 : v2)
    expect(outcome.body.response.uid).toBe(body.request.uid)
    expect(outcome.body.apiVersion).toBe('admission.k8s.io/v1')
    expect(outcome.body.response.allowed).toBe(allowed)
    expect([...new Set(outcome.decision?.denied.map((v) => v.rule))]).toEqual(rules)
    if (!allowed) {
      const status = outcome.body.response.status as { code: number; reason: string; message: string; details: { causes: { field: string; reason: string; message: string }[] } }
      expect(status.code).toBe(403)
      expect(status.reason).toBe('Forbidden')
      for (const rule of rules) expect(status.message).toContain(`[${rule}]`)
      expect(status.details.causes.length).toBeGreaterThan(0)
      for (const c of status.details.causes) expect(Object.keys(c).sort()).toEqual(['field', 'message', 'reason'])
    }
  })

  it('maxSurge 1 denial names the field of this API version', () => {
    const { outcome } = decide(dir, '022')
    const field = dir === 'v1beta1' ? 'spec.rolloutStrategy.rollingUpdate.maxSurge' : 'spec.rollout.strategy.rollingUpdate.maxSurge'
    expect(outcome.decision?.denied.map((v) => v.field)).toEqual([field])
  })

  it('KCP create without a strategy: the mutating patch makes it pass validation', () => {
    const mutated = decide(dir, '029')
    const response = mutated.outcome.body.response
    expect(response.patchType).toBe('JSONPatch')
    const patch = JSON.parse(Buffer.from(response.patch ?? '', 'base64').toString()) as JsonPatchOp[]
    const validateBody = load(dir, '030') as { request: { object: unknown } }
    const patched = { ...validateBody, request: { ...validateBody.request, object: applyPatch(validateBody.request.object, patch) } }
    const { view } = loadFileView([STATE], policy.catalog)
    const after = review(patched, 'validate', { policy, view })
    expect(after.kind === 'response' && after.body.response.allowed).toBe(true)
    if (dir === 'v1beta1') expect(response.warnings?.[0]).toContain('[max-surge-zero]')
  })
})

describe('v1beta1 status reset', () => {
  it('the validating call reads the stored status, not the client\'s v9.9.9', () => {
    const { outcome } = decide('v1beta1-status-reset', '004')
    expect(outcome.body.response.allowed).toBe(true)
  })
})

describe('envelope', () => {
  it('answers an admission.k8s.io/v1beta1 review in v1beta1', () => {
    const body = load('v1beta1', '022') as Record<string, unknown>
    const { view } = loadFileView([STATE], policy.catalog)
    const outcome = review({ ...body, apiVersion: 'admission.k8s.io/v1beta1' }, 'validate', { policy, view })
    expect(outcome.kind === 'response' && outcome.body.apiVersion).toBe('admission.k8s.io/v1beta1')
  })
})
