/**
 * @module test/helpers/lifecycle
 * Builders for the lifecycle kinds (Machines, BaremetalMachines, templates, pools, inventories,
 * management Deployments) around the test world of helpers/objects (cluster bm-workload), with
 * exactly the fields SPEC's table names.
 */
import type { ApiLevel } from '../../src/objects/capi.js'
import { DEFAULT_POLICY } from '../../src/policy/load.js'
import { CLUSTER, KCP_NAME, MD_NAME, NS, type Obj } from './objects.js'

export interface MachineOptions {
  readonly level?: ApiLevel
  readonly role?: 'control-plane' | 'worker'
  readonly version?: string
  readonly phase?: string
  readonly ready?: 'True' | 'False' | 'Unknown' | null
  readonly nodeHealthy?: 'True' | 'False' | null
  readonly node?: boolean
  readonly deleting?: boolean
  readonly owner?: string
  readonly deployment?: string
  readonly cluster?: string
}

export function machine(name: string, o: MachineOptions = {}): Obj {
  const role = o.role ?? 'control-plane'
  const labels: Record<string, string> = { 'cluster.x-k8s.io/cluster-name': o.cluster ?? CLUSTER }
  if (role === 'control-plane') labels['cluster.x-k8s.io/control-plane'] = ''
  else labels['cluster.x-k8s.io/deployment-name'] = o.deployment ?? MD_NAME
  const metadata: Obj = {
    name,
    namespace: NS,
    labels,
    ownerReferences: role === 'control-plane' ? [{ apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1', kind: 'KubeadmControlPlane', name: o.owner ?? KCP_NAME, uid: `uid-${name}` }] : [{ apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'MachineSet', name: `${o.deployment ?? MD_NAME}-abc`, uid: `uid-${name}` }],
  }
  if (o.deleting === true) metadata.deletionTimestamp = '2026-12-01T10:00:00Z'
  const conditions: Obj[] = []
  const ready = o.ready === undefined ? 'True' : o.ready
  const nodeHealthy = o.nodeHealthy === undefined ? 'True' : o.nodeHealthy
  if (ready !== null) conditions.push({ type: 'Ready', status: ready, ...(ready === 'True' ? {} : { reason: 'NodeNotReady' }) })
  if (nodeHealthy !== null) conditions.push({ type: 'NodeHealthy', status: nodeHealthy })
  if ((o.level ?? 'v1beta1') === 'v1beta2') conditions.push({ type: 'Available', status: ready === 'True' ? 'True' : 'False' })
  const status: Obj = { phase: o.phase ?? 'Running', conditions }
  if (o.node !== false) status.nodeRef = (o.level ?? 'v1beta1') === 'v1beta1' ? { apiVersion: 'v1', kind: 'Node', name } : { name }
  return {
    apiVersion: `cluster.x-k8s.io/${o.level ?? 'v1beta1'}`,
    kind: 'Machine',
    metadata,
    spec: { clusterName: o.cluster ?? CLUSTER, version: o.version ?? 'v1.33.7-2', infrastructureRef: { kind: 'BaremetalMachine', name } },
    status,
  }
}

export const controlPlaneMachines = (o: MachineOptions = {}): Obj[] => ['a', 'b', 'c'].map((s) => machine(`${KCP_NAME}-${s}`, o))
export const workerMachines = (o: MachineOptions = {}): Obj[] => ['a', 'b', 'c'].map((s) => machine(`${MD_NAME}-${s}`, { role: 'worker', ...o }))

export function template(name: string, pool: string | null): Obj {
  return { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'BaremetalMachineTemplate', metadata: { name, namespace: NS }, spec: { template: { spec: pool === null ? {} : { machineInventoryPoolRef: { name: pool } } } } }
}

export interface Counters {
  readonly available?: number
  readonly allocated?: number
  readonly preparing?: number
  readonly reprovisioning?: number
  readonly unavailable?: number
  readonly total?: number
}

export function pool(name: string, counters: Counters | null = { allocated: 3, total: 3 }): Obj {
  const obj: Obj = { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'MachineInventoryPool', metadata: { name, namespace: NS }, spec: { clusterName: CLUSTER, machineInventories: [{ name: 'host-1', hostname: 'host-1.example.com' }] } }
  if (counters !== null) obj.status = { available: 0, allocated: 0, preparing: 0, reprovisioning: 0, unavailable: 0, total: 0, ...counters }
  return obj
}

export function deployment(namespace: string, name: string, o: { generation?: number; observed?: number; replicas?: number; updated?: number; available?: number } = {}): Obj {
  const replicas = o.replicas ?? 1
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, generation: o.generation ?? 2 },
    spec: { replicas },
    status: { observedGeneration: o.observed ?? o.generation ?? 2, replicas, updatedReplicas: o.updated ?? replicas, availableReplicas: o.available ?? replicas },
  }
}

export const managementDeployments = (): Obj[] => DEFAULT_POLICY.management.deployments.map((d) => deployment(d.namespace, d.name))

export function baremetalMachine(name: string, o: { phase?: string; imageResolved?: { status: string; reason?: string } } = {}): Obj {
  return {
    apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
    kind: 'BaremetalMachine',
    metadata: { name, namespace: NS },
    spec: { machineInventoryPoolRef: { name: 'cp-pool' }, providerID: `elemental://${name}` },
    status: { phase: o.phase ?? 'Running', conditions: o.imageResolved === undefined ? [{ type: 'ImageResolved', status: 'True' }] : [{ type: 'ImageResolved', ...o.imageResolved }] },
  }
}

/** Everything a healthy cluster of helpers/objects needs for the preflight rules to pass. */
export function healthyLifecycle(o: { machine?: MachineOptions } = {}): Obj[] {
  return [
    ...controlPlaneMachines(o.machine),
    ...workerMachines(o.machine),
    template(`${KCP_NAME}-template`, 'cp-pool'),
    template(`${MD_NAME}-template`, 'worker-pool'),
    pool('cp-pool', { allocated: 3, total: 3 }),
    pool('worker-pool', { available: 1, allocated: 3, total: 4 }),
    ...managementDeployments(),
  ]
}
