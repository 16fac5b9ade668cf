/**
 * @module state/memory-view
 * In-memory ClusterView, indexed by cluster so a decision costs O(objects of that cluster).
 * Filled from files (file-view) or kept current by informers (informer-view).
 */
import { readCluster, readGuarded, type ClusterInfo, type GuardedObject } from '../objects/capi.js'
import { isCatalogObject, readCatalog, type Catalog, type CatalogRef } from '../objects/catalog.js'
import { getString, isRecord } from '../objects/unstructured.js'
import type { ClusterView, ViewStatus } from './cluster-view.js'
import { LifecycleIndex, type LifecycleFacts } from './lifecycle-view.js'
import { LIFECYCLE_KINDS, lifecycleKindOf, type LifecycleKind } from '../objects/lifecycle.js'
import { NamedIndex } from './named-index.js'
import { addTo, removeFrom } from './set-index.js'

export type ObjectKind = 'Cluster' | 'KubeadmControlPlane' | 'MachineDeployment' | 'Catalog' | LifecycleKind

export class MemoryView implements ClusterView {
  private readonly catalogRef: CatalogRef
  private catalogValue: Catalog | undefined
  private readonly clusters = new NamedIndex<ClusterInfo>()
  private readonly kcps = new NamedIndex<GuardedObject>()
  private readonly mds = new NamedIndex<GuardedObject>()
  /** ns/cluster → md names (same namespace) */
  private readonly mdsByCluster = new NamedIndex<Set<string>>()
  /** machineDeploymentsOfCluster's sorted answer, kept until an MD of that Cluster changes (asked on every MD request). */
  private readonly mdListByCluster = new NamedIndex<readonly GuardedObject[]>()
  /** ns/cluster → kcp name (same namespace), from the cluster-name label / owner reference */
  private readonly kcpByCluster = new NamedIndex<string>()
  /** ns/kcp name → cluster name (same namespace), from Cluster.spec.controlPlaneRef */
  private readonly clusterByControlPlane = new NamedIndex<string>()
  /** version string → the KCPs and MDs that name it (the records themselves: no key string per record) */
  private readonly versionUsers = new Map<string, Set<GuardedObject>>()
  private currentStatus: ViewStatus
  private changes = 0
  /** Machines, hosts, pools, inventories, Deployments, management version. */
  readonly lifecycleIndex = new LifecycleIndex()
  private readonly recordMode: RecordMode
  private records: RecordMaker

  /** `records`: how objects are stored ({@link RecordMode}); lean unless a one-shot command asks for plain. */
  constructor(catalogRef: CatalogRef, status: ViewStatus = { available: true, updatedAt: Date.now() }, records: RecordMode = 'lean') {
    this.catalogRef = catalogRef
    this.currentStatus = status
    this.recordMode = records
    this.records = makeRecords(records)
  }

  status(): ViewStatus {
    return this.currentStatus
  }

  revision(): number {
    return this.changes
  }

  setStatus(status: ViewStatus): void {
    this.currentStatus = status
  }

  catalog(): Catalog | undefined {
    return this.catalogValue
  }

  lifecycle(): LifecycleFacts {
    return this.lifecycleIndex
  }

  managementVersion(): string | undefined {
    return this.lifecycleIndex.managementVersion()
  }

  cluster(namespace: string, name: string): ClusterInfo | undefined {
    return this.clusters.get(namespace, name)
  }

  clusterOfControlPlane(namespace: string, name: string): ClusterInfo | undefined {
    const clusterName = this.clusterByControlPlane.get(namespace, name)
    return clusterName === undefined ? undefined : this.clusters.get(namespace, clusterName)
  }

  controlPlane(namespace: string, name: string): GuardedObject | undefined {
    return this.kcps.get(namespace, name)
  }

  machineDeployment(namespace: string, name: string): GuardedObject | undefined {
    return this.mds.get(namespace, name)
  }

  controlPlaneOfCluster(namespace: string, clusterName: string): GuardedObject | undefined {
    const cluster = this.cluster(namespace, clusterName)
    if (cluster?.controlPlaneKind === 'KubeadmControlPlane' && cluster.controlPlaneName !== undefined) {
      const byRef = this.controlPlane(namespace, cluster.controlPlaneName)
      if (byRef !== undefined) return byRef
    }
    const byLabel = this.kcpByCluster.get(namespace, clusterName)
    return byLabel === undefined ? undefined : this.kcps.get(namespace, byLabel)
  }

