/**
 * @module audit/audit
 * The audit: every guarded object (bare-metal KCPs, MDs and the catalog) judged as it stands,
 * through the SAME engine as an admission request (audit/as-it-stands builds the request), plus
 * workload clusters more than one minor behind the management cluster (audit/management-skew).
 *
 * One implementation, two drivers: `auditSteps` is a generator that yields after each object;
 * `runAudit` drives it to the end at once (CLI), `runAuditChunked` in short slices between
 * `setImmediate` turns, so a server's admission requests are answered between slices.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import { evaluate } from '../engine/evaluate.js'
import type { Decision } from '../engine/decision.js'
import type { GuardedObject } from '../objects/capi.js'
import { catalogToObject } from '../objects/catalog.js'
import type { Unstructured } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import { formatViolation } from '../rules/field-path.js'
import { RULE_IDS } from '../rules/ids.js'
import type { Violation, ViolationType } from '../rules/types.js'
import type { ClusterView } from '../state/cluster-view.js'
import { asItStands, ROLLOUT_ONLY_RULES } from './as-it-stands.js'
import { MANAGEMENT_SKEW_RULE, managementSkew, parseManagementVersion } from './management-skew.js'

/** The action a finding's rule has in the policy ('off' never produces one). */
export type AuditLevel = 'deny' | 'warn' | 'audit'

export interface ClusterRef {
  readonly namespace: string
  readonly name: string
}

export interface AuditFinding {
  /** Rule id, `management-version` (skew to the management cluster) or `request` (unreadable object). */
  readonly rule: string
  readonly level: AuditLevel
  /** KubeadmControlPlane, MachineDeployment or ConfigMap (the catalog). */
  readonly kind: string
  readonly namespace: string
  readonly name: string
  /** The workload cluster the object belongs to; undefined for the catalog or an orphan. */
  readonly cluster: ClusterRef | undefined
  readonly field: string
  readonly type: ViolationType
  readonly value?: unknown
  readonly message: string
  readonly hint: string
  /** `[rule-id] field: Invalid value: "x": message; hint`, as the webhook prints it. */
  readonly text: string
}

export interface AuditReport {
  /** Epoch milliseconds the audit started. */
  readonly startedAt: number
  readonly durationMs: number
  /** Where the state came from (`files examples/audit`, `live caches …`). */
  readonly source: string
  /** The management cluster's version, when known (`--management-version`, or `/version` live). */
  readonly managementVersion: string | undefined
  /** Why the management skew was not checked, when it was not. */
  readonly managementNote: string | undefined
  /** Guarded objects looked at (KCPs, MDs, the catalog). */
  readonly objects: number
  /** Of those, judged (in scope); the others are skipped (not bare metal, exempt namespace). */
  readonly judged: number
  readonly skipped: number
  /** Sorted by cluster, rule, kind, namespace, name, field. */
  readonly findings: readonly AuditFinding[]
  /** Every judged object (JUnit lists the ones without findings as passed test cases). */
  readonly judgedObjects: readonly ObjectRef[]
}

export interface ObjectRef {
  readonly kind: string
  readonly namespace: string
  readonly name: string
  readonly cluster: ClusterRef | undefined
}

export interface AuditOptions {
  /** For the report. */
  readonly source?: string
  /** gitVersion of the management cluster (issue 13 wires ClusterView.managementVersion() here). */
  readonly managementVersion?: string | undefined
  readonly now?: () => number
}

const RULE_ORDER: readonly string[] = [...RULE_IDS, MANAGEMENT_SKEW_RULE, 'request']
export const ruleRank = (rule: string): number => {
  const i = RULE_ORDER.indexOf(rule)
  return i === -1 ? RULE_ORDER.length : i
}

/** `ns/name`, or '' for findings tied to no cluster (sorted last). */
export const clusterKey = (c: ClusterRef | undefined): string => (c === undefined ? '' : `${c.namespace}/${c.name}`)

