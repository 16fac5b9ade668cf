/**
 * @module objects/capi
 * Reads the fields upgrade-guard needs from KubeadmControlPlane, MachineDeployment and Cluster
 * objects of every served CAPI API version. Fields moved between v1beta1 and v1beta2
 * (reference/SOURCES.md §3); each accessor knows both layouts and never guesses from content.
 */
import { getPath, getString, getStringMap, isRecord, ownField, type Unstructured } from './unstructured.js'

export const KCP_GROUP = 'controlplane.cluster.x-k8s.io'
export const CAPI_GROUP = 'cluster.x-k8s.io'
export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name'

export type ApiLevel = 'v1beta1' | 'v1beta2'
export type GuardedKind = 'KubeadmControlPlane' | 'MachineDeployment'

/** The served CAPI versions whose field layout is known. */
export const API_LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']

interface Layout {
  readonly strategy: readonly string[]
  readonly infraRef: readonly string[]
}

const LAYOUTS: Readonly<Record<GuardedKind, Readonly<Record<ApiLevel, Layout>>>> = {
  KubeadmControlPlane: {
    v1beta1: { strategy: ['spec', 'rolloutStrategy'], infraRef: ['spec', 'machineTemplate', 'infrastructureRef'] },
    v1beta2: { strategy: ['spec', 'rollout', 'strategy'], infraRef: ['spec', 'machineTemplate', 'spec', 'infrastructureRef'] },
  },
  MachineDeployment: {
    v1beta1: { strategy: ['spec', 'strategy'], infraRef: ['spec', 'template', 'spec', 'infrastructureRef'] },
    v1beta2: { strategy: ['spec', 'rollout', 'strategy'], infraRef: ['spec', 'template', 'spec', 'infrastructureRef'] },
  },
}

const GROUP_OF: Readonly<Record<GuardedKind, string>> = {
  KubeadmControlPlane: KCP_GROUP,
  MachineDeployment: CAPI_GROUP,
}

/** Where each field of a guarded object lives in its API version. */
export interface FieldPaths {
  readonly version: readonly string[]
  readonly strategy: readonly string[]
  readonly rollingUpdate: readonly string[]
  readonly maxSurge: readonly string[]
  readonly maxUnavailable: readonly string[]
  readonly strategyType: readonly string[]
  readonly replicas: readonly string[]
}

/** One frozen set per kind and API level, shared by every object (not arrays per object). */
let FIELD_PATHS_BY: Readonly<Record<GuardedKind, Readonly<Record<ApiLevel, FieldPaths>>>>

export function fieldPaths(kind: GuardedKind, level: ApiLevel): FieldPaths {
  return FIELD_PATHS_BY[kind][level]
}

function freezePaths(p: FieldPaths): FieldPaths {
  for (const a of Object.values(p)) Object.freeze(a)
  return Object.freeze(p)
}

function buildFieldPaths(kind: GuardedKind, level: ApiLevel): FieldPaths {
  const { strategy } = LAYOUTS[kind][level]
  const rollingUpdate = [...strategy, 'rollingUpdate']
  return {
    version: kind === 'KubeadmControlPlane' ? ['spec', 'version'] : ['spec', 'template', 'spec', 'version'],
    strategy,
    rollingUpdate,
    maxSurge: [...rollingUpdate, 'maxSurge'],
    maxUnavailable: [...rollingUpdate, 'maxUnavailable'],
    strategyType: [...strategy, 'type'],
    replicas: ['spec', 'replicas'],
  }
}

FIELD_PATHS_BY = {
  KubeadmControlPlane: { v1beta1: freezePaths(buildFieldPaths('KubeadmControlPlane', 'v1beta1')), v1beta2: freezePaths(buildFieldPaths('KubeadmControlPlane', 'v1beta2')) },
  MachineDeployment: { v1beta1: freezePaths(buildFieldPaths('MachineDeployment', 'v1beta1')), v1beta2: freezePaths(buildFieldPaths('MachineDeployment', 'v1beta2')) },
}

