/**
 * @module plan/simulate
 * Replays plan steps through the engine, in order, on a copy of the state: each object a step
 * leaves behind is judged as an UPDATE of the stored one (status stays the stored one, as the API
 * server keeps it), and each wait step completes its rollouts (KCP status.version reaches the
 * version waited for). The planner refuses a plan that would be denied anywhere, so a printed plan
 * is one the webhook allows step by step.
 */
import { dryRunApply } from '../dry-run/apply.js'
import type { UserInfo } from '../engine/decision.js'
import { catalogToObject } from '../objects/catalog.js'
import { isRecord, type Unstructured } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import type { Violation } from '../rules/types.js'
import type { ClusterView } from '../state/cluster-view.js'
import { MemoryView } from '../state/memory-view.js'
import type { PlanStep, Rollout } from './types.js'

/** The catalog as the ConfigMap it was read from (name, namespace, data). */
export const catalogObject = catalogToObject

/** A fresh MemoryView holding the catalog and one cluster's objects (all a plan touches). */
export function copyClusterState(view: ClusterView, policy: Policy, namespace: string, cluster: string): MemoryView {
  const copy = new MemoryView(policy.catalog)
  const catalog = view.catalog()
  if (catalog !== undefined) copy.upsert(catalogObject(catalog))
  const c = view.cluster(namespace, cluster)
  if (c !== undefined) copy.upsert(structuredClone(c.raw))
  const kcp = view.controlPlaneOfCluster(namespace, cluster)
  if (kcp !== undefined) copy.upsert(structuredClone(kcp.raw))
  for (const md of view.machineDeploymentsOfCluster(namespace, cluster)) copy.upsert(structuredClone(md.raw))
  return copy
}

/** Replaces, anywhere in a JSON value, every string and map key equal to a placeholder. */
export function substitute<T>(value: T, replacements: ReadonlyMap<string, string>): T {
  if (replacements.size === 0) return value
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return replacements.get(v) ?? v
    if (Array.isArray(v)) return v.map(walk)
    if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [replacements.get(k) ?? k, walk(x)]))
    return v
  }
  return walk(value) as T
}

/** A wait step's effect: each control plane now runs the version waited for on every machine. */
export function completeRollouts(view: MemoryView, rollouts: readonly Rollout[]): void {
  for (const r of rollouts) {
    if (r.kind !== 'KubeadmControlPlane') continue // an MD has no status.version any rule reads
    const kcp = view.controlPlane(r.namespace, r.name)
    if (kcp === undefined) continue
    const status = isRecord(kcp.raw.status) ? kcp.raw.status : {}
    view.upsert({ ...kcp.raw, status: { ...status, version: r.version } })
  }
}

export interface StepDenial {
  readonly step: PlanStep
  readonly object: Unstructured
  readonly denied: readonly Violation[]
}

/**
 * Judges every step in order on `view` (which it changes). Returns the first denial, or
 * undefined when every step is allowed.
 */
export function replay(steps: readonly PlanStep[], view: MemoryView, policy: Policy, user: UserInfo, replacements: ReadonlyMap<string, string> = new Map()): StepDenial | undefined {
  for (const step of steps) {
    for (const raw of step.objects) {
      const { object, decision } = dryRunApply(view, substitute(raw, replacements), policy, user)
      if (!decision.allowed) return { step, object, denied: decision.denied }
    }
    completeRollouts(view, step.waitFor)
  }
  return undefined
}
