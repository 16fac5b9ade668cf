/**
 * @module objects/links
 * Whose object is this? The one place that decides which Cluster, control plane and
 * MachineDeployments a rule judges an edit against (SPEC "Whose object is this?"):
 *
 * - a KCP belongs to the Cluster whose spec.controlPlaneRef names it. Its cluster-name label and
 *   a Cluster ownerReference count only when no Cluster names it (a Cluster not yet seen), and on
 *   an UPDATE only as they are on the stored object: an edit cannot relabel itself into another
 *   Cluster's rules.
 * - an MD belongs to spec.clusterName (CAPI keeps it immutable and equal to
 *   spec.template.spec.clusterName); its label never counts. Where the old and new object
 *   disagree, every claimed Cluster is judged and the strictest verdict stands.
 *
 * Rules never follow a label themselves: they get the membership on the target (clusterName) and
 * look related objects up through `controlPlaneOf` / `machineDeploymentsOf` here.
 */
import type { ClusterView } from '../state/cluster-view.js'
import type { ClusterInfo, GuardedObject } from './capi.js'

/** How a membership was decided (for messages and docs). */
export type LinkSource = 'controlPlaneRef' | 'spec.clusterName' | 'stored label or ownerReference' | 'none'

export interface Membership {
  /** The Cluster to judge against; undefined when nothing links the object to one. */
  readonly clusterName: string | undefined
  readonly source: LinkSource
}

const NONE: readonly Membership[] = [{ clusterName: undefined, source: 'none' }]

/**
 * Every Cluster a KCP/MD edit must be judged against: one in the normal case, more when the old
 * and new object claim different Clusters. Never empty (`clusterName: undefined` = unknown).
 */
export function membershipsOf(old: GuardedObject | undefined, next: GuardedObject, view: ClusterView): readonly Membership[] {
  if (next.kind === 'KubeadmControlPlane') {
    // The Cluster's own reference is authoritative: nothing on the KCP can change it.
    const owner = view.clusterOfControlPlane(next.namespace, next.name)
    if (owner !== undefined) return [{ clusterName: owner.name, source: 'controlPlaneRef' }]
    // No Cluster names it yet: fall back to what the stored object says (the new object's own
    // claims only on CREATE, where nothing is stored).
    const claims = (old ?? next).clusterClaims
    return claims.length === 0 ? NONE : claims.map((c) => ({ clusterName: c, source: 'stored label or ownerReference' }))
  }
  const claims = old === undefined ? next.clusterClaims : unionOf(next.clusterClaims, old.clusterClaims)
  return claims.length === 0 ? NONE : claims.map((c) => ({ clusterName: c, source: 'spec.clusterName' }))
}

/** `first`, then what only `second` has; `first` itself when that is nothing (the usual UPDATE: no copy). */
function unionOf(first: readonly string[], second: readonly string[]): readonly string[] {
  if (second.every((c) => first.includes(c))) return first
  const union = [...first]
  for (const c of second) if (!union.includes(c)) union.push(c)
  return union
}

/** The object as a rule sees it: member of exactly this Cluster. */
export function withMembership(obj: GuardedObject, m: Membership): GuardedObject {
  return obj.clusterName === m.clusterName ? obj : { ...obj, clusterName: m.clusterName }
}

/**
 * The KCP of a Cluster: the one its spec.controlPlaneRef names (even when that KCP is not in the
 * view: then there is none, never a labelled stand-in). Only a Cluster without a reference (or
 * not in the view) falls back to a stored KCP claiming it that no other Cluster names.
 */
export function controlPlaneOf(view: ClusterView, namespace: string, clusterName: string): GuardedObject | undefined {
  const cluster = view.cluster(namespace, clusterName)
  if (cluster?.controlPlaneName !== undefined) {
    return cluster.controlPlaneKind === 'KubeadmControlPlane' ? view.controlPlane(namespace, cluster.controlPlaneName) : undefined
  }
  const claimed = view.controlPlaneOfCluster(namespace, clusterName)
  if (claimed === undefined) return undefined
  const named = view.clusterOfControlPlane(claimed.namespace, claimed.name)
  return named === undefined || named.name === clusterName ? claimed : undefined
}

/** The MDs of a Cluster: those whose spec.clusterName names it (labels never count). */
export function machineDeploymentsOf(view: ClusterView, namespace: string, clusterName: string): readonly GuardedObject[] {
  return view.machineDeploymentsOfCluster(namespace, clusterName)
}

/** The Cluster object itself (annotations: opt-ins, registry address). */
export const clusterOf = (view: ClusterView, namespace: string, clusterName: string): ClusterInfo | undefined => view.cluster(namespace, clusterName)
