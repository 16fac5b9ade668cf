/**
 * @module server/log
 * One log line per decision: who asked for what (uid, kind, namespace, name, operation, user,
 * dryRun), what was decided (allowed, rule ids denied / warned / audited / bypassed) and how long
 * it took. Names only: no object bodies, no tokens, no messages that could quote user data
 * beyond the names. Every honoured bypass gets its own warn line with the user and the reason.
 */
import type { Endpoint, ReviewOutcome } from '../admission/review.js'
import type { Logger } from '../log.js'
import { decisionLabel, ruleIds } from './metrics.js'

type ResponseOutcome = Extract<ReviewOutcome, { kind: 'response' }>

const MAX_REASON = 512

export interface DecisionLogInput {
  readonly endpoint: Endpoint
  readonly outcome: ResponseOutcome
  readonly latencyMs: number
}

export function logDecision(logger: Logger, input: DecisionLogInput): void {
  const { endpoint, outcome, latencyMs } = input
  const r = outcome.request
  // Bindings inline rather than a child logger per request: same line, less work per decision.
  const bindings = { uid: r.uid, kind: r.kind, namespace: r.namespace, name: r.name }
  const ids = ruleIds(outcome)
  const decision = outcome.decision
  logger.info(
    {
      ...bindings,
      endpoint,
      operation: r.operation,
      ...(r.subResource !== undefined ? { subResource: r.subResource } : {}),
      user: r.username,
      dryRun: r.dryRun,
      allowed: outcome.body.response.allowed,
      decision: decisionLabel(endpoint, outcome),
      denied: ids.denied,
      warned: ids.warned,
      audited: ids.audited,
      bypassed: ids.bypassed,
      ...(decision?.skipped !== undefined ? { skipped: decision.skipped } : {}),
      ...(outcome.mutation !== undefined ? { patchOps: outcome.mutation.patch.length } : {}),
      latency_ms: Math.round(latencyMs * 1000) / 1000,
    },
    'admission decision',
  )
  if (ids.bypassed.length > 0) {
    const reason = decision?.bypassReason?.slice(0, MAX_REASON)
    for (const rule of ids.bypassed) {
      logger.warn({ ...bindings, rule, user: r.username, reason: reason ?? null, dryRun: r.dryRun }, `bypass honoured: ${rule} skipped for ${r.username}`)
    }
  }
}
