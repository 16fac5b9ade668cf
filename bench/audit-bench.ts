/**
 * @module bench/audit-bench
 * The audit of the big state (1,000 Clusters / 1,000 KCPs / 5,000 MDs), for `npm run bench`
 * (bench/run calls `runAuditBench`) or alone: `node dist-bench/bench/audit-bench.js --state DIR`.
 *
 * In a child process of its own (a clean heap, like the state probe): load the state files,
 * then the audit three times at once (runAudit, the CLI's driver; best and median) and once in
 * slices (runAuditChunked, the server's driver) while an event-loop delay histogram records
 * how long anything else (an admission request) would have waited: at most about one slice.
 * Plus `upgrade-guard audit --state DIR -o json` as a process, wall time included start-up and
 * state load. Target: the audit itself ≤ 1 s.
 */
import { spawnSync } from 'node:child_process'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { reviewText, serializeOutcome } from '../src/admission/review.js'
import { runAudit, runAuditChunked } from '../src/audit/audit.js'
import { DEFAULT_POLICY } from '../src/policy/load.js'
import type { Policy } from '../src/policy/types.js'
import type { ClusterView } from '../src/state/cluster-view.js'
import { loadFileView } from '../src/state/file-view.js'
import { benchBodies } from './bodies.js'
import { BIG_STATE, clusterLayout } from './generate-state.js'
import { ROOT } from './processes.js'
import { percentile } from './stats.js'

export const AUDIT_TARGET_SECONDS = 1

export interface AuditProbe {
  readonly objects: number
  readonly judged: number
  readonly findings: number
  readonly loadMs: number
  /** runAudit, three runs. */
  readonly auditMs: { readonly best: number; readonly median: number }
  /** runAuditChunked (2 ms slices): wall time, slices, and the longest event-loop delay meanwhile. */
  readonly chunked: { readonly wallMs: number; readonly slices: number; readonly maxSliceMs: number; readonly maxLoopDelayMs: number }
  /** In-process requests (one per event-loop turn) without and with the chunked audit running as often as the server's runner allows (audit, rest 9 x its duration, again). */
  readonly requests: { readonly quiet: RequestTimes; readonly audit: RequestTimes & { readonly audits: number } }
}

export interface RequestTimes {
  readonly count: number
  /** JSON.parse + review() + serialize, as the webhook's histogram measures (ms). */
  readonly decisionP50Ms: number
  readonly decisionP99Ms: number
  /** From asking for a turn to getting it: what the audit's slices add (ms). */
  readonly waitP99Ms: number
  readonly waitMaxMs: number
}

/** Requests for `ms` milliseconds, each on its own event-loop turn (whatever else runs meanwhile). */
async function timeRequests(view: ClusterView, policy: Policy, ms: number): Promise<RequestTimes> {
  const texts = clusterLayout(BIG_STATE).filter((_, i) => i % 20 === 0).flatMap((c, i) => benchBodies(c, i * 3).map((b) => JSON.stringify(b.review)))
  const decision: number[] = []
  const wait: number[] = []
  const until = performance.now() + ms
  for (let i = 0; performance.now() < until; i++) {
    const asked = performance.now()
    await new Promise((r) => setImmediate(r))
    const t0 = performance.now()
    const outcome = reviewText(texts[i % texts.length] ?? '', 'validate', { policy, view })
    if (outcome.kind === 'response') serializeOutcome(outcome)
    decision.push(performance.now() - t0)
    wait.push(t0 - asked)
  }
  const byValue = (a: number, b: number): number => a - b
  decision.sort(byValue)
  wait.sort(byValue)
  return { count: decision.length, decisionP50Ms: percentile(decision, 50), decisionP99Ms: percentile(decision, 99), waitP99Ms: percentile(wait, 99), waitMaxMs: wait.at(-1) ?? NaN }
}

export interface AuditBenchResult extends AuditProbe {
  /** `upgrade-guard audit --state DIR -o json`, whole process. */
  readonly cliSeconds: number
  readonly cliExit: number | null
}