  machineDeploymentsOfCluster(namespace: string, clusterName: string): readonly GuardedObject[] {
    const known = this.mdListByCluster.get(namespace, clusterName)
    if (known !== undefined) return known
    const names = this.mdsByCluster.get(namespace, clusterName)
    if (names === undefined) return []
    const out: GuardedObject[] = []
    for (const n of names) {
      const md = this.mds.get(namespace, n)
      if (md !== undefined) out.push(md)
    }
    const sorted = Object.freeze(out.sort((a, b) => a.name.localeCompare(b.name)))
    this.mdListByCluster.set(namespace, clusterName, sorted)
    return sorted
  }

  usersOfVersion(version: string): readonly GuardedObject[] {
    const users = this.versionUsers.get(version)
    return users === undefined ? [] : [...users]
  }

  guardedObjects(): readonly GuardedObject[] {
    return [...this.kcps.values(), ...this.mds.values()]
  }

  counts(): { clusters: number; controlPlanes: number; machineDeployments: number; catalogEntries: number } {
    return { clusters: this.clusters.size, controlPlanes: this.kcps.size, machineDeployments: this.mds.size, catalogEntries: this.catalogValue?.entries.size ?? 0 }
  }

  /**
   * After a bulk fill (files loaded, a list applied): forget the table of shared strings. The
   * stored records keep sharing theirs; later upserts start a new, small table.
   */
  settle(): void {
    this.records = makeRecords(this.recordMode)
  }

  /** Adds or replaces an object; returns what it was taken as, or undefined if not tracked. */
  upsert(input: unknown): ObjectKind | undefined {
    this.changes++
    const obj = this.records.build(input)
    if (isCatalogObject(obj, this.catalogRef)) {
      this.catalogValue = readCatalog(obj)
      return 'Catalog'
    }
    const cluster = readCluster(obj)
    if (cluster !== undefined) {
      this.removeCluster(cluster.namespace, cluster.name)
      this.clusters.set(cluster.namespace, cluster.name, cluster)
      if (cluster.controlPlaneKind === 'KubeadmControlPlane' && cluster.controlPlaneName !== undefined) this.clusterByControlPlane.set(cluster.namespace, cluster.controlPlaneName, cluster.name)
      return 'Cluster'
    }
    const lifecycle = this.lifecycleIndex.upsert(obj)
    if (lifecycle !== undefined) return lifecycle
    const read = readGuarded(obj)
    if (!read.ok) return undefined
    this.removeGuarded(read.object.kind, read.object.namespace, read.object.name)
    this.indexGuarded(read.object)
    return read.object.kind
  }

  /** Removes an object (by kind, namespace and name); unknown objects are ignored. */
  remove(obj: unknown): ObjectKind | undefined {
    if (!isRecord(obj)) return undefined
    this.changes++
    const namespace = getString(obj, ['metadata', 'namespace']) ?? ''
    const name = getString(obj, ['metadata', 'name']) ?? ''
    if (isCatalogObject(obj, this.catalogRef)) {
      this.catalogValue = undefined
      return 'Catalog'
    }
    if (obj.kind === 'Cluster') {
      this.removeCluster(namespace, name)
      return 'Cluster'
    }
    if (obj.kind === 'KubeadmControlPlane' || obj.kind === 'MachineDeployment') {
      this.removeGuarded(obj.kind, namespace, name)
      return obj.kind
    }
    const lifecycle = lifecycleKindOf(obj)
    if (lifecycle !== undefined) this.lifecycleIndex.remove(lifecycle, namespace, name)
    return lifecycle
  }

  /** Drops every object of one kind (an informer relist replaces them). */
  clear(kind?: ObjectKind): void {
    this.changes++
    if (kind !== undefined && kind !== 'Catalog' && kind !== 'Cluster' && kind !== 'KubeadmControlPlane' && kind !== 'MachineDeployment') return this.lifecycleIndex.clear(kind)
    if (kind === undefined) for (const k of LIFECYCLE_KINDS) this.lifecycleIndex.clear(k)
    if (kind === undefined || kind === 'Catalog') this.catalogValue = undefined
    if (kind === undefined || kind === 'Cluster') {
      this.clusters.clear()
      this.clusterByControlPlane.clear()
    }
    for (const k of kind === undefined || kind === 'KubeadmControlPlane' ? [...this.kcps.values()] : []) this.removeGuarded('KubeadmControlPlane', k.namespace, k.name)
    for (const m of kind === undefined || kind === 'MachineDeployment' ? [...this.mds.values()] : []) this.removeGuarded('MachineDeployment', m.namespace, m.name)
  }

  private removeCluster(namespace: string, name: string): void {
    const existing = this.clusters.get(namespace, name)
    if (existing === undefined) return
    this.clusters.delete(namespace, name)
    if (existing.controlPlaneName !== undefined && this.clusterByControlPlane.get(namespace, existing.controlPlaneName) === name) {
      this.clusterByControlPlane.delete(namespace, existing.controlPlaneName)
    }
  }

