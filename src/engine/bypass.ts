/**
 * @module engine/bypass
 * Break-glass: `upgrade-guard.io/bypass: "rule-id,rule-id"` plus a reason annotation skips
 * those rules, but only for a user (or group) the policy lists. Never deadlocks CAPI: an
 * annotation left on the object after a bypass is ignored on later updates that neither change
 * it nor need it.
 */
import { asRecord, ownField } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import { clip, forbidden, invalid, required } from '../rules/field-path.js'
import { isRuleId, RULE_IDS, type RuleId } from '../rules/ids.js'
import type { Violation } from '../rules/types.js'
import type { UserInfo } from './decision.js'

export interface BypassRequest {
  /** Rule ids named by the annotation (valid ones). */
  readonly rules: ReadonlySet<RuleId>
  readonly authorised: boolean
  /** The annotation was added or changed by this request. */
  readonly changed: boolean
  readonly reason: string | undefined
  readonly unknownIds: readonly string[]
  readonly raw: string
}

export function readBypass(annotated: unknown, previous: unknown, user: UserInfo, policy: Policy): BypassRequest | undefined {
  const { annotation, reasonAnnotation } = policy.bypass
  // Read one annotation at a time (own string values, as getStringMap would keep them): no copy
  // of the annotation map on every request, which almost never carries a bypass.
  const annotations = annotationsOf(annotated)
  const raw = stringField(annotations, annotation)
  if (raw === undefined || raw.trim() === '') return undefined
  const given = stringField(annotations, reasonAnnotation)
  const ids = raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
  const reason = given?.trim()
  return {
    rules: new Set(ids.filter(isRuleId)),
    unknownIds: ids.filter((id) => !isRuleId(id)),
    authorised: isAuthorised(user, policy),
    changed: stringField(annotationsOf(previous), annotation) !== raw || stringField(annotationsOf(previous), reasonAnnotation) !== given,
    reason: reason === '' ? undefined : reason,
    raw,
  }
}

/** metadata.annotations as sent (literal reads: names Object.prototype lacks, on a plain object). */
const annotationsOf = (obj: unknown): unknown => asRecord(asRecord(obj)?.metadata)?.annotations

/** An annotation's own string value; the name is the policy's, so it is read as an own property. */
function stringField(annotations: unknown, name: string): string | undefined {
  const value = ownField(annotations, name)
  return typeof value === 'string' ? value : undefined
}

export function isAuthorised(user: UserInfo, policy: Policy): boolean {
  const { users, groups } = policy.bypass
  if (user.username !== undefined && users.includes(user.username)) return true
  return (user.groups ?? []).some((g) => groups.includes(g))
}

function whoMay(policy: Policy): string {
  const { users, groups } = policy.bypass
  if (users.length === 0 && groups.length === 0) return 'nobody may bypass under this policy (bypass.users and bypass.groups are empty)'
  const parts = [users.length > 0 ? `users ${users.join(', ')}` : '', groups.length > 0 ? `groups ${groups.join(', ')}` : ''].filter((p) => p !== '')
  return `only ${parts.join(' and ')} may bypass`
}

/**
 * Problems with the bypass request itself. `needed`: rule ids whose violations the bypass
 * would skip in this request.
 */
export function bypassProblems(bypass: BypassRequest, needed: ReadonlySet<string>, user: UserInfo, policy: Policy): Violation[] {
  const field = `metadata.annotations[${policy.bypass.annotation}]`
  const inUse = bypass.changed || [...bypass.rules].some((r) => needed.has(r))
  if (!inUse) return []
  const problems: Violation[] = []
  if (!bypass.authorised) {
    problems.push(forbidden(field, 'bypass', `user ${JSON.stringify(clip(user.username ?? ''))} may not bypass ${[...bypass.rules].join(', ') || clip(bypass.raw)}: ${whoMay(policy)}`, `remove the ${policy.bypass.annotation} annotation, or ask someone allowed to bypass`))
    return problems
  }
  if (bypass.changed && bypass.unknownIds.length > 0) {
    problems.push(invalid(field, 'bypass', bypass.raw, `unknown rule id(s): ${clip(bypass.unknownIds.join(', '))}`, `name rules from: ${RULE_IDS.join(', ')}`))
  }
  if (bypass.reason === undefined) {
    problems.push(required(`metadata.annotations[${policy.bypass.reasonAnnotation}]`, 'bypass', 'a bypass needs a reason', `set ${policy.bypass.reasonAnnotation} to why the guard is skipped (it is logged)`))
  }
  return problems
}
