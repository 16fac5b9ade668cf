/**
 * @module server/metrics
 * Prometheus metrics (prom-client), one registry per server so tests can run several. Label
 * values come from bounded sets only (known kinds and operations, rule ids): a stranger posting
 * made-up kinds cannot blow up the series count.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | upgrade_guard_admission_requests_total | counter | endpoint, kind, operation, decision |
 * | upgrade_guard_admission_denials_total | counter | rule, kind |
 * | upgrade_guard_admission_warnings_total | counter | rule, kind |
 * | upgrade_guard_admission_audits_total | counter | rule, kind |
 * | upgrade_guard_admission_bypasses_total | counter | rule, kind |
 * | upgrade_guard_decision_duration_seconds | histogram | endpoint |
 * | upgrade_guard_rejected_requests_total | counter | endpoint, code |
 * | upgrade_guard_state_view_age_seconds | gauge | |
 * | upgrade_guard_state_view_available | gauge | |
 * | upgrade_guard_cache_synced | gauge | cache |
 * | upgrade_guard_watch_restarts_total | counter | cache |
 * | upgrade_guard_certificate_expiry_timestamp_seconds | gauge | |
 * | upgrade_guard_reloads_total | counter | source, result |
 * | upgrade_guard_audit_findings | gauge | rule, kind, namespace (see setAuditFindings) |
 * | upgrade_guard_audit_deny_findings | gauge | rule, kind, namespace (those at deny level) |
 * | upgrade_guard_audit_last_run_timestamp_seconds | gauge | |
 * | upgrade_guard_audit_duration_seconds | gauge | |
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Endpoint, ReviewOutcome } from '../admission/review.js'
import type { AuditReport } from '../audit/audit.js'
import { auditFindingSeries, MAX_SERIES as MAX_AUDIT_SERIES } from '../audit/gauge-series.js'
import type { TlsSource } from './certificates.js'
import type { StateSource } from './state-source.js'

type ResponseOutcome = Extract<ReviewOutcome, { kind: 'response' }>

export type DecisionLabel = 'allowed' | 'warned' | 'denied' | 'patched' | 'invalid'
export type ReloadSource = 'policy' | 'state' | 'certificate'

/** Fine at the bottom: a decision takes tens of microseconds, and the bench reads p99 from here. */
export const DECISION_BUCKETS: readonly number[] = [
  0.00005, 0.000075, 0.0001, 0.00015, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1, 2.5,
]

const KNOWN_KINDS = new Set(['KubeadmControlPlane', 'MachineDeployment', 'ConfigMap', 'Scale'])
const KNOWN_OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT'])
const RULE_PREFIX = /^\[([a-z][a-z0-9-]{0,62})\]/

export const kindLabel = (kind: string): string => (KNOWN_KINDS.has(kind) ? kind : 'other')
export const operationLabel = (operation: string): string => (KNOWN_OPERATIONS.has(operation) ? operation : 'other')

export function decisionLabel(endpoint: Endpoint, outcome: ResponseOutcome): DecisionLabel {
  const response = outcome.body.response
  if (response.status?.code === 400) return 'invalid'
  if (!response.allowed) return 'denied'
  if (endpoint === 'mutate') return response.patch !== undefined ? 'patched' : 'allowed'
  return (response.warnings?.length ?? 0) > 0 ? 'warned' : 'allowed'
}

export interface RuleIds {
  readonly denied: string[]
  readonly warned: string[]
  readonly audited: string[]
  readonly bypassed: string[]
}

/** Unique rule ids in order of first appearance (no Set for the usual zero or one). */
function ids(vs: readonly { rule: string }[] | undefined): string[] {
  const out: string[] = []
  if (vs === undefined) return out
  for (const v of vs) if (!out.includes(v.rule)) out.push(v.rule)
  return out
}

/** Rule ids per category, each once per request. */
export function ruleIds(outcome: ResponseOutcome): RuleIds {
  const d = outcome.decision
  const mutationWarned = d !== undefined ? [] : (outcome.mutation?.warnings ?? []).map((w) => RULE_PREFIX.exec(w)?.[1]).filter((r): r is string => r !== undefined)
  return {
    denied: ids(d?.denied),
    warned: d !== undefined ? ids(d.warnings) : [...new Set(mutationWarned)],
    audited: ids(d?.audited),
    bypassed: ids(d?.bypassed),
  }
}

