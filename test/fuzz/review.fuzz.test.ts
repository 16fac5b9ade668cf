/**
 * Fuzzing review() (the code path the webhook and `upgrade-guard review` share) with fast-check:
 * valid AdmissionReviews built from real request shapes, structurally mutated ones, odd envelopes,
 * and noise on requests that must stay denied. `npm run fuzz` runs the same properties 100,000 times.
 * FUZZ_SEED=<n> replays a run.
 */
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import type { ReviewDeps } from '../../src/admission/review.js'
import {
  addNoise,
  checkNotPolluted,
  checkReview,
  checkStillDenied,
  deniedBases,
  mutatedReview,
  noise,
  oddEnvelope,
  prototypeFingerprint,
  validReview,
  viaJson,
} from '../../bench/arbitraries.js'
import { DEFAULT_POLICY } from '../../src/policy/load.js'
import { loadFileView } from '../../src/state/file-view.js'
import { MemoryView } from '../../src/state/memory-view.js'

const EXAMPLES = fileURLToPath(new URL('../../examples/state', import.meta.url))
const seed = process.env.FUZZ_SEED === undefined ? {} : { seed: Number(process.env.FUZZ_SEED) }
/** A busy machine (other suites run in parallel) makes fewer runs, never a timed-out test. */
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, ...seed, plugins: [fc.interruptAfterTimeLimit(20_000)] })
const LIMIT_MS = 60_000

let deps: ReviewDeps
let unavailable: ReviewDeps
let fingerprint: string

beforeAll(() => {
  fingerprint = prototypeFingerprint()
  deps = { policy: DEFAULT_POLICY, view: loadFileView([EXAMPLES], DEFAULT_POLICY.catalog).view }
  unavailable = { policy: DEFAULT_POLICY, view: new MemoryView(DEFAULT_POLICY.catalog, { available: false, reason: 'informers not synced' }) }
})

describe('review() under fuzzing', () => {
  it('valid reviews: never throws, echoes the uid, answers a well-formed AdmissionReview (validate and mutate)', () => {
    fc.assert(
      fc.property(validReview, (body) => {
        const wire = viaJson(body)
        checkReview(wire, 'validate', deps)
        checkReview(wire, 'mutate', deps)
        checkNotPolluted(fingerprint)
      }),
      params(1500),
    )
  }, LIMIT_MS)

  it('mutated reviews (wrong types, missing fields, huge strings, odd versions, unicode, __proto__ keys)', () => {
    fc.assert(
      fc.property(mutatedReview, fc.constantFrom<'validate' | 'mutate'>('validate', 'mutate'), (body, endpoint) => {
        checkReview(viaJson(body), endpoint, deps)
        checkNotPolluted(fingerprint)
      }),
      params(2000),
    )
  }, LIMIT_MS)

  it('odd envelopes: 400 without a uid, else a well-formed answer', () => {
    fc.assert(
      fc.property(oddEnvelope, (body) => {
        checkReview(viaJson(body), 'validate', deps)
        checkNotPolluted(fingerprint)
      }),
      params(800),
    )
  }, LIMIT_MS)

  it('with the state view unavailable (fail closed), mutated reviews still get a well-formed answer', () => {
    fc.assert(
      fc.property(fc.oneof(validReview, mutatedReview), (body) => {
        checkReview(viaJson(body), 'validate', unavailable)
        checkNotPolluted(fingerprint)
      }),
      params(500),
    )
  }, LIMIT_MS)

  describe('noise never turns a denial into an allow', () => {
    for (const base of deniedBases()) {
      it(`${base.name} (${base.rule})`, () => {
        const outcome = checkReview(viaJson(base.review), 'validate', deps)
        expect(outcome.kind === 'response' && outcome.decision?.denied.map((v) => v.rule)).toContain(base.rule)
        fc.assert(
          fc.property(fc.array(noise, { minLength: 1, maxLength: 6 }), (items) => {
            checkStillDenied(base.review, addNoise(base.review, items), deps)
            checkNotPolluted(fingerprint)
          }),
          params(250),
        )
      }, LIMIT_MS)
    }
  })

  it('leaves Object.prototype and the other built-in prototypes untouched', () => {
    checkNotPolluted(fingerprint)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