export function compareFindings(a: AuditFinding, b: AuditFinding): number {
  const ca = clusterKey(a.cluster)
  const cb = clusterKey(b.cluster)
  if (ca !== cb) return ca === '' ? 1 : cb === '' ? -1 : ca < cb ? -1 : 1
  return ruleRank(a.rule) - ruleRank(b.rule) || a.kind.localeCompare(b.kind) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.field.localeCompare(b.field)
}

/** The level of a management-skew finding: the `management-version` rule's action once the policy has it, else deny. */
function skewLevel(policy: Policy): AuditLevel | 'off' {
  const actions: Readonly<Record<string, string | undefined>> = policy.rules
  const action = actions[MANAGEMENT_SKEW_RULE]
  return action === 'warn' || action === 'audit' || action === 'off' ? action : 'deny'
}

/** The authoritative cluster of a guarded object (SPEC "Whose object is this?"). */
function clusterOf(obj: GuardedObject, view: ClusterView): ClusterRef | undefined {
  if (obj.kind === 'KubeadmControlPlane') {
    const byRef = view.clusterOfControlPlane(obj.namespace, obj.name)
    if (byRef !== undefined) return { namespace: byRef.namespace, name: byRef.name }
  }
  return obj.clusterName === undefined ? undefined : { namespace: obj.namespace, name: obj.clusterName }
}

function toFinding(v: Omit<Violation, 'rule'> & { readonly rule: string }, level: AuditLevel, where: ObjectRef): AuditFinding {
  return {
    rule: v.rule,
    level,
    kind: where.kind,
    namespace: where.namespace,
    name: where.name,
    cluster: where.cluster,
    field: v.field,
    type: v.type,
    ...(v.value === undefined ? {} : { value: v.value }),
    message: v.message,
    hint: v.hint,
    // formatViolation only reads rule, field, type, value, message and hint.
    text: formatViolation(v as Violation),
  }
}

function findingsOfDecision(decision: Decision, where: ObjectRef): AuditFinding[] {
  const out: AuditFinding[] = []
  const add = (list: readonly Violation[], level: AuditLevel): void => {
    // The audit acts for nobody, so a bypass annotation on the object makes the engine say
    // "may not bypass": that is about the (absent) user, not the object. The findings it would
    // have hidden are reported.
    // Preflight rules judge the start of a rollout, which an object as it stands is not.
    for (const v of list) if (v.rule !== 'bypass' && !ROLLOUT_ONLY_RULES.has(v.rule)) out.push(toFinding(v, level, where))
  }
  add(decision.denied, 'deny')
  add(decision.warnings, 'warn')
  add(decision.audited, 'audit')
  return out
}

/**
 * The audit, one object per step. The objects are taken from the view when it starts; a view
 * that changes meanwhile (live caches) is judged as it is at each step, and the server re-runs.
 */
export function* auditSteps(view: ClusterView, policy: Policy, options: AuditOptions = {}): Generator<void, AuditReport, void> {
  const now = options.now ?? Date.now
  const startedAt = now()
  const findings: AuditFinding[] = []
  const judgedObjects: ObjectRef[] = []
  let judged = 0
  let skipped = 0
  const management = options.managementVersion === undefined ? undefined : parseManagementVersion(options.managementVersion)
  const level = skewLevel(policy)
  const managementNote =
    options.managementVersion === undefined
      ? 'management version unknown (give --management-version, or audit a live cluster): skew to the management cluster not checked'
      : management === undefined
        ? `management version ${JSON.stringify(options.managementVersion.slice(0, 64))} is not a Kubernetes version: skew to the management cluster not checked`
        : level === 'off'
          ? 'management-version is off in the policy: skew to the management cluster not checked'
          : undefined

  const judge = (object: Unstructured, where: ObjectRef): Decision => {
    const decision = evaluate(asItStands(object), view, policy)
    if (decision.skipped !== undefined) skipped++
    else {
      judged++
      judgedObjects.push(where)
    }
    findings.push(...findingsOfDecision(decision, where))
    return decision
  }

  const catalog = view.catalog()
  if (catalog !== undefined) {
    judge(catalogToObject(catalog), { kind: 'ConfigMap', namespace: catalog.namespace, name: catalog.name, cluster: undefined })
    yield
  }
  const objects = [...view.guardedObjects()]
  for (const obj of objects) {
    const where: ObjectRef = { kind: obj.kind, namespace: obj.namespace, name: obj.name, cluster: clusterOf(obj, view) }
    const decision = judge(obj.raw, where)
    if (obj.kind === 'KubeadmControlPlane' && decision.skipped === undefined && management !== undefined && level !== 'off') {
      const v = managementSkew(obj, management, catalog, where.cluster?.name)
      if (v !== undefined) findings.push(toFinding(v, level, where))
    }
    yield
  }
  findings.sort(compareFindings)
  return {
    startedAt,
    durationMs: Math.max(0, now() - startedAt),
    source: options.source ?? 'state',
    managementVersion: options.managementVersion,
    managementNote,
    objects: objects.length + (catalog === undefined ? 0 : 1),
    judged,
    skipped,
    findings,
    judgedObjects,
  }
}