async function probe(stateDir: string): Promise<AuditProbe> {
  const policy = DEFAULT_POLICY
  const t0 = performance.now()
  const view = loadFileView([stateDir], policy.catalog).view
  const loadMs = performance.now() - t0
  const times: number[] = []
  let report = runAudit(view, policy)
  for (let i = 0; i < 3; i++) {
    const t = performance.now()
    report = runAudit(view, policy, { managementVersion: 'v1.35.0' })
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  const loop = monitorEventLoopDelay({ resolution: 1 })
  let slices = 0
  let maxSliceMs = 0
  let sliceStart = performance.now()
  loop.enable()
  const t1 = performance.now()
  await runAuditChunked(view, policy, { managementVersion: 'v1.35.0' }, {
    yieldTurn: async () => {
      const length = performance.now() - sliceStart
      maxSliceMs = Math.max(maxSliceMs, length)
      slices++
      await new Promise((r) => setImmediate(r))
      sliceStart = performance.now()
    },
  })
  const wallMs = performance.now() - t1
  loop.disable()
  const phaseMs = 5_000
  await timeRequests(view, policy, 500) // warm-up
  const quiet = await timeRequests(view, policy, phaseMs)
  let audits = 0
  let auditing = true
  // As the server's runner does under constant churn: an audit, then a rest of 9 x its duration.
  const auditLoop = (async () => {
    while (auditing) {
      const report = await runAuditChunked(view, policy, { managementVersion: 'v1.35.0' })
      audits++
      await new Promise((r) => setTimeout(r, 9 * report.durationMs))
    }
  })()
  const withAudit = await timeRequests(view, policy, phaseMs)
  auditing = false
  await auditLoop
  return {
    objects: report.objects,
    judged: report.judged,
    findings: report.findings.length,
    loadMs,
    auditMs: { best: times[0] ?? NaN, median: times[1] ?? NaN },
    chunked: { wallMs, slices, maxSliceMs, maxLoopDelayMs: loop.max / 1e6 },
    requests: { quiet, audit: { ...withAudit, audits } },
  }
}

/** Runs the probe in a child process and times the CLI; throws when either fails. */
export function runAuditBench(stateDir: string): AuditBenchResult {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--state', stateDir], { cwd: ROOT, encoding: 'utf8' })
  if (child.status !== 0) throw new Error(`audit probe failed: ${child.stderr}`)
  const result = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as AuditProbe
  const t = performance.now()
  const cli = spawnSync(process.execPath, ['dist/cli/main.js', 'audit', '--state', stateDir, '--management-version', 'v1.35.0', '-o', 'json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 512 * 2 ** 20 })
  return { ...result, cliSeconds: (performance.now() - t) / 1000, cliExit: cli.status }
}

/** The lines bench/run prints for it. */
export function describeAuditBench(r: AuditBenchResult): string[] {
  const f1 = (n: number): string => n.toFixed(1)
  const f3 = (n: number): string => n.toFixed(3)
  return [
    `  audit of the big state (${r.objects} objects, ${r.judged} judged, ${r.findings} findings): state load ${f1(r.loadMs)} ms; runAudit best ${f1(r.auditMs.best)} ms, median of 3 ${f1(r.auditMs.median)} ms (target ≤ ${AUDIT_TARGET_SECONDS} s: ${r.auditMs.median <= AUDIT_TARGET_SECONDS * 1000 ? 'met' : 'MISSED'})`,
    `  in 2 ms slices (the server's driver): ${f1(r.chunked.wallMs)} ms wall, ${r.chunked.slices} slices, longest ${f1(r.chunked.maxSliceMs)} ms; longest event-loop delay meanwhile ${f1(r.chunked.maxLoopDelayMs)} ms (what a request arriving mid-audit waits at most)`,
    `  in-process requests for 5 s, one per event-loop turn (${r.requests.quiet.count}): decision p50/p99 ${f3(r.requests.quiet.decisionP50Ms)}/${f3(r.requests.quiet.decisionP99Ms)} ms, turn wait p99/max ${f3(r.requests.quiet.waitP99Ms)}/${f1(r.requests.quiet.waitMaxMs)} ms; with ${r.requests.audit.audits} chunked audits meanwhile (${r.requests.audit.count} requests) (each followed by a rest of 9 x its duration, as the server's runner does under constant change): decision ${f3(r.requests.audit.decisionP50Ms)}/${f3(r.requests.audit.decisionP99Ms)} ms, turn wait ${f3(r.requests.audit.waitP99Ms)}/${f1(r.requests.audit.waitMaxMs)} ms`,
    `  upgrade-guard audit --state <big state> -o json: ${r.cliSeconds.toFixed(2)} s wall, start-up and state load included (exit ${r.cliExit})`,
  ]
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]
if (isMain) {
  const { values } = parseArgs({ options: { state: { type: 'string' } } })
  if (values.state === undefined) {
    process.stderr.write('usage: node dist-bench/bench/audit-bench.js --state DIR\n')
    process.exit(2)
  }
  process.stdout.write(`${JSON.stringify(await probe(values.state))}\n`)
}
