/**
 * @module objects/lifecycle
 * Slim, read-only records of the objects an upgrade's lifecycle depends on (SPEC "More state"):
 * Machines, BaremetalMachines, BaremetalMachineTemplates, MachineInventoryPools,
 * MachineInventories and the management-side Deployments. Each reader copies out only the
 * fields the preflight rules and `status` use (strings copied, never the object kept), so a live
 * cache of thousands of Machines stays small. The provider CRDs are not public: the field paths
 * are exactly the ones SPEC's table names.
 */
import { CAPI_GROUP, type GuardedObject } from './capi.js'
import { getPath, getString, isRecord } from './unstructured.js'

export const INFRA_GROUP = 'infrastructure.cluster.x-k8s.io'
export const ELEMENTAL_GROUP = 'elemental.cattle.io'
export const CONTROL_PLANE_LABEL = 'cluster.x-k8s.io/control-plane'
export const DEPLOYMENT_NAME_LABEL = 'cluster.x-k8s.io/deployment-name'

export type LifecycleKind = 'Machine' | 'BaremetalMachine' | 'BaremetalMachineTemplate' | 'MachineInventoryPool' | 'MachineInventory' | 'Deployment'

export const LIFECYCLE_KINDS: readonly LifecycleKind[] = ['Machine', 'BaremetalMachine', 'BaremetalMachineTemplate', 'MachineInventoryPool', 'MachineInventory', 'Deployment']

/** A condition as a rule reads it: status and reason, message cut short. */
export interface ConditionRecord {
  readonly status: string
  readonly reason?: string
  readonly message?: string
}

export interface OwnerRecord {
  readonly kind: string
  readonly name: string
}

export interface MachineRecord {
  readonly kind: 'Machine'
  readonly namespace: string
  readonly name: string
  readonly clusterName: string | undefined
  readonly version: string | undefined
  readonly isControlPlane: boolean
  readonly deploymentName: string | undefined
  readonly owners: readonly OwnerRecord[]
  readonly isDeleting: boolean
  readonly phase: string | undefined
  readonly nodeName: string | undefined
  /** spec.infrastructureRef.name: the BaremetalMachine of this Machine (the link `status` follows). */
  readonly infrastructureName: string | undefined
  readonly ready: ConditionRecord | undefined
  readonly nodeHealthy: ConditionRecord | undefined
}

export interface BaremetalMachineRecord {
  readonly kind: 'BaremetalMachine'
  readonly namespace: string
  readonly name: string
  readonly poolName: string | undefined
  readonly providerID: string | undefined
  readonly phase: string | undefined
  readonly imageResolved: ConditionRecord | undefined
}

export interface MachineTemplateRecord {
  readonly kind: 'BaremetalMachineTemplate'
  readonly namespace: string
  readonly name: string
  readonly poolName: string | undefined
}

export interface PoolCounters {
  readonly available: number
  readonly allocated: number
  readonly preparing: number
  readonly reprovisioning: number
  readonly unavailable: number
  readonly total: number
}

export interface PoolRecord {
  readonly kind: 'MachineInventoryPool'
  readonly namespace: string
  readonly name: string
  readonly clusterName: string | undefined
  readonly inventories: readonly { readonly name: string; readonly hostname: string | undefined }[]
  /** Undefined until the provider has reported status. Missing counters read as 0. */
  readonly counters: PoolCounters | undefined
}

export interface InventoryRecord {
  readonly kind: 'MachineInventory'
  readonly namespace: string
  readonly name: string
  /** status.plan.state: `Applied`, or `Failed` (terminal). */
  readonly planState: string | undefined
}

export interface DeploymentRecord {
  readonly kind: 'Deployment'
  readonly namespace: string
  readonly name: string
  readonly generation: number | undefined
  readonly observedGeneration: number | undefined
  readonly replicas: number | undefined
  readonly updatedReplicas: number | undefined
  readonly availableReplicas: number | undefined
}

export type LifecycleRecord = MachineRecord | BaremetalMachineRecord | MachineTemplateRecord | PoolRecord | InventoryRecord | DeploymentRecord

const MAX_TEXT = 256
/** Copies a string out of a decoded object (a slice detaches it from a large parent string). */
const copy = (s: string | undefined): string | undefined => (s === undefined ? undefined : s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : (' ' + s).slice(1))
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)

function groupOf(apiVersion: unknown): string | undefined {
  if (typeof apiVersion !== 'string') return undefined
  const i = apiVersion.indexOf('/')
  return i < 0 ? '' : apiVersion.slice(0, i)
}

