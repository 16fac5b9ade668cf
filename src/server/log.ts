/**
 * @module server/log
 * One log line per decision: who asked for what (uid, kind, namespace, object — the object's
 * name —, operation, user, dryRun), what was decided (allowed, rule ids denied / warned /
 * audited / bypassed) and how long it took. Names only: no object bodies, no tokens, no
 * messages that could quote user data beyond the names. Every honoured bypass gets its own warn
 * line with the user and the reason.
 *
 * Written through {@link decisionLogger} (no redact: every field here is ours), one object
 * literal per line, and only when the level is enabled; the info line through its
 * {@link lineWriterOf} writer (the same line, one JSON.stringify) when it has one.
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

/**
 * `levels` answers isLevelEnabled (the logger whose level the operator set); `out` writes (the
 * same logger, or its decision twin from decisionLogger()). One logger does both in tests.
 */
export function logDecision(out: Logger, input: DecisionLogInput, levels: Logger = out): void {
  const { endpoint, outcome, latencyMs } = input
  const logInfo = levels.isLevelEnabled('info')
  const ids = input.ids ?? ruleIds(outcome)
  if (!logInfo && (ids.bypassed.length === 0 || !levels.isLevelEnabled('warn'))) return
  const r = outcome.request
  const decision = outcome.decision
  if (logInfo) {
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
    if (decision?.skipped !== undefined) line.skipped = decision.skipped
    if (outcome.mutation !== undefined) line.patchOps = outcome.mutation.patch.length
    line.latency_ms = Math.round(latencyMs * 1000) / 1000
    const write = lineWriterOf(out)
    if (write !== undefined) write(line, 'admission decision')
    else out.info(line, 'admission decision')
  }
  if (ids.bypassed.length > 0 && levels.isLevelEnabled('warn')) {
    const reason = decision?.bypassReason?.slice(0, MAX_REASON)
    for (const rule of ids.bypassed) {
      out.warn({ uid: r.uid, kind: r.kind, namespace: r.namespace, object: r.name, rule, user: r.username, reason: reason ?? null, dryRun: r.dryRun }, `bypass honoured: ${rule} skipped for ${r.username}`)
    }
  }
}
