/**
 * @module server/audit-runner
 * The server side of the audit: the same audit as `upgrade-guard audit`, over the live view,
 * re-run when the view (or the policy) changes — debounced, so a relist or a burst of watch
 * events gives one run — and every `--audit-interval`. It never runs concurrently with itself,
 * and never on the request path: it runs in slices of a few milliseconds between event-loop
 * turns (audit/runAuditChunked), so admission requests are answered between slices.
 *
 * After each run: the findings gauges (metrics.setAuditFindings), one log line per finding
 * that appeared or cleared since the previous run, and the report kept for `GET /audit`.
 */
import type { Logger } from '../log.js'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { runAuditChunked, type AuditFinding, type AuditReport } from '../audit/audit.js'
import { formatAuditJsonChunked } from '../cli/formats/audit-json.js'
import type { ServerMetrics } from './metrics.js'
import { errorLine, type PolicyProvider } from './policy-source.js'
import type { StateSource } from './state-source.js'

export interface AuditRunnerOptions {
  readonly state: StateSource
  readonly policy: PolicyProvider
  readonly logger: Logger
  readonly metrics?: ServerMetrics
  /** Full re-run period (default 5 min). */
  readonly intervalMs?: number
  /** Quiet time after a change before the re-run (default 2 s). */
  readonly debounceMs?: number
  /** How often the view's revision is looked at (default: debounceMs / 2, at least 50 ms). */
  readonly checkMs?: number
  /** The management cluster's version (files: --management-version; live: GET /version). */
  readonly managementVersion?: () => Promise<string | undefined>
  /** Longest slice of audit work between event-loop turns (default 2 ms). */
  readonly sliceMs?: number
  /**
   * After a run that took D ms, the next one waits at least this many times D (default 9): the
   * audit then uses at most a tenth of the event loop, whatever the state's size or churn.
   */
  readonly restFactor?: number
  /** Most appeared/cleared lines logged per run; the rest are summed in one line (default 100). */
  readonly maxLogLines?: number
  readonly now?: () => number
}

export interface AuditRunner {
  /** The last completed audit, or undefined before the first. */
  latest(): AuditReport | undefined
  /** The same as `audit -o json` text, built once per audit (off the request path). */
  latestJson(): string | undefined
  /** Runs now (or joins the run in progress, then runs again); resolves with the new report. */
  runNow(): Promise<AuditReport | undefined>
  /** Completed runs (tests wait on it). */
  runs(): number
  close(): void
}

export const DEFAULT_AUDIT_INTERVAL_MS = 5 * 60_000
export const DEFAULT_AUDIT_DEBOUNCE_MS = 2_000

const findingKey = (f: AuditFinding): string => `${f.rule}\u0000${f.kind}\u0000${f.namespace}\u0000${f.name}\u0000${f.field}`

/** What changed between two runs' findings. */
export function diffFindings(previous: readonly AuditFinding[], next: readonly AuditFinding[]): { appeared: AuditFinding[]; cleared: AuditFinding[] } {
  const before = new Map(previous.map((f) => [findingKey(f), f]))
  const after = new Map(next.map((f) => [findingKey(f), f]))
  return {
    appeared: [...after].filter(([k]) => !before.has(k)).map(([, f]) => f),
    cleared: [...before].filter(([k]) => !after.has(k)).map(([, f]) => f),
  }
}

