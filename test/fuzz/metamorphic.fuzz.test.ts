/**
 * The metamorphic property of decision integrity, small-run (`npm run fuzz` runs it 100,000
 * times): on every request the engine denies, bending only non-authoritative fields — labels,
 * ownerReferences, an MD's spec.clusterName in an UPDATE, object.kind / apiVersion, an object
 * added to a DELETE, oldObject dropped, an unparseable copy of a version next to a valid one —
 * never turns the denial into an allow. FUZZ_SEED=<n> replays a run.
 */
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import type { ReviewDeps } from '../../src/admission/review.js'
import { checkNotPolluted, checkReview, checkStillDenied, prototypeFingerprint, viaJson } from '../../bench/arbitraries.js'
import { applyBends, bends, metamorphicBases, metamorphicDeps, type Bend } from '../../bench/metamorphic.js'
import { DEFAULT_POLICY } from '../../src/policy/load.js'
import { loadFileView } from '../../src/state/file-view.js'

const EXAMPLES = fileURLToPath(new URL('../../examples/state', import.meta.url))
const seed = process.env.FUZZ_SEED === undefined ? {} : { seed: Number(process.env.FUZZ_SEED) }
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, ...seed, plugins: [fc.interruptAfterTimeLimit(20_000)] })
const LIMIT_MS = 60_000

let deps: ReviewDeps
let fingerprint: string

beforeAll(() => {
  fingerprint = prototypeFingerprint()
  deps = metamorphicDeps(loadFileView([EXAMPLES], DEFAULT_POLICY.catalog).view, DEFAULT_POLICY)
})

describe('bending non-authoritative fields never turns a denial into an allow', () => {
  for (const base of metamorphicBases()) {
    it(`${base.name} (${base.rule})`, () => {
      const outcome = checkReview(viaJson(base.review), 'validate', deps)
      // The base really is denied, by the rule it is about.
      expect(outcome.kind === 'response' && outcome.decision?.denied.map((v) => v.rule)).toContain(base.rule)
      fc.assert(
        fc.property(bends, (items) => {
          checkStillDenied(base.review, applyBends(base.review, items), deps)
          checkNotPolluted(fingerprint)
        }),
        params(150),
      )
    }, LIMIT_MS)
  }

  it('each kind of bend, alone, on each base (exhaustive over the picks that matter)', () => {
    const ops: Bend['op'][] = ['label', 'owner', 'clusterName', 'kind', 'apiVersion', 'deleteObject', 'dropOld', 'oddVersion']
    for (const base of metamorphicBases()) {
      for (const op of ops) {
        for (let pick = 0; pick < 10; pick++) {
          for (let which = 0; which < 3; which++) checkStillDenied(base.review, applyBends(base.review, [{ op, which, pick }]), deps)
        }
      }
    }
  }, LIMIT_MS)

  it('a bend is not a no-op: relabelling really changes the object the request carries', () => {
    const [base] = metamorphicBases().filter((b) => b.rule === 'worker-skew')
    if (base === undefined) throw new Error('no worker-skew base')
    const bent = applyBends(base.review, [{ op: 'label', which: 0, pick: 1 }]) as { request: { object: { metadata: { labels: Record<string, string> } } } }
    expect(bent.request.object.metadata.labels['cluster.x-k8s.io/cluster-name']).toBe('decoy')
  })
})