function condition(obj: unknown, type: string): ConditionRecord | undefined {
  const list = getPath(obj, ['status', 'conditions'])
  if (!Array.isArray(list)) return undefined
  const found: unknown = list.find((c) => isRecord(c) && c.type === type)
  if (!isRecord(found) || typeof found.status !== 'string') return undefined
  const reason = copy(getString(found, ['reason']))
  const message = copy(getString(found, ['message']))
  return { status: copy(found.status) ?? '', ...(reason === undefined || reason === '' ? {} : { reason }), ...(message === undefined || message === '' ? {} : { message }) }
}

function owners(obj: unknown): OwnerRecord[] {
  const list = getPath(obj, ['metadata', 'ownerReferences'])
  if (!Array.isArray(list)) return []
  return list.filter((o): o is Record<string, unknown> => isRecord(o) && typeof o.kind === 'string' && typeof o.name === 'string').map((o) => ({ kind: copy(o.kind as string) ?? '', name: copy(o.name as string) ?? '' }))
}

function meta(obj: unknown): { namespace: string; name: string } {
  return { namespace: copy(getString(obj, ['metadata', 'namespace'])) ?? '', name: copy(getString(obj, ['metadata', 'name'])) ?? '' }
}

function readMachine(obj: unknown): MachineRecord {
  const labels = getPath(obj, ['metadata', 'labels'])
  const label = (k: string): string | undefined => (isRecord(labels) && typeof labels[k] === 'string' ? (labels[k] as string) : undefined)
  return {
    kind: 'Machine',
    ...meta(obj),
    clusterName: copy(getString(obj, ['spec', 'clusterName'])),
    version: copy(getString(obj, ['spec', 'version'])),
    isControlPlane: label(CONTROL_PLANE_LABEL) !== undefined,
    deploymentName: copy(label(DEPLOYMENT_NAME_LABEL)),
    owners: owners(obj),
    isDeleting: getString(obj, ['metadata', 'deletionTimestamp']) !== undefined,
    phase: copy(getString(obj, ['status', 'phase'])),
    nodeName: copy(getString(obj, ['status', 'nodeRef', 'name'])),
    infrastructureName: copy(getString(obj, ['spec', 'infrastructureRef', 'name'])),
    // v1beta1 and v1beta2 both keep Ready and NodeHealthy in status.conditions (v1beta2 moved
    // the old ones to status.deprecated.v1beta1 and added Available, which `status` ignores).
    ready: condition(obj, 'Ready'),
    nodeHealthy: condition(obj, 'NodeHealthy'),
  }
}

function readCounters(obj: unknown): PoolCounters | undefined {
  const status = getPath(obj, ['status'])
  if (!isRecord(status)) return undefined
  const keys = ['available', 'allocated', 'preparing', 'reprovisioning', 'unavailable', 'total'] as const
  if (!keys.some((k) => num(status[k]) !== undefined)) return undefined
  const [available, allocated, preparing, reprovisioning, unavailable, total] = keys.map((k) => num(status[k]) ?? 0) as [number, number, number, number, number, number]
  return { available, allocated, preparing, reprovisioning, unavailable, total }
}

function readPool(obj: unknown): PoolRecord {
  const list = getPath(obj, ['spec', 'machineInventories'])
  const inventories = Array.isArray(list)
    ? list.filter((i): i is Record<string, unknown> => isRecord(i) && typeof i.name === 'string').map((i) => ({ name: copy(i.name as string) ?? '', hostname: copy(getString(i, ['hostname'])) }))
    : []
  return { kind: 'MachineInventoryPool', ...meta(obj), clusterName: copy(getString(obj, ['spec', 'clusterName'])), inventories, counters: readCounters(obj) }
}

/** The kind of a lifecycle object, or undefined for anything else (wrong group included). */
export function lifecycleKindOf(obj: unknown): LifecycleKind | undefined {
  if (!isRecord(obj)) return undefined
  const group = groupOf(obj.apiVersion)
  switch (obj.kind) {
    case 'Machine':
      return group === CAPI_GROUP ? 'Machine' : undefined
    case 'BaremetalMachine':
    case 'BaremetalMachineTemplate':
    case 'MachineInventoryPool':
      return group === INFRA_GROUP ? obj.kind : undefined
    case 'MachineInventory':
      return group === ELEMENTAL_GROUP ? 'MachineInventory' : undefined
    case 'Deployment':
      return obj.apiVersion === 'apps/v1' ? 'Deployment' : undefined
    default:
      return undefined
  }
}