  private indexGuarded(obj: GuardedObject): void {
    if (obj.kind === 'KubeadmControlPlane') {
      this.kcps.set(obj.namespace, obj.name, obj)
      if (obj.clusterName !== undefined) this.kcpByCluster.set(obj.namespace, obj.clusterName, obj.name)
      for (const v of [obj.version, obj.statusVersion]) if (typeof v === 'string') addTo(this.versionUsers, v, obj)
    } else {
      this.mds.set(obj.namespace, obj.name, obj)
      if (obj.clusterName !== undefined) {
        const names = this.mdsByCluster.get(obj.namespace, obj.clusterName)
        if (names === undefined) this.mdsByCluster.set(obj.namespace, obj.clusterName, new Set([obj.name]))
        else names.add(obj.name)
        this.mdListByCluster.delete(obj.namespace, obj.clusterName)
      }
      if (typeof obj.version === 'string') addTo(this.versionUsers, obj.version, obj)
    }
  }

  private removeGuarded(kind: 'KubeadmControlPlane' | 'MachineDeployment', namespace: string, name: string): void {
    const existing = kind === 'KubeadmControlPlane' ? this.kcps.get(namespace, name) : this.mds.get(namespace, name)
    if (existing === undefined) return
    for (const v of [existing.version, existing.statusVersion]) if (typeof v === 'string') removeFrom(this.versionUsers, v, existing)
    if (kind === 'KubeadmControlPlane') {
      this.kcps.delete(namespace, name)
      if (existing.clusterName !== undefined && this.kcpByCluster.get(namespace, existing.clusterName) === name) {
        this.kcpByCluster.delete(namespace, existing.clusterName)
      }
    } else {
      this.mds.delete(namespace, name)
      if (existing.clusterName !== undefined) {
        const names = this.mdsByCluster.get(namespace, existing.clusterName)
        names?.delete(name)
        if (names?.size === 0) this.mdsByCluster.delete(namespace, existing.clusterName)
        this.mdListByCluster.delete(namespace, existing.clusterName)
      }
    }
  }
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'

/** Strings at least this long may be V8 slices of the text they were parsed from. */
const SLICE_MIN = 13
/** Distinct strings remembered for sharing; past this the table starts afresh (bounded). */
const MAX_INTERNED = 100_000
/** Distinct sub-objects remembered for sharing; past this the table starts afresh (bounded). */
const MAX_SHARED_NODES = 50_000

/**
 * The one record builder for every stored object, from files and from list+watch alike:
 * - drops what no rule reads and what makes a live object several times its size: managedFields
 *   and kubectl's last-applied copy of the whole object;
 * - copies every string out of the text it was parsed from. js-yaml hands out V8 sliced
 *   strings, each keeping the whole file text alive (15.9 MiB for the big state) for as long as
 *   one short value of it is stored;
 * - stores each distinct string once: the same apiVersions, kinds, label keys, namespaces and
 *   cluster names repeat across thousands of objects;
 * - stores each distinct sub-object below the top level once, frozen: the same strategy, the
 *   same kubeadmConfigSpec of a release, the same bootstrap reference of a cluster's pools, the
 *   same cluster network repeat across thousands of objects. Shared parts are frozen so that a
 *   write through one record can never change another (it throws instead); nothing writes to
 *   stored records (plan, dry-run and the scale path copy before they change anything).
 * Thousands of KCPs and MDs then fit in a few MiB of heap.
 */
/**
 * How a view stores the objects it is given:
 * - `lean` ({@link RecordBuilder}): interned, shared and frozen, for the webhook, which keeps its
 *   view for days (the big state's heap target);
 * - `plain` ({@link plainRecord}): the object as parsed, without managedFields and kubectl's
 *   last-applied copy, for one-shot commands (`validate`, `review`), whose process ends after
 *   one answer: building lean records was a tenth of `validate`'s time on the big state, for
 *   memory it gives back at exit. The rules read the same values either way.
 */
export type RecordMode = 'lean' | 'plain'

interface RecordMaker {
  build(obj: unknown): unknown
}

function makeRecords(mode: RecordMode): RecordMaker {
  return mode === 'lean' ? new RecordBuilder() : { build: plainRecord }
}

/** A plain record: `obj` with what no rule reads dropped (managedFields, the last-applied annotation); the rest shared with `obj`. */
export function plainRecord(obj: unknown): unknown {
  if (!isRecord(obj) || !isRecord(obj.metadata)) return obj
  // Spread defines properties (an own `__proto__` key stays a plain key, as in RecordBuilder).
  const { managedFields: _managedFields, ...metadata } = obj.metadata as Record<string, unknown>
  const annotations = metadata.annotations
  if (isRecord(annotations) && Object.hasOwn(annotations, LAST_APPLIED)) {
    const { [LAST_APPLIED]: _lastApplied, ...kept } = annotations
    metadata.annotations = kept
  }
  return { ...obj, metadata }
}

export class RecordBuilder {
  private strings = new Map<string, string>()
  /** Interned string → its token in keys (`s` and an id): keys stay short (not the text of every value again). */
  private stringTokens = new Map<string, string>()
  /** Structural key → the shared, frozen node. */
  private nodes = new Map<string, object>()
  /** Shared node → its token in keys (`#` and an id: a parent's key names its children by id); reset with `nodes`. */
  private nodeTokens = new Map<object, string>()
  private nextId = 0

