/**
 * @module bench/fuzz
 * `npm run fuzz`: 100,000 generated AdmissionReviews through review() (the webhook's code path)
 * with the embedded default policy and examples/state; the same properties as test/fuzz, more runs.
 * Prints runs and failures per property and in total; exits 1 when any property failed.
 *
 * Options: --runs N (default 100000), --seed N, --chunk N (runs per fast-check run),
 * --only I (just suite I, all runs: with --seed, replays a printed failure).
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import fc from 'fast-check'
import type { Endpoint, ReviewDeps } from '../src/admission/review.js'
import { DEFAULT_POLICY } from '../src/policy/load.js'
import { loadFileView } from '../src/state/file-view.js'
import { MemoryView } from '../src/state/memory-view.js'
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
} from './arbitraries.js'
import { applyBends, bends, metamorphicBases, metamorphicDeps } from './metamorphic.js'
import { ROOT } from './processes.js'

const EXAMPLES = join(ROOT, 'examples/state')

interface Suite {
  readonly name: string
  /** Share of the total runs. */
  readonly share: number
  /** Runs on top of the shared total (its own share of it), e.g. the metamorphic property. */
  readonly separate?: boolean
  readonly run: (fingerprint: string, params: RunParams) => Summary
}

interface RunParams {
  readonly numRuns: number
  readonly seed: number
}

/** What one fast-check run reports, without its generic types. */
interface Summary {
  readonly failed: boolean
  readonly numRuns: number
  readonly seed: number
  readonly path: string | undefined
  readonly error: string
  readonly counterexample: string
}

function runSync<Ts>(property: fc.IPropertyWithHooks<Ts>, params: RunParams): Summary {
  const d = fc.check(property, { ...params, endOnFailure: false })
  return {
    failed: d.failed,
    numRuns: d.numRuns,
    seed: d.seed,
    path: d.counterexamplePath ?? undefined,
    error: d.failed ? (d.errorInstance instanceof Error ? d.errorInstance.message : String(d.errorInstance)) : '',
    counterexample: d.failed ? fc.stringify(d.counterexample) : '',
  }
}

interface Failure {
  readonly suite: string
  readonly index: number
  readonly runs: number
  readonly seed: number
  readonly path: string | undefined
  readonly error: string
  readonly counterexample: string
}

function suites(deps: ReviewDeps, unavailable: ReviewDeps, bent: ReviewDeps): Suite[] {
  const bases = deniedBases()
  const bendable = metamorphicBases()
  return [
    {
      name: 'valid reviews (validate + mutate)',
      share: 0.25,
      run: (fp, params) =>
        runSync(fc.property(validReview, (body) => {
          const wire = viaJson(body)
          checkReview(wire, 'validate', deps)
          checkReview(wire, 'mutate', deps)
          checkNotPolluted(fp)
        }), params),
    },
    {
      name: 'mutated reviews',
      share: 0.4,
      run: (fp, params) =>
        runSync(fc.property(mutatedReview, fc.constantFrom<Endpoint>('validate', 'mutate'), (body, endpoint) => {
          checkReview(viaJson(body), endpoint, deps)
          checkNotPolluted(fp)
        }), params),
    },
    {
      name: 'odd envelopes',
      share: 0.1,
      run: (fp, params) =>
        runSync(fc.property(oddEnvelope, (body) => {
          checkReview(viaJson(body), 'validate', deps)
          checkNotPolluted(fp)
        }), params),
    },
    {
      name: 'state view unavailable',
      share: 0.05,
      run: (fp, params) =>
        runSync(fc.property(fc.oneof(validReview, mutatedReview), (body) => {
          checkReview(viaJson(body), 'validate', unavailable)
          checkNotPolluted(fp)
        }), params),
    },
    {
      name: `noise on ${bases.length} denied requests stays denied`,
      share: 0.2,
      run: (fp, params) =>
        runSync(fc.property(fc.nat({ max: bases.length - 1 }), fc.array(noise, { minLength: 1, maxLength: 6 }), (i, items) => {
          const base = bases[i]
          if (base === undefined) return
          checkStillDenied(base.review, addNoise(base.review, items), deps)
          checkNotPolluted(fp)
        }), params),
    },
    {
      name: `metamorphic: ${bendable.length} denied requests, bent`,
      share: 1,
      separate: true,
      run: (fp, params) =>
        runSync(fc.property(fc.nat({ max: bendable.length - 1 }), bends, (i, items) => {
          const base = bendable[i]
          if (base === undefined) return
          checkStillDenied(base.review, applyBends(base.review, items), bent)
          checkNotPolluted(fp)
        }), params),
    },
  ]
}