/** What every guarded object exposes, whatever its kind and API version. */
export interface GuardedObject {
  readonly kind: GuardedKind
  readonly level: ApiLevel
  readonly namespace: string
  readonly name: string
  readonly paths: FieldPaths
  /** Raw values, unvalidated: rules decide what is wrong with them. */
  readonly version: unknown
  readonly maxSurge: unknown
  readonly maxUnavailable: unknown
  readonly strategyType: unknown
  readonly replicas: unknown
  readonly infrastructureKind: string | undefined
  /**
   * The Cluster this object is judged against. As read: the first of `clusterClaims`. The engine
   * (engine/scope via objects/links) replaces it with the authoritative link before any rule runs.
   */
  readonly clusterName: string | undefined
  /**
   * What the object itself says about its Cluster, in order. MD: spec.clusterName and
   * spec.template.spec.clusterName (the label never counts). KCP: the cluster-name label and a
   * Cluster ownerReference — fallbacks only, used when no Cluster's spec.controlPlaneRef names it.
   */
  readonly clusterClaims: readonly string[]
  /** KCP only: status.version, the lowest version running on its machines. */
  readonly statusVersion: unknown
  readonly dnsImageTag: unknown
  readonly etcdImageTag: unknown
  /**
   * The object as read (the view's stored record: managedFields and last-applied dropped).
   * Labels, annotations and the rollout inputs are read from it when needed ({@link rolloutInputsOf}),
   * not copied into every record and every request.
   */
  readonly raw: Unstructured
}

/**
 * Everything whose change makes CAPI replace machines (for ratcheting): built on demand from
 * `raw` (one UPDATE compares old and new), so the view does not keep an array per record.
 */
export function rolloutInputsOf(o: GuardedObject): unknown[] {
  const spec = ownField(o.raw, 'spec')
  const inputs = o.kind === 'KubeadmControlPlane' ? [ownField(spec, 'version'), ownField(spec, 'machineTemplate'), ownField(spec, 'kubeadmConfigSpec')] : [ownField(spec, 'template')]
  // rolloutAfter / rolloutBefore start a rollout without touching anything else.
  if (o.level === 'v1beta1') inputs.push(ownField(spec, 'rolloutAfter'), ownField(spec, 'rolloutBefore'))
  else {
    const rollout = ownField(spec, 'rollout')
    inputs.push(ownField(rollout, 'after'), ownField(rollout, 'before'))
  }
  return inputs
}

/** `group/level` → level, per group asked for (a few groups; no split per request). */
const LEVEL_OF = new Map<string, ReadonlyMap<string, ApiLevel>>()

export function apiLevelOf(apiVersion: unknown, group: string): ApiLevel | undefined {
  if (typeof apiVersion !== 'string') return undefined
  let levels = LEVEL_OF.get(group)
  if (levels === undefined) LEVEL_OF.set(group, (levels = new Map(API_LEVELS.map((l) => [`${group}/${l}`, l]))))
  const level = levels.get(apiVersion)
  if (level !== undefined) return level
  // As read before: the text before the first `/` is the group and the next part the level.
  const [g, v] = apiVersion.split('/')
  return g === group ? API_LEVELS.find((l) => l === v) : undefined
}

export function guardedKindOf(obj: unknown): GuardedKind | undefined {
  const kind = getString(obj, ['kind'])
  return kind === 'KubeadmControlPlane' || kind === 'MachineDeployment' ? kind : undefined
}

export type ReadResult =
  | { readonly ok: true; readonly object: GuardedObject }
  | { readonly ok: false; readonly reason: string }

/** Reads a KCP or MD; refuses an API version whose layout is unknown rather than guessing. */
export function readGuarded(obj: unknown): ReadResult {
  if (!isRecord(obj)) return { ok: false, reason: 'the object is not a JSON object' }
  const kind = guardedKindOf(obj)
  if (kind === undefined) return { ok: false, reason: `kind ${JSON.stringify(obj.kind)} is not KubeadmControlPlane or MachineDeployment` }
  const level = apiLevelOf(obj.apiVersion, GROUP_OF[kind])
  if (level === undefined) {
    return { ok: false, reason: `apiVersion ${JSON.stringify(obj.apiVersion)} is not a served version of ${kind} (${API_LEVELS.map((l) => `${GROUP_OF[kind]}/${l}`).join(', ')})` }
  }
  const paths = fieldPaths(kind, level)
  const isKcp = kind === 'KubeadmControlPlane'
  const claims = clusterClaimsOf(obj, kind)
  // Each shared step read once (what getPath of every full path would read, without starting
  // again at the root for every field).
  const metadata = ownField(obj, 'metadata')
  const strategy = getPath(obj, paths.strategy)
  const rollingUpdate = ownField(strategy, 'rollingUpdate')
  const clusterConfiguration = isKcp ? getPath(obj, CLUSTER_CONFIG) : undefined
  const namespace = ownField(metadata, 'namespace')
  const name = ownField(metadata, 'name')
  const infrastructureKind = getPath(obj, INFRA_KIND[kind][level])
  return {
    ok: true,
    object: {
      kind,
      level,
      namespace: typeof namespace === 'string' ? namespace : '',
      name: typeof name === 'string' ? name : '',
      paths,
      version: getPath(obj, paths.version),
      maxSurge: ownField(rollingUpdate, 'maxSurge'),
      maxUnavailable: ownField(rollingUpdate, 'maxUnavailable'),
      strategyType: ownField(strategy, 'type'),
      replicas: ownField(ownField(obj, 'spec'), 'replicas'),
      infrastructureKind: typeof infrastructureKind === 'string' ? infrastructureKind : undefined,
      clusterName: claims[0],
      clusterClaims: claims,
      statusVersion: isKcp ? ownField(ownField(obj, 'status'), 'version') : undefined,
      dnsImageTag: isKcp ? ownField(ownField(clusterConfiguration, 'dns'), 'imageTag') : undefined,
      etcdImageTag: isKcp ? ownField(ownField(ownField(clusterConfiguration, 'etcd'), 'local'), 'imageTag') : undefined,
      raw: obj,
    },
  }
}

