/**
 * @module plan/simulate
 * Replays plan steps through the engine, in order, on a copy of the state: each object a step
 * leaves behind is judged as an UPDATE of the stored one (status stays the stored one, as the API
 * server keeps it), and each wait step completes its rollouts (KCP status.version reaches the
 * version waited for). The planner refuses a plan that would be denied anywhere, so a printed plan
 * is one the webhook allows step by step.
 */
import { applyPatch, mutate } from '../admission/patch.js'
import type { UserInfo } from '../engine/decision.js'
import { evaluate } from '../engine/evaluate.js'
import { guardedKindOf } from '../objects/capi.js'
import { isCatalogObject } from '../objects/catalog.js'
import { getString, isRecord, type Unstructured } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import type { Violation } from '../rules/types.js'
import type { ClusterView } from '../state/cluster-view.js'
import { MemoryView } from '../state/memory-view.js'
import type { PlanStep, Rollout } from './types.js'

/** The catalog as the ConfigMap it was read from (name, namespace, data). */
export function catalogObject(catalog: { readonly namespace: string; readonly name: string; readonly entries: ReadonlyMap<string, string> }): Unstructured {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: catalog.namespace, name: catalog.name }, data: Object.fromEntries(catalog.entries) }
}

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

/** The stored object a step's object updates (status included), from the view. */
export function storedObject(view: MemoryView, obj: Unstructured, policy: Policy): Unstructured | undefined {
  const namespace = getString(obj, ['metadata', 'namespace']) ?? ''
  const name = getString(obj, ['metadata', 'name']) ?? ''
  const kind = guardedKindOf(obj)
  if (kind === 'KubeadmControlPlane') return view.controlPlane(namespace, name)?.raw
  if (kind === 'MachineDeployment') return view.machineDeployment(namespace, name)?.raw
  if (isCatalogObject(obj, policy.catalog)) {
    const catalog = view.catalog()
    return catalog === undefined ? undefined : catalogObject(catalog)
  }
  if (obj.kind === 'Cluster') return view.cluster(namespace, name)?.raw
  return undefined
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
      const obj = substitute(raw, replacements)
      const stored = storedObject(view, obj, policy)
      const operation = stored === undefined ? 'CREATE' : 'UPDATE'
      const { status: _client, ...rest } = obj
      const proposed: Unstructured = stored?.status === undefined ? rest : { ...rest, status: stored.status }
      const mutation = mutate({ operation, object: proposed }, policy)
      const object = mutation.patch.length > 0 ? applyPatch(proposed, mutation.patch) : proposed
      const decision = evaluate(
        { operation, object, oldObject: stored ?? null, userInfo: user, namespace: getString(object, ['metadata', 'namespace']) ?? '', name: getString(object, ['metadata', 'name']) ?? '' },
        view,
        policy,
      )
      if (!decision.allowed) return { step, object, denied: decision.denied }
      view.upsert(object)
    }
    completeRollouts(view, step.waitFor)
  }
  return undefined
}