export interface MetricsOptions {
  /** Also export process_* and nodejs_* metrics (default true). */
  readonly defaultMetrics?: boolean
  readonly now?: () => number
}

/** The value under `key`, made (from the key) and stored on first use. */
function getOrMake<V>(map: Map<string, V>, key: string, make: (key: string) => V): V {
  let value = map.get(key)
  if (value === undefined) map.set(key, (value = make(key)))
  return value
}

/**
 * A labelled series of a counter whose increments are plain additions here, handed to the
 * prom-client counter when it is read ({@link flushed}, from its `collect`, before every scrape
 * and every read of its values). prom-client hashes the label object on every `inc`, and a
 * decision counts two to four series.
 */
class PendingCount {
  pending = 0
  constructor(readonly labels: Readonly<Record<string, string>>) {}

  inc(): void {
    this.pending++
  }
}

/** A counter's `collect`: what its series counted since the last read, moved into it. */
function flushed(cells: readonly PendingCount[]): (this: Counter<string>) => void {
  return function collect(this: Counter<string>) {
    for (const cell of cells) {
      if (cell.pending === 0) continue
      this.inc(cell.labels, cell.pending)
      cell.pending = 0
    }
  }
}

/** One factory for every inner map: no closure per decision. */
const newMap = <V>(): Map<string, V> => new Map<string, V>()

/** Three levels of label values to the map of the fourth. */
class LabelTree<T> {
  private readonly root = new Map<string, Map<string, Map<string, Map<string, T>>>>()

  at(a: string, b: string, c: string): Map<string, T> {
    const one = getOrMake(this.root, a, newMap<Map<string, Map<string, T>>>)
    return getOrMake(getOrMake(one, b, newMap<Map<string, T>>), c, newMap<T>)
  }
}

