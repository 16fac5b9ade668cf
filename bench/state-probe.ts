/**
 * @module bench/state-probe
 * A child process of the benchmark that fills a cluster-state view and reports, as one JSON line:
 * its RSS once the view is filled, and the in-process decision time over that view (10,000
 * review() calls after a warm-up, p50/p99): `decision` = review() on a parsed body, `full` =
 * JSON.parse + review() + serializeOutcome() (what the webhook's histogram measures).
 *
 * --json DIR  fill the view with MemoryView.upsert from JSON list bodies (what list+watch hands
 *             the informer view), or
 * --yaml DIR  with loadFileView (what `serve --state` and `validate --state` do).
 * --example   bodies for examples/state (bm-workload) instead of the big state's clusters.
 * --same-as DIR  also fill a second view from the JSON lists in DIR and report whether every
 *             stored record equals the first view's (the file path and the list+watch path
 *             must keep the same lean records).
 *
 * Run it with --expose-gc for `viewHeapMiB` (heap used after a full GC with the view, minus
 * before filling it).
 *
 * Usage: node --expose-gc dist-bench/bench/state-probe.js (--json DIR | --yaml DIR) [--example] [--clusters N] [--decisions N]
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isDeepStrictEqual, parseArgs } from 'node:util'
import { review, reviewText, serializeOutcome } from '../src/admission/review.js'
import { loadPolicy } from '../src/policy/load.js'
import { loadFileView } from '../src/state/file-view.js'
import { MemoryView } from '../src/state/memory-view.js'
import { benchBodies, EXAMPLE_TARGET } from './bodies.js'
import { BIG_STATE, clusterLayout } from './generate-state.js'
import { percentile } from './stats.js'
import { ROOT } from './processes.js'

const { values } = parseArgs({ options: { json: { type: 'string' }, yaml: { type: 'string' }, clusters: { type: 'string', default: String(BIG_STATE.clusters) }, decisions: { type: 'string', default: '10000' }, example: { type: 'boolean', default: false }, 'same-as': { type: 'string' } } })
const gc = (globalThis as { gc?: () => void }).gc
const heapNow = (): number => {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}
const policy = loadPolicy(join(ROOT, 'policies/default.yaml'))
const mib = (n: number): number => n / 2 ** 20
const rssBefore = mib(process.memoryUsage().rss)
const heapBefore = heapNow()
const started = performance.now()
const fromJson = (dir: string): MemoryView => {
  const v = new MemoryView(policy.catalog)
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const list = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { items: unknown[] }
    for (const item of list.items) v.upsert(item)
  }
  // As the informers do after each list.
  v.settle()
  return v
}
let view: MemoryView
if (values.json !== undefined) {
  view = fromJson(values.json)
} else if (values.yaml !== undefined) {
  view = loadFileView([values.yaml], policy.catalog).view
} else {
  process.stderr.write('usage: node dist-bench/bench/state-probe.js (--json DIR | --yaml DIR)\n')
  process.exit(2)
}
const loadMs = performance.now() - started
const viewHeapMiB = gc === undefined ? Number.NaN : mib(heapNow() - heapBefore)
const memory = process.memoryUsage()
let sameRecords: boolean | undefined
if (values['same-as'] !== undefined) {
  const other = fromJson(values['same-as'])
  const records = (v: MemoryView) => v.guardedObjects().map((o) => [`${o.kind}:${o.namespace}/${o.name}`, o] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1))
  sameRecords = isDeepStrictEqual(records(view), records(other)) && isDeepStrictEqual(view.counts(), other.counts())
}

// Bodies for every 5th cluster: 200 clusters x (KCP, MD, catalog) = 600 distinct requests.
const layout = clusterLayout({ ...BIG_STATE, clusters: Number(values.clusters) })
const texts = values.example ? benchBodies(EXAMPLE_TARGET).map((b) => JSON.stringify(b.review)) : layout.filter((_, i) => i % 5 === 0).flatMap((c, i) => benchBodies(c, i * 3).map((b) => JSON.stringify(b.review)))
const deps = { policy, view }
const n = Number(values.decisions)
let denied = 0
const measure = (full: boolean, count: number): Float64Array => {
  const out = new Float64Array(count)
  for (let i = 0; i < count; i++) {
    const text = texts[i % texts.length] ?? ''
    if (full) {
      const t0 = process.hrtime.bigint()
      const outcome = reviewText(text, 'validate', deps)
      if (outcome.kind === 'response') serializeOutcome(outcome)
      out[i] = Number(process.hrtime.bigint() - t0) / 1e3
    } else {
      const body: unknown = JSON.parse(text)
      const t0 = process.hrtime.bigint()
      const outcome = review(body, 'validate', deps)
      out[i] = Number(process.hrtime.bigint() - t0) / 1e3
      if (outcome.kind === 'response' && !outcome.body.response.allowed) denied++
    }
  }
  return out.sort()
}
measure(false, 3000)
measure(true, 3000)
denied = 0
const decision = measure(false, n)
const full = measure(true, n)
const stats = (a: Float64Array) => ({ p50Us: percentile(a, 50), p99Us: percentile(a, 99), maxUs: a[a.length - 1] ?? Number.NaN })
process.stdout.write(
  `${JSON.stringify({
    source: values.json !== undefined ? 'json' : 'yaml',
    counts: view.counts(),
    loadMs,
    rssBeforeMiB: rssBefore,
    rssMiB: mib(memory.rss),
    heapUsedMiB: mib(memory.heapUsed),
    viewHeapMiB,
    ...(sameRecords !== undefined ? { sameRecords } : {}),
    decisions: n,
    distinctBodies: texts.length,
    deniedShare: denied / n,
    decision: stats(decision),
    full: stats(full),
  })}\n`,
)
