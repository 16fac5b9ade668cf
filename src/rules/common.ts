/**
 * @module rules/common
 * Small helpers several rules share: version reading with one error text, control-plane lookup,
 * the allowed worker skew, and the fail-closed "state missing" violation.
 */
import type { ClusterInfo, GuardedObject } from '../objects/capi.js'
import { dotted } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import { minVersion, parseVersion, tryParseVersion, type Version } from '../versions/version.js'
import { invalid, notFound } from './field-path.js'
import type { RuleId } from './ids.js'
import type { RuleContext, Violation } from './types.js'

export type VersionRead = { readonly ok: true; readonly version: Version } | { readonly ok: false; readonly violations: readonly Violation[] }

/**
 * Reads an object's version for a rule; a bad one becomes an Invalid violation. catalog-key owns
 * the syntax ("not a catalog key; use v…"): while it denies, the other rules stay quiet about the
 * same bad string instead of repeating it; when it does not, each rule still refuses to judge a
 * version it cannot read.
 */
export function readVersion(obj: GuardedObject, rule: RuleId, policy: Policy): VersionRead {
  const result = parseVersion(obj.version)
  if (result.ok) return result
  if (rule !== 'catalog-key' && policy.rules['catalog-key'] === 'deny') return { ok: false, violations: [] }
  const field = dotted(obj.paths.version)
  const hint = result.fixed !== undefined ? `set ${field} to "${result.fixed}"` : `set ${field} to a version such as "v1.33.7" or "v1.33.7-2"`
  return { ok: false, violations: [invalid(field, rule, obj.version, `${describeVersionValue(obj.version)} ${result.reason}`, hint)] }
}

const describeVersionValue = (value: unknown): string => (typeof value === 'string' ? 'version' : 'the version')

/** Whether the version field differs between old and new (UPDATE) or is being set (CREATE). */
export function versionChanged(ctx: RuleContext): boolean {
  if (ctx.target.type !== 'guarded') return false
  const { old, new: next } = ctx.target
  if (next === undefined) return false
  return old === undefined || old.version !== next.version
}

/**
 * The lowest version actually running on a control plane: status.version is the oldest machine
 * (CAPI), spec.version the target. Unknown fields are skipped.
 */
export function lowestRunning(kcp: GuardedObject): Version | undefined {
  return minVersion(tryParseVersion(kcp.version), tryParseVersion(kcp.statusVersion))
}

/** status.version alone, when the KCP has reported one. */
export const runningVersion = (kcp: GuardedObject): Version | undefined => tryParseVersion(kcp.statusVersion)

export interface SkewAllowance {
  readonly allowed: number
  /** Where the number came from, for messages. */
  readonly source: string
}

/** Allowed control-plane minus worker minor for a cluster (opt-in annotation, capped). */
export function allowedSkew(cluster: ClusterInfo | undefined, policy: Policy): SkewAllowance {
  const { default: base, maximum, optInAnnotation } = policy.skew
  const raw = cluster?.annotations[optInAnnotation]
  if (raw === undefined) return { allowed: base, source: 'policy default' }
  const asked = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN
  if (Number.isNaN(asked)) return { allowed: base, source: `policy default; Cluster annotation ${optInAnnotation}=${JSON.stringify(raw)} is not a number` }
  if (asked > maximum) return { allowed: maximum, source: `policy maximum; the Cluster asks for ${asked}` }
  return { allowed: Math.max(asked, base), source: `Cluster annotation ${optInAnnotation}="${raw}"` }
}

/**
 * A rule needs an object the state view does not have. Fails closed (a Forbidden violation
 * saying what is missing) unless the policy says state.onUnavailable: allow.
 */
export function missingState(ctx: RuleContext, rule: RuleId, field: string, what: string, hint: string): Violation[] {
  if (ctx.policy.state.onUnavailable === 'allow') return []
  return [notFound(field, rule, undefined, `cannot check: ${what}`, hint)]
}

export const isBareMetal = (obj: GuardedObject | undefined, policy: Policy): boolean =>
  obj !== undefined && obj.infrastructureKind !== undefined && policy.scope.infrastructureKinds.includes(obj.infrastructureKind)

export const qualifiedName = (obj: { readonly namespace: string; readonly name: string }): string => `${obj.namespace}/${obj.name}`

/** The guarded target of a CREATE/UPDATE, or undefined (catalog, DELETE). */
export function guardedChange(ctx: RuleContext): { readonly old: GuardedObject | undefined; readonly next: GuardedObject } | undefined {
  if (ctx.target.type !== 'guarded' || ctx.target.new === undefined) return undefined
  return { old: ctx.target.old, next: ctx.target.new }
}

/** Up to `max` names, then "and N more". */
export function listNames(names: readonly string[], max = 5): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`
}