export function startAuditRunner(options: AuditRunnerOptions): AuditRunner {
  const { state, policy, metrics } = options
  const log = options.logger.child({ component: 'audit' })
  const now = options.now ?? Date.now
  const intervalMs = options.intervalMs ?? DEFAULT_AUDIT_INTERVAL_MS
  const debounceMs = options.debounceMs ?? DEFAULT_AUDIT_DEBOUNCE_MS
  const checkMs = options.checkMs ?? Math.max(50, Math.floor(debounceMs / 2))
  const maxLogLines = options.maxLogLines ?? 100
  const restFactor = options.restFactor ?? 9

  let latest: AuditReport | undefined
  let latestJson: string | undefined
  let completed = 0
  let closed = false
  let running: Promise<AuditReport | undefined> | undefined
  let again = false
  /** What the last run judged: the view object, its revision and the policy. */
  let auditedToken: readonly unknown[] | undefined
  let seenToken: readonly unknown[] | undefined
  let changedAt = now()
  let lastRunAt: number | undefined
  let restUntil = 0
  let managementError: string | undefined

  const tokenOf = (): readonly unknown[] => {
    const view = state.view()
    return [view, view.revision?.(), policy.current()]
  }
  const sameToken = (a: readonly unknown[] | undefined, b: readonly unknown[]): boolean => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i])

  const managementVersion = async (): Promise<string | undefined> => {
    if (options.managementVersion === undefined) return undefined
    try {
      const version = await options.managementVersion()
      if (managementError !== undefined) log.info('management cluster version readable again')
      managementError = undefined
      return version
    } catch (e) {
      const line = errorLine(e)
      if (line !== managementError) log.warn(`cannot read the management cluster's version; skew to it not checked: ${line}`)
      managementError = line
      return undefined
    }
  }

  const logChanges = (previous: AuditReport | undefined, next: AuditReport): void => {
    const { appeared, cleared } = diffFindings(previous?.findings ?? [], next.findings)
    let budget = maxLogLines
    const line = (f: AuditFinding, what: 'appeared' | 'cleared'): void => {
      const fields = { rule: f.rule, kind: f.kind, namespace: f.namespace, object: f.name, field: f.field, action: f.level, cluster: f.cluster === undefined ? null : `${f.cluster.namespace}/${f.cluster.name}` }
      // Names and rule ids only, as the decision log: the messages are in GET /audit.
      if (what === 'appeared') log.warn(fields, `audit finding appeared: [${f.rule}] ${f.kind} ${f.namespace}/${f.name} ${f.field}`)
      else log.info(fields, `audit finding cleared: [${f.rule}] ${f.kind} ${f.namespace}/${f.name} ${f.field}`)
    }
    for (const f of appeared) if (budget-- > 0) line(f, 'appeared')
    for (const f of cleared) if (budget-- > 0) line(f, 'cleared')
    const unlogged = appeared.length + cleared.length - maxLogLines
    if (unlogged > 0) log.warn({ appeared: appeared.length, cleared: cleared.length, unlogged }, `audit: ${unlogged} more finding change(s) not logged one by one (GET /audit lists them all)`)
  }

  const runOnce = async (): Promise<AuditReport | undefined> => {
    const view = state.view()
    if (!view.status().available) {
      // Judging a view that is behind would report (and clear) findings from old state.
      log.debug({ reason: view.status().reason ?? 'unavailable' }, 'audit postponed: the cluster-state view is not available')
      return latest
    }
    const token = tokenOf()
    const version = await managementVersion()
    const report = await runAuditChunked(view, policy.current(), { source: state.description, managementVersion: version, now }, options.sliceMs === undefined ? {} : { sliceMs: options.sliceMs })
    const json = await formatAuditJsonChunked(report, () => nextTurn(), options.sliceMs)
    if (closed) return latest
    auditedToken = token
    lastRunAt = now()
    restUntil = lastRunAt + restFactor * report.durationMs
    logChanges(latest, report)
    latest = report
    latestJson = json
    completed++
    metrics?.setAuditFindings(report, lastRunAt)
    const deny = report.findings.filter((f) => f.level === 'deny').length
    log.info({ findings: report.findings.length, deny, judged: report.judged, durationMs: Math.round(report.durationMs) }, 'audit done')
    return report
  }

  const run = (): Promise<AuditReport | undefined> => {
    if (running !== undefined) {
      again = true
      return running
    }
    running = (async () => {
      let report: AuditReport | undefined
      try {
        do {
          again = false
          report = await runOnce()
        } while (again && !closed)
      } catch (e) {
        log.error(`audit failed: ${errorLine(e)}`)
      } finally {
        running = undefined
      }
      return report
    })()
    return running
  }

  const tick = (): void => {
    if (closed || running !== undefined) return
    const token = tokenOf()
    if (!sameToken(seenToken, token)) {
      seenToken = token
      changedAt = now()
    }
    const t = now()
    if (t < restUntil) return
    const isChanged = !sameToken(auditedToken, token) && t - changedAt >= debounceMs
    const isDue = lastRunAt === undefined || t - lastRunAt >= intervalMs
    if (isChanged || isDue) void run()
  }
  const timer = setInterval(tick, checkMs)
  timer.unref()

  return {
    latest: () => latest,
    latestJson: () => latestJson,
    runNow: async () => {
      const current = running
      if (current !== undefined) {
        await current
      }
      return run()
    },
    runs: () => completed,
    close: () => {
      closed = true
      clearInterval(timer)
    },
  }
}