/** Paths read on every request: built once, not per call. */
const CLUSTER_CONFIG: readonly string[] = ['spec', 'kubeadmConfigSpec', 'clusterConfiguration']
const INFRA_KIND = {
  KubeadmControlPlane: { v1beta1: [...LAYOUTS.KubeadmControlPlane.v1beta1.infraRef, 'kind'], v1beta2: [...LAYOUTS.KubeadmControlPlane.v1beta2.infraRef, 'kind'] },
  MachineDeployment: { v1beta1: [...LAYOUTS.MachineDeployment.v1beta1.infraRef, 'kind'], v1beta2: [...LAYOUTS.MachineDeployment.v1beta2.infraRef, 'kind'] },
} as const satisfies Readonly<Record<GuardedKind, Readonly<Record<ApiLevel, readonly string[]>>>>
const MD_CLUSTER_NAME: readonly string[] = ['spec', 'clusterName']
const MD_TEMPLATE_CLUSTER_NAME: readonly string[] = ['spec', 'template', 'spec', 'clusterName']
const CLUSTER_LABEL_PATH: readonly string[] = ['metadata', 'labels', CLUSTER_NAME_LABEL]

/** Distinct non-empty claims, in order (see GuardedObject.clusterClaims). */
function clusterClaimsOf(obj: Unstructured, kind: GuardedKind): readonly string[] {
  // The label as getStringMap reads it: an own string value (anything else is no claim).
  const first = kind === 'MachineDeployment' ? getString(obj, MD_CLUSTER_NAME) : getString(obj, CLUSTER_LABEL_PATH)
  const second = kind === 'MachineDeployment' ? getString(obj, MD_TEMPLATE_CLUSTER_NAME) : ownerClusterName(obj)
  const out: string[] = []
  if (first !== undefined && first !== '') out.push(first)
  if (second !== undefined && second !== '' && second !== first) out.push(second)
  return out
}

const OWNER_REFERENCES: readonly string[] = ['metadata', 'ownerReferences']
const CAPI_PREFIX = `${CAPI_GROUP}/`

function ownerClusterName(obj: Unstructured): string | undefined {
  const owners = getPath(obj, OWNER_REFERENCES)
  if (!Array.isArray(owners)) return undefined
  const owner: unknown = owners.find((o) => isRecord(o) && o.kind === 'Cluster' && typeof o.apiVersion === 'string' && o.apiVersion.startsWith(CAPI_PREFIX))
  return isRecord(owner) && typeof owner.name === 'string' ? owner.name : undefined
}

/** A CAPI Cluster: annotations (opt-ins, registry address) and its control-plane reference. */
export interface ClusterInfo {
  readonly namespace: string
  readonly name: string
  readonly annotations: Readonly<Record<string, string>>
  readonly controlPlaneKind: string | undefined
  readonly controlPlaneName: string | undefined
  readonly raw: Unstructured
}

export function readCluster(obj: unknown): ClusterInfo | undefined {
  if (!isRecord(obj) || obj.kind !== 'Cluster' || apiLevelOf(obj.apiVersion, CAPI_GROUP) === undefined) return undefined
  return {
    namespace: getString(obj, ['metadata', 'namespace']) ?? '',
    name: getString(obj, ['metadata', 'name']) ?? '',
    annotations: getStringMap(obj, ['metadata', 'annotations']),
    controlPlaneKind: getString(obj, ['spec', 'controlPlaneRef', 'kind']),
    controlPlaneName: getString(obj, ['spec', 'controlPlaneRef', 'name']),
    raw: obj,
  }
}