/** The whole audit at once (CLI, tests). */
export function runAudit(view: ClusterView, policy: Policy, options: AuditOptions = {}): AuditReport {
  const steps = auditSteps(view, policy, options)
  for (;;) {
    const step = steps.next()
    if (step.done === true) return step.value
  }
}

export interface ChunkOptions {
  /** Longest run of work between two turns of the event loop (default 2 ms). */
  readonly sliceMs?: number
  /** Waits for the next turn (default: setImmediate, after pending I/O). */
  readonly yieldTurn?: () => Promise<unknown>
  readonly clock?: () => number
}

/**
 * The same audit in slices of at most `sliceMs`, yielding to the event loop between them: an
 * admission request that arrives meanwhile waits at most one slice.
 */
export async function runAuditChunked(view: ClusterView, policy: Policy, options: AuditOptions = {}, chunk: ChunkOptions = {}): Promise<AuditReport> {
  const sliceMs = chunk.sliceMs ?? 2
  const yieldTurn = chunk.yieldTurn ?? (() => nextTurn())
  const clock = chunk.clock ?? (() => performance.now())
  const steps = auditSteps(view, policy, options)
  let sliceStart = clock()
  for (;;) {
    const step = steps.next()
    if (step.done === true) return step.value
    if (clock() - sliceStart >= sliceMs) {
      await yieldTurn()
      sliceStart = clock()
    }
  }
}

/** True when any finding is at deny level (the CLI exits 1). */
export const hasDenyFinding = (report: AuditReport): boolean => report.findings.some((f) => f.level === 'deny')

export interface LevelCounts {
  readonly deny: number
  readonly warn: number
  readonly audit: number
}

export function countLevels(findings: readonly AuditFinding[]): LevelCounts {
  let deny = 0
  let warn = 0
  let audit = 0
  for (const f of findings) {
    if (f.level === 'deny') deny++
    else if (f.level === 'warn') warn++
    else audit++
  }
  return { deny, warn, audit }
}

export interface ClusterGroup {
  readonly cluster: ClusterRef | undefined
  readonly rules: readonly { readonly rule: string; readonly findings: readonly AuditFinding[] }[]
}

/** Findings grouped per cluster, then per rule (in report order; no-cluster findings last). */
export function groupFindings(findings: readonly AuditFinding[]): ClusterGroup[] {
  const groups: { cluster: ClusterRef | undefined; key: string; rules: { rule: string; findings: AuditFinding[] }[] }[] = []
  for (const f of findings) {
    const key = clusterKey(f.cluster)
    let group = groups.at(-1)
    if (group === undefined || group.key !== key) groups.push((group = { cluster: f.cluster, key, rules: [] }))
    let rule = group.rules.at(-1)
    if (rule === undefined || rule.rule !== f.rule) group.rules.push((rule = { rule: f.rule, findings: [] }))
    rule.findings.push(f)
  }
  return groups.map(({ cluster, rules }) => ({ cluster, rules }))
}