  build(obj: unknown): unknown {
    return this.copy(obj, 'root')
  }

  /** `where`: the object itself, its metadata, its annotations, or anything below. */
  private copy(value: unknown, where: 'root' | 'metadata' | 'annotations' | 'inner'): unknown {
    if (typeof value === 'string') return this.intern(value)
    if (value === null || typeof value !== 'object') return value
    // The structural key is built as the children are copied: undefined once a child is not shared.
    let key: string | undefined
    if (Array.isArray(value)) {
      key = 'a'
      const items = value.map((v: unknown) => {
        const copied = this.copy(v, 'inner')
        if (key !== undefined) {
          const token = this.token(copied)
          key = token === undefined ? undefined : `${key}${token},`
        }
        return copied
      })
      return key === undefined ? items : this.share(items, key)
    }
    const out: Record<string, unknown> = {}
    // The object itself and its metadata are one of a kind (name, uid): never shared.
    key = where === 'root' || where === 'metadata' ? undefined : 'o'
    const input = value as Readonly<Record<string, unknown>>
    for (const k of Object.keys(input)) {
      if (where === 'metadata' && k === 'managedFields') continue
      if (where === 'annotations' && k === LAST_APPLIED) continue
      const inner = where === 'root' && k === 'metadata' ? 'metadata' : where === 'metadata' && k === 'annotations' ? 'annotations' : 'inner'
      const copied = this.copy(input[k], inner)
      if (key !== undefined) {
        const token = this.token(copied)
        // Keys by token too (interned like every string): short, and unambiguous without escaping.
        key = token === undefined ? undefined : `${key}${this.stringTokens.get(k) ?? this.stringTokens.get(this.intern(k))}=${token},`
      }
      // An own `__proto__` key (JSON.parse makes one) must stay a plain key, not set the prototype.
      if (k === '__proto__') Object.defineProperty(out, k, { value: copied, enumerable: true, writable: true, configurable: true })
      else out[k] = copied
    }
    return key === undefined ? out : this.share(out, key)
  }

  /**
   * The node stored once: an earlier node of the same structure (same keys in the same order,
   * the same primitive values, the same shared children: the same `key`), or this one, frozen.
   */
  private share<T extends object>(node: T, key: string): T {
    const known = this.nodes.get(key)
    if (known !== undefined) return known as T
    if (this.nodes.size >= MAX_SHARED_NODES) {
      // Children known only by a token of the old table are simply not shared any more.
      this.nodes = new Map()
      this.nodeTokens = new Map()
    }
    Object.freeze(node)
    this.nodes.set(key, node)
    this.nodeTokens.set(node, `#${this.nextId++}`)
    return node
  }

  /** A value as it appears in a parent's key; undefined for a child that is not shared. */
  private token(v: unknown): string | undefined {
    switch (typeof v) {
      case 'string':
        return this.stringTokens.get(v)
      case 'number':
        return Object.is(v, -0) ? '-0' : `${v}`
      case 'boolean':
        return v ? 't' : 'f'
      case 'undefined':
        return 'u'
      case 'object':
        return v === null ? 'n' : this.nodeTokens.get(v)
      default:
        return undefined
    }
  }

  private intern(s: string): string {
    const known = this.strings.get(s)
    if (known !== undefined) return known
    // A fresh, flat copy: no reference to the parsed text survives.
    const own = s.length < SLICE_MIN ? s : (JSON.parse(JSON.stringify(s)) as string)
    if (this.strings.size >= MAX_INTERNED) {
      // Values known only by a token of the old table are simply not shared any more.
      this.strings = new Map()
      this.stringTokens = new Map()
    }
    this.strings.set(own, own)
    this.stringTokens.set(own, `s${this.nextId++}`)
    return own
  }
}