/** Reads a lifecycle object into its slim record; undefined when it is not one. */
export function readLifecycle(obj: unknown): LifecycleRecord | undefined {
  const kind = lifecycleKindOf(obj)
  switch (kind) {
    case 'Machine':
      return readMachine(obj)
    case 'BaremetalMachine':
      return {
        kind,
        ...meta(obj),
        poolName: copy(getString(obj, ['spec', 'machineInventoryPoolRef', 'name'])),
        providerID: copy(getString(obj, ['spec', 'providerID'])),
        phase: copy(getString(obj, ['status', 'phase'])),
        imageResolved: condition(obj, 'ImageResolved'),
      }
    case 'BaremetalMachineTemplate':
      return { kind, ...meta(obj), poolName: copy(getString(obj, ['spec', 'template', 'spec', 'machineInventoryPoolRef', 'name'])) }
    case 'MachineInventoryPool':
      return readPool(obj)
    case 'MachineInventory':
      return { kind, ...meta(obj), planState: copy(getString(obj, ['status', 'plan', 'state'])) }
    case 'Deployment':
      return {
        kind,
        ...meta(obj),
        generation: num(getPath(obj, ['metadata', 'generation'])),
        observedGeneration: num(getPath(obj, ['status', 'observedGeneration'])),
        replicas: num(getPath(obj, ['spec', 'replicas'])) ?? 1,
        updatedReplicas: num(getPath(obj, ['status', 'updatedReplicas'])) ?? 0,
        availableReplicas: num(getPath(obj, ['status', 'availableReplicas'])) ?? 0,
      }
    default:
      return undefined
  }
}

/** Why a Machine is not healthy ("being deleted", "phase Provisioning", "Ready=False (NodeNotReady)"), or undefined when it is. */
export function machineProblem(m: MachineRecord): string | undefined {
  if (m.isDeleting) return 'being deleted'
  if (m.phase !== 'Running') return `phase ${m.phase ?? 'unknown'}`
  if (m.nodeName === undefined) return 'no node'
  const bad = (label: string, c: ConditionRecord | undefined, required: boolean): string | undefined => {
    if (c === undefined) return required ? `${label} unknown` : undefined
    return c.status === 'True' ? undefined : `${label}=${c.status}${c.reason === undefined ? '' : ` (${c.reason})`}`
  }
  return bad('Ready', m.ready, true) ?? bad('NodeHealthy', m.nodeHealthy, false)
}

/** Why a Deployment has not finished rolling out, or undefined when it has. */
export function deploymentProblem(d: DeploymentRecord): string | undefined {
  if (d.generation !== undefined && (d.observedGeneration === undefined || d.observedGeneration < d.generation)) return `generation ${d.generation} not observed yet (observed ${d.observedGeneration ?? 'none'})`
  const replicas = d.replicas ?? 1
  if ((d.updatedReplicas ?? 0) !== replicas || (d.availableReplicas ?? 0) !== replicas) return `${d.updatedReplicas ?? 0}/${replicas} updated, ${d.availableReplicas ?? 0}/${replicas} available`
  return undefined
}

/** The Machines that belong to a control plane: control-plane label, and its KCP as owner when an owner is set. */
export function isMachineOfControlPlane(m: MachineRecord, kcpName: string): boolean {
  if (!m.isControlPlane) return false
  const kcpOwners = m.owners.filter((o) => o.kind === 'KubeadmControlPlane')
  return kcpOwners.length === 0 || kcpOwners.some((o) => o.name === kcpName)
}

export const isMachineOfDeployment = (m: MachineRecord, mdName: string): boolean => !m.isControlPlane && m.deploymentName === mdName

/** The name of a KCP's or MD's infrastructure template (read from the stored object, both API levels). */
export function infrastructureTemplateName(obj: GuardedObject): string | undefined {
  const path =
    obj.kind === 'KubeadmControlPlane'
      ? obj.level === 'v1beta1'
        ? ['spec', 'machineTemplate', 'infrastructureRef', 'name']
        : ['spec', 'machineTemplate', 'spec', 'infrastructureRef', 'name']
      : ['spec', 'template', 'spec', 'infrastructureRef', 'name']
  return getString(obj.raw, path)
}

/** Desired replicas of a KCP or MD (CAPI defaults a missing value to 1). */
export function desiredReplicas(obj: GuardedObject): number {
  return typeof obj.replicas === 'number' && Number.isInteger(obj.replicas) && obj.replicas >= 0 ? obj.replicas : 1
}
