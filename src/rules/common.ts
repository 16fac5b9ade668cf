/**
 * @module rules/common
 * Small helpers several rules share: version reading with one error text, control-plane lookup,
 * the allowed worker skew, and the fail-closed "state missing" violation.
 */
import type { ClusterInfo, GuardedObject } from '../objects/capi.js'
import { dotted } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import { maxVersion, minVersion, parseVersion, tryParseVersion, type Version } from '../versions/version.js'
import { clip, echo, forbidden, invalid, notFound } from './field-path.js'
import type { RuleId } from './ids.js'
import type { GuardedTarget, RuleContext, Violation } from './types.js'

export type VersionRead = { readonly ok: true; readonly version: Version } | { readonly ok: false; readonly violations: readonly Violation[] }

/**
 * Reads an object's version for a rule; a bad one becomes an Invalid violation. catalog-key owns
 * the syntax ("not a catalog key; use v…"): the other rules mark theirs as its duplicate, and the
 * engine drops them when catalog-key's own denial stands — but keeps them when catalog-key was
 * bypassed or relaxed, so no rule judges a version it cannot read as fine.
 */
export function readVersion(obj: GuardedObject, rule: RuleId): VersionRead {
  const result = parseVersion(obj.version)
  if (result.ok) return result
  const field = dotted(obj.paths.version)
  // `[catalog-key] spec.version: Invalid value: "1.34.5": not a catalog key: the version lacks the leading "v"; use "v1.34.5"`
  const prefix = rule === 'catalog-key' ? 'not a catalog key: ' : ''
  const violation =
    result.fixed !== undefined
      ? invalid(field, rule, obj.version, `${prefix}the version lacks the leading "v"`, `use "${clip(result.fixed)}"`)
      : invalid(field, rule, obj.version, `${prefix}the version ${result.reason}`, `set ${field} to a version such as "v1.33.7" or "v1.33.7-2"`)
  return { ok: false, violations: [rule === 'catalog-key' ? violation : { ...violation, duplicateOf: 'catalog-key' }] }
}

/** Whether the version field differs between old and new (UPDATE) or is being set (CREATE). */
export function versionChanged(ctx: RuleContext): boolean {
  if (ctx.target.type !== 'guarded') return false
  const { old, new: next } = ctx.target
  if (next === undefined) return false
  return old === undefined || old.version !== next.version
}

/**
 * A stored version as it runs: a valid version, or one lacking only the leading `v` (stored
 * before the mutating webhook existed; CAPI reads `1.33.7` as v1.33.7). Anything else is
 * undefined. Never used for what a request asks for: that must be a catalog key, `v` included.
 */
export const storedVersion = (value: unknown): Version | undefined => tryParseVersion(value, { allowMissingV: true })

/**
 * The lowest version actually running on a control plane: the lowest PARSEABLE of spec.version
 * (the target) and status.version (the oldest machine, CAPI). One unreadable value never hides
 * the other; undefined only when neither can be read.
 */
export function lowestRunning(kcp: GuardedObject): Version | undefined {
  return minVersion(storedVersion(kcp.version), storedVersion(kcp.statusVersion))
}

/** The highest parseable of spec.version and status.version (what workers are measured against). */
export function highestRunning(kcp: GuardedObject): Version | undefined {
  return maxVersion(storedVersion(kcp.version), storedVersion(kcp.statusVersion))
}

/** status.version alone, when the KCP has reported one. */
export const runningVersion = (kcp: GuardedObject): Version | undefined => storedVersion(kcp.statusVersion)

/** Whether an object carries a version field at all (an MD may omit it). */
export const hasVersionValue = (obj: GuardedObject): boolean => obj.version !== undefined || obj.statusVersion !== undefined

/**
 * The running version of a stored object cannot be read (neither spec.version nor status.version
 * parses): a version change is denied rather than judged as fine, naming the field to fix.
 */
export function unreadableRunning(stored: GuardedObject, rule: RuleId, field: string, value: unknown, whose = 'the stored object'): Violation {
  const spec = `${dotted(stored.paths.version)} ${echo(stored.version)}`
  const status = stored.kind === 'KubeadmControlPlane' ? (stored.statusVersion === undefined ? ' and no status.version' : ` and status.version ${echo(stored.statusVersion)}`) : ''
  return forbidden(field, rule, `cannot check this version change: the running version of ${whose} (${stored.kind} ${qualifiedName(stored)}) cannot be read: ${spec}${status} is not a version`, `fix ${dotted(stored.paths.version)} of ${qualifiedName(stored)} to the version its machines run (e.g. "v1.33.7"), with a bypass of ${rule} if it must change in the same edit`, value)
}

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
  if (Number.isNaN(asked)) return { allowed: base, source: `policy default; Cluster annotation ${optInAnnotation}=${JSON.stringify(clip(raw))} is not a number` }
  if (asked > maximum) return { allowed: maximum, source: `policy maximum; the Cluster asks for ${asked}` }
  return { allowed: Math.max(asked, base), source: `Cluster annotation ${optInAnnotation}="${clip(raw.trim())}"` }
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

/** A guarded target with a proposed object (CREATE, UPDATE). */
export type GuardedChange = GuardedTarget & { readonly new: GuardedObject }

/**
 * The guarded target of a CREATE/UPDATE, or undefined (catalog, DELETE). The target itself,
 * narrowed: most rules ask for it on every request, so no object is made for the answer.
 */
export function guardedChange(ctx: RuleContext): GuardedChange | undefined {
  return ctx.target.type === 'guarded' && ctx.target.new !== undefined ? (ctx.target as GuardedChange) : undefined
}

/** Up to `max` names, then "and N more". */
export function listNames(names: readonly string[], max = 5): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`
}
