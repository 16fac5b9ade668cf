/**
 * @module state/lifecycle-view
 * The lifecycle part of the cluster-state view: Machines, hosts, pools, inventories and the
 * management-side Deployments, indexed so a preflight rule costs O(objects of one cluster), plus
 * the management cluster's own version.
 *
 * "Not present" is a fact, not an error: a provider kind the cluster does not serve (live:
 * discovery) or a snapshot leaves out (files: no object of that kind) reads as absent, and the
 * rules that need it say so with a warning. A snapshot with no lifecycle object at all (an export
 * made before these kinds were read) is "not supplied": the preflight rules stay silent rather
 * than warn on every edit.
 */
import {
  LIFECYCLE_KINDS,
  readLifecycle,
  type BaremetalMachineRecord,
  type DeploymentRecord,
  type InventoryRecord,
  type LifecycleKind,
  type LifecycleRecord,
  type MachineRecord,
  type MachineTemplateRecord,
  type PoolRecord,
} from '../objects/lifecycle.js'
import { addTo, removeFrom } from './set-index.js'

export interface LifecycleFacts {
  /** False for a file snapshot with no lifecycle object and no management version. */
  isSupplied(): boolean
  /** Whether the kind is installed (live) or part of the snapshot (files). */
  has(kind: LifecycleKind): boolean
  machinesOfCluster(namespace: string, clusterName: string): readonly MachineRecord[]
  baremetalMachine(namespace: string, name: string): BaremetalMachineRecord | undefined
  machineTemplate(namespace: string, name: string): MachineTemplateRecord | undefined
  inventoryPool(namespace: string, name: string): PoolRecord | undefined
  inventoryPoolsOfCluster(namespace: string, clusterName: string): readonly PoolRecord[]
  machineInventory(namespace: string, name: string): InventoryRecord | undefined
  deployment(namespace: string, name: string): DeploymentRecord | undefined
  /** The management cluster's gitVersion (`GET /version`, or --management-version). */
  managementVersion(): string | undefined
  /** Why the management version is unknown when it should be known (live: /version failed). */
  managementVersionProblem(): string | undefined
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`

type Store = Map<string, LifecycleRecord>

/** The mutable index MemoryView keeps; informers and the file loader fill it through MemoryView. */
export class LifecycleIndex implements LifecycleFacts {
  private readonly stores = new Map<LifecycleKind, Store>(LIFECYCLE_KINDS.map((k) => [k, new Map()]))
  /** ns/cluster → machine keys */
  private readonly machinesByCluster = new Map<string, Set<string>>()
  /** ns/cluster → pool keys */
  private readonly poolsByCluster = new Map<string, Set<string>>()
  /** Set by discovery (live); unset kinds are present when any object of them was seen. */
  private readonly declared = new Map<LifecycleKind, boolean>()
  private management: { version: string | undefined; problem: string | undefined; isDeclared: boolean } = { version: undefined, problem: undefined, isDeclared: false }

  isSupplied(): boolean {
    if (this.declared.size > 0 || this.management.isDeclared) return true
    for (const store of this.stores.values()) if (store.size > 0) return true
    return false
  }

  has(kind: LifecycleKind): boolean {
    return this.declared.get(kind) ?? (this.stores.get(kind)?.size ?? 0) > 0
  }

  /** Live: what discovery said about a kind (false: not installed; its objects are dropped). */
  setPresent(kind: LifecycleKind, isPresent: boolean): void {
    this.declared.set(kind, isPresent)
    if (!isPresent) this.clear(kind)
  }

  /** The management version; `problem` says why it is unknown when it should be known. */
  setManagementVersion(version: string | undefined, problem?: string): void {
    this.management = { version, problem: version === undefined ? problem : undefined, isDeclared: true }
  }

  managementVersion(): string | undefined {
    return this.management.version
  }

  managementVersionProblem(): string | undefined {
    return this.management.problem
  }

  /** Adds or replaces a lifecycle object; returns its kind, or undefined when it is not one. */
  upsert(obj: unknown): LifecycleKind | undefined {
    const record = readLifecycle(obj)
    if (record === undefined) return undefined
    this.removeRecord(record.kind, record.namespace, record.name)
    const k = key(record.namespace, record.name)
    this.store(record.kind).set(k, record)
    if (record.kind === 'Machine' && record.clusterName !== undefined) addTo(this.machinesByCluster, key(record.namespace, record.clusterName), k)
    if (record.kind === 'MachineInventoryPool' && record.clusterName !== undefined) addTo(this.poolsByCluster, key(record.namespace, record.clusterName), k)
    return record.kind
  }

  remove(kind: LifecycleKind, namespace: string, name: string): void {
    this.removeRecord(kind, namespace, name)
  }

  clear(kind: LifecycleKind): void {
    this.store(kind).clear()
    if (kind === 'Machine') this.machinesByCluster.clear()
    if (kind === 'MachineInventoryPool') this.poolsByCluster.clear()
  }

  count(kind: LifecycleKind): number {
    return this.store(kind).size
  }

  machinesOfCluster(namespace: string, clusterName: string): readonly MachineRecord[] {
    return this.byIndex(this.machinesByCluster, 'Machine', key(namespace, clusterName)) as MachineRecord[]
  }

  baremetalMachine(namespace: string, name: string): BaremetalMachineRecord | undefined {
    return this.get('BaremetalMachine', namespace, name) as BaremetalMachineRecord | undefined
  }

  machineTemplate(namespace: string, name: string): MachineTemplateRecord | undefined {
    return this.get('BaremetalMachineTemplate', namespace, name) as MachineTemplateRecord | undefined
  }

  inventoryPool(namespace: string, name: string): PoolRecord | undefined {
    return this.get('MachineInventoryPool', namespace, name) as PoolRecord | undefined
  }

  inventoryPoolsOfCluster(namespace: string, clusterName: string): readonly PoolRecord[] {
    return this.byIndex(this.poolsByCluster, 'MachineInventoryPool', key(namespace, clusterName)) as PoolRecord[]
  }

  machineInventory(namespace: string, name: string): InventoryRecord | undefined {
    return this.get('MachineInventory', namespace, name) as InventoryRecord | undefined
  }

  deployment(namespace: string, name: string): DeploymentRecord | undefined {
    return this.get('Deployment', namespace, name) as DeploymentRecord | undefined
  }

  private store(kind: LifecycleKind): Store {
    const s = this.stores.get(kind)
    if (s === undefined) throw new Error(`no store for ${kind}`)
    return s
  }

  private get(kind: LifecycleKind, namespace: string, name: string): LifecycleRecord | undefined {
    return this.store(kind).get(key(namespace, name))
  }

  private byIndex(index: Map<string, Set<string>>, kind: LifecycleKind, k: string): LifecycleRecord[] {
    const keys = index.get(k)
    if (keys === undefined) return []
    const store = this.store(kind)
    const out: LifecycleRecord[] = []
    for (const item of keys) {
      const r = store.get(item)
      if (r !== undefined) out.push(r)
    }
    return out.sort((a, b) => a.name.localeCompare(b.name))
  }

  private removeRecord(kind: LifecycleKind, namespace: string, name: string): void {
    const k = key(namespace, name)
    const existing = this.store(kind).get(k)
    if (existing === undefined) return
    this.store(kind).delete(k)
    if (existing.kind === 'Machine' && existing.clusterName !== undefined) removeFrom(this.machinesByCluster, key(namespace, existing.clusterName), k)
    if (existing.kind === 'MachineInventoryPool' && existing.clusterName !== undefined) removeFrom(this.poolsByCluster, key(namespace, existing.clusterName), k)
  }
}
