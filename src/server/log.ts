/**
 * @module server/log
 * One log line per decision: who asked for what (uid, kind, namespace, object — the object's
 * name —, operation, user, dryRun), what was decided (allowed, rule ids denied / warned /
 * audited / bypassed) and how long it took. Names only: no object bodies, no tokens, no
 * messages that could quote user data beyond the names. Every honoured bypass gets its own warn
 * line with the user and the reason.
 *
 * Written through {@link decisionLogger} (no redact: every field here is ours), and only when
 * the level is enabled; the info line through its {@link lineWriterOf} writer when it has one,
 * with the fields written straight as JSON text ({@link decisionMembers}, the same text as
 * JSON.stringify of {@link decisionFields}).
 */
import type { Endpoint, ReviewOutcome } from '../admission/review.js'
import { lineWriterOf, type Logger } from '../log.js'
import { decisionLabel, ruleIds, type RuleIds } from './metrics.js'

type ResponseOutcome = Extract<ReviewOutcome, { kind: 'response' }>

const MAX_REASON = 512

export interface DecisionLogInput {
  readonly endpoint: Endpoint
  readonly outcome: ResponseOutcome
  readonly latencyMs: number
  /** When the caller already has them (the metrics need them too). */
  readonly ids?: RuleIds
}

/** The info line's fields, in their order: what pino is given when there is no direct writer. */
export function decisionFields(input: DecisionLogInput, ids: RuleIds): Record<string, unknown> {
  const { endpoint, outcome } = input
  const r = outcome.request
  const line: Record<string, unknown> = {
    uid: r.uid,
    kind: r.kind,
    namespace: r.namespace,
    object: r.name,
    endpoint,
    operation: r.operation,
  }
  if (r.subResource !== undefined) line.subResource = r.subResource
  line.user = r.username
  line.dryRun = r.dryRun
  line.allowed = outcome.body.response.allowed
  line.decision = decisionLabel(endpoint, outcome)
  line.denied = ids.denied
  line.warned = ids.warned
  line.audited = ids.audited
  line.bypassed = ids.bypassed
  if (outcome.decision?.skipped !== undefined) line.skipped = outcome.decision.skipped
  if (outcome.mutation !== undefined) line.patchOps = outcome.mutation.patch.length
  line.latency_ms = roundedLatency(input.latencyMs)
  return line
}

const roundedLatency = (ms: number): number => Math.round(ms * 1000) / 1000
/** Printable ASCII without `"` and `\`: what JSON.stringify writes as it is, between quotes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/
/** JSON text of a string (quotes and escapes); names and ids are nearly always plain, and testing that is cheaper than JSON.stringify. */
const text = (s: string): string => (PLAIN.test(s) ? `"${s}"` : JSON.stringify(s))
const idList = (ids: readonly string[]): string => (ids.length === 0 ? '[]' : JSON.stringify(ids))
/** JSON text of a number, as JSON.stringify writes it (null when not finite). */
const num = (n: number): string => (Number.isFinite(n) ? String(n) : 'null')

/**
 * The same fields as {@link decisionFields}, written straight as JSON members (no object in
 * between, no second pass over it): `JSON.stringify(decisionFields(...))` without the braces.
 */
export function decisionMembers(input: DecisionLogInput, ids: RuleIds): string {
  const { endpoint, outcome } = input
  const r = outcome.request
  let members = `"uid":${text(r.uid)},"kind":${text(r.kind)},"namespace":${text(r.namespace)},"object":${text(r.name)},"endpoint":${text(endpoint)},"operation":${text(r.operation)}`
  if (r.subResource !== undefined) members += `,"subResource":${text(r.subResource)}`
  members += `,"user":${text(r.username)},"dryRun":${r.dryRun},"allowed":${outcome.body.response.allowed},"decision":${text(decisionLabel(endpoint, outcome))}`
  members += `,"denied":${idList(ids.denied)},"warned":${idList(ids.warned)},"audited":${idList(ids.audited)},"bypassed":${idList(ids.bypassed)}`
  if (outcome.decision?.skipped !== undefined) members += `,"skipped":${text(outcome.decision.skipped)}`
  if (outcome.mutation !== undefined) members += `,"patchOps":${outcome.mutation.patch.length}`
  return `${members},"latency_ms":${num(roundedLatency(input.latencyMs))}`
}

/**
 * `levels` answers isLevelEnabled (the logger whose level the operator set); `out` writes (the
 * same logger, or its decision twin from decisionLogger()). One logger does both in tests.
 */
export function logDecision(out: Logger, input: DecisionLogInput, levels: Logger = out): void {
  const { outcome } = input
  const logInfo = levels.isLevelEnabled('info')
  const ids = input.ids ?? ruleIds(outcome)
  if (!logInfo && (ids.bypassed.length === 0 || !levels.isLevelEnabled('warn'))) return
  const r = outcome.request
  const decision = outcome.decision
  if (logInfo) {
    const write = lineWriterOf(out)
    if (write !== undefined) write(decisionMembers(input, ids), 'admission decision')
    else out.info(decisionFields(input, ids), 'admission decision')
  }
  if (ids.bypassed.length > 0 && levels.isLevelEnabled('warn')) {
    const reason = decision?.bypassReason?.slice(0, MAX_REASON)
    for (const rule of ids.bypassed) {
      out.warn({ uid: r.uid, kind: r.kind, namespace: r.namespace, object: r.name, rule, user: r.username, reason: reason ?? null, dryRun: r.dryRun }, `bypass honoured: ${rule} skipped for ${r.username}`)
    }
  }
}
