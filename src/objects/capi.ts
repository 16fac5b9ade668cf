/**
 * @module objects/capi
 * Reads the fields upgrade-guard needs from KubeadmControlPlane, MachineDeployment and Cluster
 * objects of every served CAPI API version. Fields moved between v1beta1 and v1beta2
 * (reference/SOURCES.md §3); each accessor knows both layouts and never guesses from content.
 */
import { asRecord, getString, getStringMap, isRecord, ownField, type Unstructured } from './unstructured.js'

export const KCP_GROUP = 'controlplane.cluster.x-k8s.io'
export const CAPI_GROUP = 'cluster.x-k8s.io'
export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name'

export type ApiLevel = 'v1beta1' | 'v1beta2'
export type GuardedKind = 'KubeadmControlPlane' | 'MachineDeployment'

/** The served CAPI versions whose field layout is known. */
export const API_LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']

/** Where the rollout strategy lives (the other moved fields: readControlPlaneFields / readMachineDeploymentFields). */
const STRATEGY_PATHS: Readonly<Record<GuardedKind, Readonly<Record<ApiLevel, readonly string[]>>>> = {
  KubeadmControlPlane: { v1beta1: ['spec', 'rolloutStrategy'], v1beta2: ['spec', 'rollout', 'strategy'] },
  MachineDeployment: { v1beta1: ['spec', 'strategy'], v1beta2: ['spec', 'rollout', 'strategy'] },
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
  const strategy = STRATEGY_PATHS[kind][level]
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
  // Literal reads (asRecord): these names are not Object.prototype's, and the record is plain.
  const spec = asRecord(o.raw.spec)
  // rolloutAfter / rolloutBefore start a rollout without touching anything else.
  const rollout = o.level === 'v1beta1' ? undefined : asRecord(spec?.rollout)
  const after = o.level === 'v1beta1' ? spec?.rolloutAfter : rollout?.after
  const before = o.level === 'v1beta1' ? spec?.rolloutBefore : rollout?.before
  // One literal each: an array grown by push takes a backing store several times its length.
  return o.kind === 'KubeadmControlPlane' ? [spec?.version, spec?.machineTemplate, spec?.kubeadmConfigSpec, after, before] : [spec?.template, after, before]
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
  const kind = asRecord(obj)?.kind
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
  const fields = kind === 'KubeadmControlPlane' ? readControlPlaneFields(obj, level) : readMachineDeploymentFields(obj, level)
  const metadata = asRecord(obj.metadata)
  const namespace = metadata?.namespace
  const name = metadata?.name
  const rollingUpdate = asRecord(fields.strategy?.rollingUpdate)
  const infrastructureKind = asRecord(fields.infrastructureRef)?.kind
  return {
    ok: true,
    object: {
      kind,
      level,
      namespace: typeof namespace === 'string' ? namespace : '',
      name: typeof name === 'string' ? name : '',
      paths,
      version: fields.version,
      maxSurge: rollingUpdate?.maxSurge,
      maxUnavailable: rollingUpdate?.maxUnavailable,
      strategyType: fields.strategy?.type,
      replicas: asRecord(obj.spec)?.replicas,
      infrastructureKind: typeof infrastructureKind === 'string' ? infrastructureKind : undefined,
      clusterName: fields.clusterClaims[0],
      clusterClaims: fields.clusterClaims,
      statusVersion: fields.statusVersion,
      dnsImageTag: fields.dnsImageTag,
      etcdImageTag: fields.etcdImageTag,
      raw: obj,
    },
  }
}

/** What differs between the kinds and API levels, read by {@link readControlPlaneFields} / {@link readMachineDeploymentFields}. */
interface LayoutFields {
  /** The object at `paths.strategy` when it is one. */
  readonly strategy: Unstructured | undefined
  readonly infrastructureRef: unknown
  readonly version: unknown
  readonly clusterClaims: readonly string[]
  readonly statusVersion: unknown
  readonly dnsImageTag: unknown
  readonly etcdImageTag: unknown
}

/*
 * The two readers below spell out, with literal property reads ({@link asRecord}: per-site inline
 * caches, run on every request), the paths of fieldPaths() and of the infrastructure reference
 * (v1beta1 KCP spec.machineTemplate.infrastructureRef; v1beta2 KCP spec.machineTemplate.spec.
 * infrastructureRef; MD spec.template.spec.infrastructureRef). They read exactly what getPath
 * over those paths reads; test/objects/capi.test.ts checks it on generated objects of every kind
 * and level.
 */

function readControlPlaneFields(obj: Unstructured, level: ApiLevel): LayoutFields {
  const spec = asRecord(obj.spec)
  const metadata = asRecord(obj.metadata)
  const machineTemplate = asRecord(spec?.machineTemplate)
  const clusterConfiguration = asRecord(asRecord(spec?.kubeadmConfigSpec)?.clusterConfiguration)
  return {
    strategy: level === 'v1beta1' ? asRecord(spec?.rolloutStrategy) : asRecord(asRecord(spec?.rollout)?.strategy),
    infrastructureRef: level === 'v1beta1' ? machineTemplate?.infrastructureRef : asRecord(machineTemplate?.spec)?.infrastructureRef,
    version: spec?.version,
    // The label key is a constant but a label name all the same: read as an own property.
    clusterClaims: distinctClaims(ownField(metadata?.labels, CLUSTER_NAME_LABEL), ownerClusterName(metadata?.ownerReferences)),
    statusVersion: asRecord(obj.status)?.version,
    dnsImageTag: asRecord(clusterConfiguration?.dns)?.imageTag,
    etcdImageTag: asRecord(asRecord(clusterConfiguration?.etcd)?.local)?.imageTag,
  }
}

function readMachineDeploymentFields(obj: Unstructured, level: ApiLevel): LayoutFields {
  const spec = asRecord(obj.spec)
  const templateSpec = asRecord(asRecord(spec?.template)?.spec)
  return {
    strategy: level === 'v1beta1' ? asRecord(spec?.strategy) : asRecord(asRecord(spec?.rollout)?.strategy),
    infrastructureRef: templateSpec?.infrastructureRef,
    version: templateSpec?.version,
    clusterClaims: distinctClaims(spec?.clusterName, templateSpec?.clusterName),
    statusVersion: undefined,
    dnsImageTag: undefined,
    etcdImageTag: undefined,
  }
}

const NO_CLAIMS: readonly string[] = Object.freeze([])

/**
 * Distinct non-empty string claims, in order (see GuardedObject.clusterClaims). MD:
 * spec.clusterName and spec.template.spec.clusterName. KCP: the cluster-name label (an own
 * string value, as getStringMap keeps it) and a Cluster ownerReference.
 */
function distinctClaims(first: unknown, second: unknown): readonly string[] {
  const hasFirst = typeof first === 'string' && first !== ''
  const hasSecond = typeof second === 'string' && second !== '' && second !== first
  if (hasFirst) return hasSecond ? [first, second] : [first]
  return hasSecond ? [second] : NO_CLAIMS
}

const CAPI_PREFIX = `${CAPI_GROUP}/`

/** The name in the first ownerReference to a CAPI Cluster. */
function ownerClusterName(owners: unknown): string | undefined {
  if (!Array.isArray(owners)) return undefined
  for (const o of owners as readonly unknown[]) {
    if (isRecord(o) && o.kind === 'Cluster' && typeof o.apiVersion === 'string' && o.apiVersion.startsWith(CAPI_PREFIX)) return typeof o.name === 'string' ? o.name : undefined
  }
  return undefined
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