export class ServerMetrics {
  readonly registry = new Registry()
  private readonly requests: Counter<'endpoint' | 'kind' | 'operation' | 'decision'>
  private readonly denials: Counter<'rule' | 'kind'>
  private readonly warnings: Counter<'rule' | 'kind'>
  private readonly audits: Counter<'rule' | 'kind'>
  private readonly bypasses: Counter<'rule' | 'kind'>
  private readonly duration: Histogram<'endpoint'>
  private readonly rejectedRequests: Counter<'endpoint' | 'code'>
  private readonly reloads: Counter<'source' | 'result'>
  private readonly auditFindings: Gauge<'rule' | 'kind' | 'namespace'>
  private readonly auditLastRun: Gauge
  private readonly auditDuration: Gauge
  /** Label sets the findings gauge has shown: kept at 0 once cleared, so sums read 0, not "no data". */
  private readonly auditDenyFindings: Gauge<'rule' | 'kind' | 'namespace'>
  /** Series each findings gauge holds, ordered by when they last had findings (the bound drops the oldest zeros). */
  private readonly auditSeries = new Map<Gauge<'rule' | 'kind' | 'namespace'>, Map<string, { rule: string; kind: string; namespace: string }>>()
  private state: StateSource | undefined
  private tls: TlsSource | undefined
  /**
   * The decision counters' series, found by their label values (nested maps of the bounded
   * values: known kinds, operations, rule ids), so a decision builds no key string to find them
   * and counts with a plain addition ({@link PendingCount}). The duration histogram's child is
   * prom-client's own (it hashes its one label on every observe).
   */
  private readonly requestChildren = new LabelTree<PendingCount>()
  private readonly denialChildren = new Map<string, Map<string, PendingCount>>()
  private readonly warningChildren = new Map<string, Map<string, PendingCount>>()
  private readonly auditChildren = new Map<string, Map<string, PendingCount>>()
  private readonly bypassChildren = new Map<string, Map<string, PendingCount>>()
  /** Every PendingCount of each decision counter, for its collect. */
  private readonly requestCells: PendingCount[] = []
  private readonly denialCells: PendingCount[] = []
  private readonly warningCells: PendingCount[] = []
  private readonly auditCells: PendingCount[] = []
  private readonly bypassCells: PendingCount[] = []
  private readonly durations = new Map<Endpoint, { observe(value: number): void }>()

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry]
    const self = this
    this.requests = new Counter({ name: 'upgrade_guard_admission_requests_total', help: 'AdmissionReviews answered, by endpoint, request kind, operation and decision (allowed, warned, denied, patched, invalid).', labelNames: ['endpoint', 'kind', 'operation', 'decision'], registers, collect: flushed(this.requestCells) })
    this.denials = new Counter({ name: 'upgrade_guard_admission_denials_total', help: 'Requests denied, by rule id (each rule once per request).', labelNames: ['rule', 'kind'], registers, collect: flushed(this.denialCells) })
    this.warnings = new Counter({ name: 'upgrade_guard_admission_warnings_total', help: 'Requests allowed with a warning, by rule id.', labelNames: ['rule', 'kind'], registers, collect: flushed(this.warningCells) })
    this.audits = new Counter({ name: 'upgrade_guard_admission_audits_total', help: 'Violations of rules in audit mode (allowed, logged), by rule id.', labelNames: ['rule', 'kind'], registers, collect: flushed(this.auditCells) })
    this.bypasses = new Counter({ name: 'upgrade_guard_admission_bypasses_total', help: 'Violations skipped by an authorised break-glass bypass, by rule id.', labelNames: ['rule', 'kind'], registers, collect: flushed(this.bypassCells) })
    this.duration = new Histogram({ name: 'upgrade_guard_decision_duration_seconds', help: 'Time from the received body to the serialized AdmissionReview answer (parse, decide, serialize), in seconds.', labelNames: ['endpoint'], buckets: [...DECISION_BUCKETS], registers })
    this.rejectedRequests = new Counter({ name: 'upgrade_guard_rejected_requests_total', help: 'Requests answered with an HTTP error instead of an AdmissionReview (no uid, bad JSON, too large, wrong content type), by HTTP code.', labelNames: ['endpoint', 'code'], registers })
    this.reloads = new Counter({ name: 'upgrade_guard_reloads_total', help: 'Reloads of the policy, the state files and the certificate after a change on disk, by result (success, failure: the last good one was kept).', labelNames: ['source', 'result'], registers })
    new Gauge({
      name: 'upgrade_guard_state_view_age_seconds',
      help: 'Seconds since the cluster-state view last matched its source (0 while live watches are connected or the files are loaded as they are).',
      registers,
      collect() {
        const age = self.state?.ageSeconds()
        // Absent (not 0) until the first sync: 0 would read as "perfectly fresh".
        if (age === undefined) {
          this.reset()
          this.remove()
        } else this.set(age)
      },
    })
    new Gauge({
      name: 'upgrade_guard_state_view_available',
      help: '1 when the cluster-state view is available to the rules, 0 when they fail closed (or open, as the policy says).',
      registers,
      collect() {
        if (self.state === undefined) this.reset()
        else this.set(self.state.view().status().available ? 1 : 0)
      },
    })
    new Gauge({
      name: 'upgrade_guard_cache_synced',
      help: '1 when a live cache has listed and its watch is current, 0 while it is unsynced or behind (a dropped watch, until the relist). Live caches only.',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset()
        for (const c of self.state?.caches?.() ?? []) this.set({ cache: c.cache }, c.fresh ? 1 : 0)
      },
    })
    new Counter({
      name: 'upgrade_guard_watch_restarts_total',
      help: 'Times a live cache had to re-establish its watch (a relist after a failure, or a resume after the stream ended). Live caches only.',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset()
        for (const c of self.state?.caches?.() ?? []) this.inc({ cache: c.cache }, c.restarts)
      },
    })
    new Gauge({
      name: 'upgrade_guard_certificate_expiry_timestamp_seconds',
      help: 'Expiry (notAfter) of the serving certificate in force, as a Unix timestamp in seconds.',
      registers,
      collect() {
        if (self.tls === undefined) this.reset()
        else this.set(self.tls.info().validTo / 1000)
      },
    })
    this.auditFindings = new Gauge({ name: 'upgrade_guard_audit_findings', help: 'Findings of the last audit of existing objects (every guarded object judged as it stands), by rule, kind and namespace; namespaces past the busiest 50 are summed under "other".', labelNames: ['rule', 'kind', 'namespace'], registers })
    this.auditDenyFindings = new Gauge({ name: 'upgrade_guard_audit_deny_findings', help: 'The findings of upgrade_guard_audit_findings at deny level: objects whose next edit of what the rule watches is denied. Same labels and bound.', labelNames: ['rule', 'kind', 'namespace'], registers })
    this.auditLastRun = new Gauge({ name: 'upgrade_guard_audit_last_run_timestamp_seconds', help: 'When the last audit of existing objects completed, as a Unix timestamp in seconds.', registers })
    this.auditDuration = new Gauge({ name: 'upgrade_guard_audit_duration_seconds', help: 'How long the last audit took (wall time across its slices), in seconds.', registers })
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry })
  }

  /** Gauges read these at scrape time. */
  bind(sources: { readonly state?: StateSource; readonly tls?: TlsSource }): void {
    if (sources.state !== undefined) this.state = sources.state
    if (sources.tls !== undefined) this.tls = sources.tls
  }

  observeDecision(endpoint: Endpoint, outcome: ResponseOutcome, seconds: number, ids: RuleIds = ruleIds(outcome)): void {
    const kind = kindLabel(outcome.request.kind)
    const operation = operationLabel(outcome.request.operation)
    const decision = decisionLabel(endpoint, outcome)
    const byDecision = this.requestChildren.at(endpoint, kind, operation)
    let counter = byDecision.get(decision)
    if (counter === undefined) byDecision.set(decision, (counter = this.pendingCount(this.requestCells, { endpoint, kind, operation, decision })))
    counter.inc()
    let duration = this.durations.get(endpoint)
    if (duration === undefined) this.durations.set(endpoint, (duration = this.duration.labels({ endpoint })))
    duration.observe(seconds)
    if (ids.denied.length > 0) this.incRules(this.denialCells, this.denialChildren, ids.denied, kind)
    if (ids.warned.length > 0) this.incRules(this.warningCells, this.warningChildren, ids.warned, kind)
    if (ids.audited.length > 0) this.incRules(this.auditCells, this.auditChildren, ids.audited, kind)
    if (ids.bypassed.length > 0) this.incRules(this.bypassCells, this.bypassChildren, ids.bypassed, kind)
  }

  private pendingCount(cells: PendingCount[], labels: Readonly<Record<string, string>>): PendingCount {
    const cell = new PendingCount(labels)
    cells.push(cell)
    return cell
  }

  /** One count per rule id for this kind, through the cached labelled children. */
  private incRules(cells: PendingCount[], children: Map<string, Map<string, PendingCount>>, rules: readonly string[], kind: string): void {
    const byRule = getOrMake(children, kind, newMap<PendingCount>)
    for (const rule of rules) {
      let cell = byRule.get(rule)
      if (cell === undefined) byRule.set(rule, (cell = this.pendingCount(cells, { rule, kind })))
      cell.inc()
    }
  }

  observeRejected(endpoint: Endpoint, code: number): void {
    this.rejectedRequests.inc({ endpoint, code: String(code) })
  }

  /** The findings gauge from a completed audit (bounded series: audit/gauge-series). */
  setAuditFindings(report: AuditReport, completedAt: number): void {
    this.setFindingSeries(this.auditFindings, auditFindingSeries(report.findings))
    this.setFindingSeries(this.auditDenyFindings, auditFindingSeries(report.findings.filter((f) => f.level === 'deny')))
    this.auditLastRun.set(completedAt / 1000)
    this.auditDuration.set(report.durationMs / 1000)
  }

  /** One findings gauge: cleared series go to 0; zeros are kept only within the bound, the longest-cleared dropped first. */
  private setFindingSeries(gauge: Gauge<'rule' | 'kind' | 'namespace'>, series: ReturnType<typeof auditFindingSeries>): void {
    let held = this.auditSeries.get(gauge)
    if (held === undefined) this.auditSeries.set(gauge, (held = new Map()))
    for (const [key, labels] of held) if (!series.has(key)) gauge.set(labels, 0)
    for (const [key, { labels, count }] of series) {
      // Re-inserted, so the map stays ordered by when a series last had findings.
      held.delete(key)
      held.set(key, labels)
      gauge.set(labels, count)
    }
    for (const [key, labels] of held) {
      if (held.size <= MAX_AUDIT_SERIES) break
      if (series.has(key)) continue
      held.delete(key)
      gauge.remove(labels)
    }
  }

  observeReload(source: ReloadSource, ok: boolean): void {
    this.reloads.inc({ source, result: ok ? 'success' : 'failure' })
  }
}
