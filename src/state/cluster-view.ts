/**
 * @module state/cluster-view
 * The read-only view of cluster state that rules decide from: the catalog, Clusters, KCPs and
 * MDs. Implementations: MemoryView (filled from files, or by informers). No rule ever makes an
 * API call.
 */
import type { ClusterInfo, GuardedObject } from '../objects/capi.js'
import type { Catalog } from '../objects/catalog.js'
import type { LifecycleFacts } from './lifecycle-view.js'

export interface ViewStatus {
  /** False until every source has synced, or while it is stale or broken. */
  readonly available: boolean
  /** Why it is not available (shown to users in fail-closed denials). */
  readonly reason?: string
  /** Epoch milliseconds of the last successful sync or event. */
  readonly updatedAt?: number
}

export interface ClusterView {
  status(): ViewStatus
  /** The catalog ConfigMap named by the policy; undefined when it does not exist. */
  catalog(): Catalog | undefined
  cluster(namespace: string, name: string): ClusterInfo | undefined
  controlPlane(namespace: string, name: string): GuardedObject | undefined
  machineDeployment(namespace: string, name: string): GuardedObject | undefined
  /** The Cluster whose spec.controlPlaneRef names this KCP (a new KCP has no label or owner yet). */
  clusterOfControlPlane(namespace: string, name: string): ClusterInfo | undefined
  /** The KCP of a cluster: via Cluster.spec.controlPlaneRef, else the cluster-name label. */
  controlPlaneOfCluster(namespace: string, clusterName: string): GuardedObject | undefined
  machineDeploymentsOfCluster(namespace: string, clusterName: string): readonly GuardedObject[]
  /** KCPs (spec or status version) and MDs (template version) that use a version string. */
  usersOfVersion(version: string): readonly GuardedObject[]
  /** Every KCP and MD (catalog deletion needs them all; O(n), never on a KCP/MD request). */
  guardedObjects(): readonly GuardedObject[]
  /** Machines, hosts, pools, inventories, management Deployments (state/lifecycle-view). */
  lifecycle(): LifecycleFacts
  /** The management cluster's own gitVersion (`GET /version`; files: --management-version). */
  managementVersion(): string | undefined
  counts(): { readonly clusters: number; readonly controlPlanes: number; readonly machineDeployments: number; readonly catalogEntries: number }
  /** Rises with every change of the objects (the server's audit re-runs when it moves); optional for fixed views. */
  revision?(): number
}
