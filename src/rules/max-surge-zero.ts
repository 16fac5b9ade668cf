/**
 * max-surge-zero: bare-metal KCPs and MDs roll with maxSurge 0 (delete, then add).
 *
 * ACP guide: "Both KubeadmControlPlane.spec.rolloutStrategy.rollingUpdate.maxSurge = 0 and
 * MachineDeployment.spec.strategy.rollingUpdate.maxSurge = 0 are set — bare-metal does not
 * over-provision physical hosts." and "Replacements are performed as delete-then-add when
 * maxSurge=0 (no overlap between old and new node)".
 *
 * CAPI defaults an unset maxSurge to 1, and accepts maxSurge 0 on a KCP only with 3 or more
 * replicas (scale-in rollout). For an MD, maxUnavailable must then be at least 1: 0 and 0 never
 * progress (CAPI's own check misses "0%" with 0).
 */
import { dotted } from '../objects/unstructured.js'
import { guardedChange } from './common.js'
import { forbidden, invalid, required } from './field-path.js'
import type { RuleDefinition, Violation } from './types.js'
import { rolloutInputsOf, type GuardedObject } from '../objects/capi.js'

type Amount = { readonly kind: 'int' | 'percent'; readonly n: number } | undefined

/** int-or-string as CAPI reads it: an integer, or "N%". Anything else is invalid (undefined). */
export function parseIntOrPercent(value: unknown): Amount {
  if (typeof value === 'number' && Number.isInteger(value)) return { kind: 'int', n: value }
  if (typeof value === 'string' && /^-?\d+%$/.test(value)) return { kind: 'percent', n: Number(value.slice(0, -1)) }
  return undefined
}

const isZero = (a: Amount): boolean => a !== undefined && a.n === 0

function checkSurge(obj: GuardedObject): Violation[] {
  const field = dotted(obj.paths.maxSurge)
  if (obj.maxSurge === undefined) {
    return [required(field, 'max-surge-zero', 'unset, CAPI defaults it to 1 and would surge an extra physical host', `set ${field}: 0`)]
  }
  const surge = parseIntOrPercent(obj.maxSurge)
  if (surge === undefined) return [invalid(field, 'max-surge-zero', obj.maxSurge, 'must be an integer or a percentage such as "0%"', `set ${field}: 0`)]
  if (!isZero(surge)) {
    return [invalid(field, 'max-surge-zero', obj.maxSurge, 'bare metal does not over-provision physical hosts: nodes are replaced delete-then-add', `set ${field}: 0`)]
  }
  return []
}

function checkControlPlane(kcp: GuardedObject): Violation[] {
  // Both problems are reported together: fixing only maxSurge on a 1-replica KCP is rejected
  // (by CAPI and by this rule) until it has 3 replicas, so the operator needs both in one edit.
  const surge = checkSurge(kcp)
  const replicas = kcp.replicas === undefined ? 1 : kcp.replicas
  if (typeof replicas !== 'number' || !Number.isInteger(replicas)) {
    return [...surge, invalid('spec.replicas', 'max-surge-zero', replicas, 'must be an integer', 'set spec.replicas: 3')]
  }
  if (replicas < 3) {
    const hint = surge.length > 0 ? 'set spec.replicas: 3 in the same edit as maxSurge 0 (bare-metal control planes are not supported with fewer)' : 'set spec.replicas: 3 (bare-metal control planes are not supported with fewer)'
    return [...surge, forbidden('spec.replicas', 'max-surge-zero', `${replicas} replica(s) cannot roll with maxSurge 0 (CAPI needs 3 to scale in); the control plane must be scaled to 3 before it can roll on bare metal`, hint, replicas)]
  }
  return surge
}

function checkWorkers(md: GuardedObject): Violation[] {
  if (md.strategyType === 'OnDelete') return [] // no surge: machines are replaced only when deleted
  const surge = checkSurge(md)
  if (surge.length > 0) return surge
  const field = dotted(md.paths.maxUnavailable)
  if (md.maxUnavailable === undefined) {
    return [required(field, 'max-surge-zero', 'unset, CAPI defaults it to 0, and with maxSurge 0 the rollout can never progress', `set ${field}: 1 (or more, within the pool's spare capacity)`)]
  }
  const unavailable = parseIntOrPercent(md.maxUnavailable)
  if (unavailable === undefined || unavailable.n < 0) {
    return [invalid(field, 'max-surge-zero', md.maxUnavailable, 'must be a non-negative integer or percentage', `set ${field}: 1`)]
  }
  if (isZero(unavailable)) {
    return [invalid(field, 'max-surge-zero', md.maxUnavailable, 'with maxSurge 0 the rollout can never progress (no machine may be added or removed)', `set ${field}: 1 (or more, within the pool's spare capacity)`)]
  }
  return []
}

export const maxSurgeZero: RuleDefinition = {
  id: 'max-surge-zero',
  appliesTo: ['KubeadmControlPlane', 'MachineDeployment'],
  needsState: false,
  // The surge values, KCP replicas, and anything that starts a rollout.
  watches: (o) => [o.maxSurge, o.maxUnavailable, o.strategyType, o.kind === 'KubeadmControlPlane' ? o.replicas : undefined, rolloutInputsOf(o)],
  check: (ctx) => {
    const change = guardedChange(ctx)
    if (change === undefined) return []
    return change.new.kind === 'KubeadmControlPlane' ? checkControlPlane(change.new) : checkWorkers(change.new)
  },
}
