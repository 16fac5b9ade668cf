/**
 * @module server/log
 * One log line per decision: who asked for what (uid, kind, namespace, name, operation, user,
 * dryRun), what was decided (allowed, rule ids denied / warned / audited / bypassed) and how long
 * it took. Names only: no object bodies, no tokens, no messages that could quote user data
 * beyond the names. Every honoured bypass gets its own warn line with the user and the reason.
 */
import type { Endpoint, ReviewOutcome } from '../admission/review.js'
import type { Logger } from '../log.js'
import { getStringMap, isRecord } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import { decisionLabel, ruleIds } from './metrics.js'

type ResponseOutcome = Extract<ReviewOutcome, { kind: 'response' }>

const MAX_REASON = 512

/** The bypass reason annotation of the object in the request (read only when a bypass was honoured). */
export function bypassReason(text: string, policy: Policy): string | undefined {
  try {
    const body: unknown = JSON.parse(text)
    const request = isRecord(body) ? body.request : undefined
    const object = isRecord(request) ? request.object : undefined
    const reason = getStringMap(object, ['metadata', 'annotations'])[policy.bypass.reasonAnnotation]
    return reason === undefined ? undefined : reason.slice(0, MAX_REASON)
  } catch {
    return undefined
  }
}

export interface DecisionLogInput {
  readonly endpoint: Endpoint
  readonly outcome: ResponseOutcome
  readonly latencyMs: number
  /** Read lazily: only needed when a bypass was honoured. */
  readonly reason?: () => string | undefined
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
    const reason = input.reason?.()
    for (const rule of ids.bypassed) {
      logger.warn({ ...bindings, rule, user: r.username, reason: reason ?? null, dryRun: r.dryRun }, `bypass honoured: ${rule} skipped for ${r.username}`)
    }
  }
}