const short = (s: string, n = 400): string => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s)

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { runs: { type: 'string', default: '100000' }, seed: { type: 'string' }, chunk: { type: 'string', default: '5000' }, only: { type: 'string' } } })
  const total = Number(values.runs)
  const chunk = Number(values.chunk)
  const firstSeed = values.seed === undefined ? Date.now() ^ (Math.random() * 0x7fffffff) : Number(values.seed)
  const deps: ReviewDeps = { policy: DEFAULT_POLICY, view: loadFileView([EXAMPLES], DEFAULT_POLICY.catalog).view }
  const unavailable: ReviewDeps = { policy: DEFAULT_POLICY, view: new MemoryView(DEFAULT_POLICY.catalog, { available: false, reason: 'informers not synced' }) }
  const bent = metamorphicDeps(loadFileView([EXAMPLES], DEFAULT_POLICY.catalog).view, DEFAULT_POLICY)
  const fingerprint = prototypeFingerprint()
  const every = suites(deps, unavailable, bent)
  const only = values.only === undefined ? undefined : Number(values.only)
  const all = only === undefined ? every : every.slice(only, only + 1)
  const failures: Failure[] = []
  let ran = 0
  let seed = firstSeed
  process.stdout.write(`upgrade-guard fuzz: ${total} runs through review() (embedded default policy, examples/state), first seed ${firstSeed}\n`)
  const started = performance.now()
  const lastShared = all.findLastIndex((s) => s.separate !== true)
  let ranShared = 0
  for (const [i, suite] of all.entries()) {
    const runs = suite.separate === true ? Math.round(total * suite.share) : i === lastShared ? total - ranShared : Math.round(total * suite.share)
    let done = 0
    let failed = 0
    const t0 = performance.now()
    while (done < runs) {
      const numRuns = Math.min(chunk, runs - done)
      const runSeed = seed++
      let details: Summary
      try {
        details = suite.run(fingerprint, { numRuns, seed: runSeed })
      } catch (e) {
        // Not a property failure: the generators themselves broke. Count it, keep going.
        details = { failed: true, numRuns, seed: runSeed, path: undefined, error: `generator error: ${e instanceof Error ? e.message : String(e)}`, counterexample: '-' }
      }
      // A failing chunk stops at its first counterexample (then shrinks): count the runs it made.
      done += details.failed ? details.numRuns : numRuns
      if (details.failed) {
        failed++
        failures.push({
          suite: suite.name,
          index: only ?? i,
          runs: numRuns,
          seed: details.seed,
          path: details.path,
          error: short(details.error),
          counterexample: short(details.counterexample),
        })
      }
    }
    ran += done
    if (suite.separate !== true) ranShared += done
    process.stdout.write(`  ${suite.name.padEnd(44)} ${String(done).padStart(7)} runs  ${String(failed).padStart(3)} failures  ${((performance.now() - t0) / 1000).toFixed(1)} s\n`)
  }
  process.stdout.write(`total: ${ran} runs, ${failures.length} failures, ${((performance.now() - started) / 1000).toFixed(1)} s\n`)
  for (const f of failures) {
    process.stdout.write(`\nFAILURE in "${f.suite}" (replay: npm run fuzz -- --only ${f.index} --seed ${f.seed} --runs ${f.runs} --chunk ${f.runs}; path ${f.path ?? '-'})\n  ${f.error}\n  counterexample: ${f.counterexample}\n`)
  }
  return failures.length === 0 ? 0 : 1
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2))
}
