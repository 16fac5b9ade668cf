/**
 * @module test/helpers/objects
 * Builders for realistic CAPI objects in both served API versions (v1beta1, v1beta2), the image
 * catalog, a filled MemoryView, engine requests and policies. Shapes follow
 * /work/shared/reference/examples/*.yaml: a builder's defaults ARE those examples (bare-metal KCP
 * with 3 replicas and maxSurge 0, worker MD with maxSurge 0 / maxUnavailable 1, catalog keys of
 * ACP 4.1–4.4).
 */
import { readGuarded, type ApiLevel, type GuardedObject } from '../../src/objects/capi.js'
import { readCatalog } from '../../src/objects/catalog.js'
import { expect } from 'vitest'
import type { Decision, EngineRequest, UserInfo } from '../../src/engine/decision.js'
import { evaluate } from '../../src/engine/evaluate.js'
import { manifestKind } from '../../src/dry-run/apply.js'
import { DEFAULT_POLICY, policyFromDocument } from '../../src/policy/load.js'
import type { Policy, RuleAction } from '../../src/policy/types.js'
import { RULE_IDS, type RuleId } from '../../src/rules/ids.js'
import type { Operation, RuleContext, RuleDefinition, Target, Violation } from '../../src/rules/types.js'
import { MemoryView } from '../../src/state/memory-view.js'

export type Obj = Record<string, unknown>

export const NS = 'cpaas-system'
export const CLUSTER = 'bm-workload'
export const KCP_NAME = `${CLUSTER}-control-plane`
export const MD_NAME = `${CLUSTER}-workers`
export const BAREMETAL = 'BaremetalMachineTemplate'
export const REGISTRY_ANNOTATION = 'cpaas.io/registry-address'
export const SKEW_ANNOTATION = 'upgrade-guard.io/worker-skew'
export const BYPASS = 'upgrade-guard.io/bypass'
export const BYPASS_REASON = 'upgrade-guard.io/bypass-reason'

/** Component tags of ACP releases (os-support-matrix, reference/SOURCES.md §5). */
export const TAGS = {
  'v1.32': { dns: '1.11.3-v4.1.0', etcd: 'v3.5.21' },
  'v1.33': { dns: '1.12.4-v4.2.7', etcd: 'v3.5.25-251215' },
  'v1.34': { dns: '1.14.2-v4.3.11', etcd: 'v3.5.28-260625' },
  'v1.35': { dns: '1.14.3-v4.4.6', etcd: 'v3.6.13-acp.0' },
} as const

/** The keys of reference/examples/elemental-image-catalog.yaml. */
export const REFERENCE_KEYS = ['v1.32.7', 'v1.32.8', 'v1.33.7-2', 'v1.33.7-3', 'v1.33.7-10', 'v1.34.5', 'v1.34.5-1', 'v1.34.5-3', 'v1.35.6-acp.1'] as const

export const image = (version: string): string => `registry.example.com:11443/tkestack/baremetal-base-image:v0.0.0-beta-${version.replace(/^v/, '')}`

/** Absent (undefined) means "builder default"; null means "leave the field out". */
type Opt<T> = T | null | undefined

const pick = <T>(value: Opt<T>, fallback: T): T | undefined => (value === null ? undefined : value === undefined ? fallback : value)

function setIf(target: Obj, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value
}

function metadata(name: string, namespace: string, labels: Record<string, string>, annotations: Record<string, string> | undefined, finalizers: readonly string[] | undefined): Obj {
  const meta: Obj = { name, namespace, labels }
  if (annotations !== undefined && Object.keys(annotations).length > 0) meta.annotations = { ...annotations }
  if (finalizers !== undefined) meta.finalizers = [...finalizers]
  return meta
}

function rollingStrategy(rollingUpdate: Obj, type: Opt<string>): Obj {
  const strategy: Obj = {}
  setIf(strategy, 'type', pick(type, 'RollingUpdate'))
  if (Object.keys(rollingUpdate).length > 0) strategy.rollingUpdate = rollingUpdate
  return strategy
}

export interface KcpOptions {
  readonly level?: ApiLevel
  readonly name?: string
  readonly namespace?: string
  readonly version?: unknown
  /** status.version (the lowest version running); omitted when undefined. */
  readonly statusVersion?: string
  readonly replicas?: Opt<number>
  /** maxSurge; null leaves rollingUpdate.maxSurge out. */
  readonly maxSurge?: Opt<number | string>
  /** 'omit' leaves the whole rollout strategy out (spec.rolloutStrategy / spec.rollout). */
  readonly strategy?: 'omit'
  readonly infraKind?: string
  /** Value of the cluster-name label; null leaves the label out. */
  readonly cluster?: Opt<string>
  readonly dnsTag?: Opt<string>
  readonly etcdTag?: Opt<string>
  readonly annotations?: Record<string, string>
  readonly labels?: Record<string, string>
  readonly finalizers?: readonly string[]
}

/** A bare-metal KubeadmControlPlane shaped like reference/examples/kubeadmcontrolplane-<level>.yaml. */
export function kcp(o: KcpOptions = {}): Obj {
  const level = o.level ?? 'v1beta1'
  const cluster = pick(o.cluster, CLUSTER)
  const labels: Record<string, string> = { ...(cluster === undefined ? {} : { 'cluster.x-k8s.io/cluster-name': cluster }), ...o.labels }
  const rollingUpdate: Obj = {}
  setIf(rollingUpdate, 'maxSurge', pick(o.maxSurge, 0))
  const strategy = rollingStrategy(rollingUpdate, undefined)
  const infraKind = o.infraKind ?? BAREMETAL
  const templateName = `${o.name ?? KCP_NAME}-template`
  const clusterConfiguration: Obj = { imageRepository: 'registry.example.com:11443/alauda' }
  const dnsTag = pick(o.dnsTag, TAGS['v1.33'].dns)
  const etcdTag = pick(o.etcdTag, TAGS['v1.33'].etcd)
  if (dnsTag !== undefined) clusterConfiguration.dns = { imageTag: dnsTag }
  if (etcdTag !== undefined) clusterConfiguration.etcd = { local: { imageTag: etcdTag } }
  const spec: Obj = {}
  setIf(spec, 'replicas', pick(o.replicas, 3))
  setIf(spec, 'version', o.version === undefined ? 'v1.33.7-2' : o.version)
  if (level === 'v1beta1') {
    if (o.strategy !== 'omit') spec.rolloutStrategy = strategy
    spec.machineTemplate = {
      nodeDrainTimeout: '5m0s',
      infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: infraKind, name: templateName, namespace: o.namespace ?? NS },
    }
    clusterConfiguration.apiServer = { extraArgs: { profiling: 'false' } }
  } else {
    if (o.strategy !== 'omit') spec.rollout = { strategy }
    spec.machineTemplate = {
      spec: {
        infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: infraKind, name: templateName },
        deletion: { nodeDrainTimeoutSeconds: 300 },
      },
    }
    clusterConfiguration.apiServer = { extraArgs: [{ name: 'profiling', value: 'false' }] }
  }
  spec.kubeadmConfigSpec = { clusterConfiguration }
  const obj: Obj = {
    apiVersion: `controlplane.cluster.x-k8s.io/${level}`,
    kind: 'KubeadmControlPlane',
    metadata: metadata(o.name ?? KCP_NAME, o.namespace ?? NS, labels, o.annotations, o.finalizers),
    spec,
  }
  if (o.statusVersion !== undefined) obj.status = { version: o.statusVersion }
  return obj
}

export interface MdOptions {
  readonly level?: ApiLevel
  readonly name?: string
  readonly namespace?: string
  /** spec.template.spec.version; null leaves it out (optional on an MD). */
  readonly version?: Opt<unknown>
  readonly replicas?: number
  readonly maxSurge?: Opt<number | string>
  readonly maxUnavailable?: Opt<number | string>
  /** strategy type; null leaves `type` out. */
  readonly strategyType?: Opt<string>
  /** 'omit' leaves the whole strategy out (spec.strategy / spec.rollout). */
  readonly strategy?: 'omit'
  readonly infraKind?: string
  /** spec.clusterName and the cluster-name label; null leaves both out. */
  readonly cluster?: Opt<string>
  readonly annotations?: Record<string, string>
  readonly labels?: Record<string, string>
  readonly finalizers?: readonly string[]
}

/** A bare-metal worker MachineDeployment shaped like reference/examples/machinedeployment-<level>.yaml. */
export function md(o: MdOptions = {}): Obj {
  const level = o.level ?? 'v1beta1'
  const name = o.name ?? MD_NAME
  const namespace = o.namespace ?? NS
  const cluster = pick(o.cluster, CLUSTER)
  const clusterLabel: Record<string, string> = cluster === undefined ? {} : { 'cluster.x-k8s.io/cluster-name': cluster }
  const rollingUpdate: Obj = {}
  setIf(rollingUpdate, 'maxSurge', pick(o.maxSurge, 0))
  setIf(rollingUpdate, 'maxUnavailable', pick(o.maxUnavailable, 1))
  const strategy = rollingStrategy(rollingUpdate, o.strategyType)
  const infraKind = o.infraKind ?? BAREMETAL
  const templateSpec: Obj = {}
  setIf(templateSpec, 'clusterName', cluster)
  setIf(templateSpec, 'version', pick(o.version, 'v1.33.7-2'))
  if (level === 'v1beta1') {
    templateSpec.nodeDrainTimeout = '5m0s'
    templateSpec.bootstrap = { configRef: { apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1', kind: 'KubeadmConfigTemplate', name: `${name}-bootstrap`, namespace } }
    templateSpec.infrastructureRef = { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: infraKind, name: `${name}-template`, namespace }
  } else {
    templateSpec.deletion = { nodeDrainTimeoutSeconds: 300 }
    templateSpec.bootstrap = { configRef: { apiGroup: 'bootstrap.cluster.x-k8s.io', kind: 'KubeadmConfigTemplate', name: `${name}-bootstrap` } }
    templateSpec.infrastructureRef = { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: infraKind, name: `${name}-template` }
  }
  const spec: Obj = {}
  setIf(spec, 'clusterName', cluster)
  spec.replicas = o.replicas ?? 3
  if (o.strategy !== 'omit') {
    if (level === 'v1beta1') spec.strategy = strategy
    else spec.rollout = { strategy }
  }
  spec.selector = { matchLabels: { ...clusterLabel, 'pool.name': name } }
  spec.template = { metadata: { labels: { ...clusterLabel, 'pool.name': name } }, spec: templateSpec }
  return {
    apiVersion: `cluster.x-k8s.io/${level}`,
    kind: 'MachineDeployment',
    metadata: metadata(name, namespace, { ...clusterLabel, ...o.labels }, o.annotations, o.finalizers),
    spec,
  }
}

export interface ClusterOptions {
  readonly name?: string
  readonly namespace?: string
  readonly level?: ApiLevel
  /** Defaults to the registry-address annotation only; pass {} for none. */
  readonly annotations?: Record<string, string>
  /** spec.controlPlaneRef name; null leaves the ref out. */
  readonly controlPlane?: Opt<string>
}

/** A CAPI Cluster that carries cpaas.io/registry-address and points at its KCP. */
export function cluster(o: ClusterOptions = {}): Obj {
  const name = o.name ?? CLUSTER
  const level = o.level ?? 'v1beta1'
  const controlPlane = pick(o.controlPlane, `${name}-control-plane`)
  const annotations = o.annotations ?? { [REGISTRY_ANNOTATION]: 'registry.example.com:11443' }
  const meta: Obj = { name, namespace: o.namespace ?? NS }
  if (Object.keys(annotations).length > 0) meta.annotations = { ...annotations }
  const spec: Obj = {}
  if (controlPlane !== undefined) {
    spec.controlPlaneRef = level === 'v1beta1'
      ? { apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1', kind: 'KubeadmControlPlane', name: controlPlane, namespace: o.namespace ?? NS }
      : { apiGroup: 'controlplane.cluster.x-k8s.io', kind: 'KubeadmControlPlane', name: controlPlane }
  }
  return { apiVersion: `cluster.x-k8s.io/${level}`, kind: 'Cluster', metadata: meta, spec }
}

/**
 * The image catalog ConfigMap. `keys` maps version → image, or pass a list of versions (images
 * made up from the version, as in the reference example).
 */
export function catalog(keys: Record<string, string> | readonly string[] = REFERENCE_KEYS, o: { namespace?: string; name?: string } = {}): Obj {
  const data: Record<string, string> = Array.isArray(keys) ? Object.fromEntries(keys.map((k) => [k, image(k)])) : { ...(keys as Record<string, string>) }
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: o.name ?? DEFAULT_POLICY.catalog.name, namespace: o.namespace ?? DEFAULT_POLICY.catalog.namespace },
    data,
  }
}

/** A MemoryView (catalog ref of DEFAULT_POLICY) filled with the objects via upsert. */
export function view(objects: readonly unknown[] = []): MemoryView {
  const v = new MemoryView(DEFAULT_POLICY.catalog)
  for (const o of objects) v.upsert(o)
  return v
}

/** The objects of a healthy bare-metal cluster: Cluster, reference catalog, KCP, one MD. */
export function world(o: { kcp?: KcpOptions; md?: MdOptions; cluster?: ClusterOptions; catalog?: Record<string, string> | readonly string[]; extra?: readonly unknown[] } = {}): MemoryView {
  return view([cluster(o.cluster), catalog(o.catalog), kcp({ statusVersion: 'v1.33.7-2', ...o.kcp }), md(o.md), ...(o.extra ?? [])])
}

const RESOURCE: Readonly<Record<string, string>> = {
  KubeadmControlPlane: 'kubeadmcontrolplanes',
  MachineDeployment: 'machinedeployments',
  ConfigMap: 'configmaps',
  Cluster: 'clusters',
}

export const ADMIN: UserInfo = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] }
export const CAPI_CONTROLLER: UserInfo = { username: 'system:serviceaccount:capi-system:capi-manager', groups: ['system:serviceaccounts'] }

/** An EngineRequest as the admission layer would build it (object null on DELETE, oldObject null on CREATE). */
export function request(operation: Operation, old: unknown, next: unknown, user: UserInfo = ADMIN, extra: Partial<EngineRequest> = {}): EngineRequest {
  const subject = (next ?? old) as Obj | null | undefined
  const meta = (subject?.metadata ?? {}) as Obj
  const kind = typeof subject?.kind === 'string' ? subject.kind : ''
  return {
    operation,
    // Routed as the API server would: the subject's own group/version/kind.
    kind: manifestKind((subject ?? {}) as Obj),
    resource: RESOURCE[kind] ?? `${kind.toLowerCase()}s`,
    namespace: typeof meta.namespace === 'string' ? meta.namespace : undefined,
    name: typeof meta.name === 'string' ? meta.name : undefined,
    object: operation === 'DELETE' ? null : next,
    oldObject: operation === 'CREATE' ? null : old,
    userInfo: user,
    ...extra,
  }
}

/** An autoscaling/v1 Scale, as `kubectl scale` sends it to the /scale subresource. */
export function scale(name: string, replicas: number, namespace = NS): Obj {
  return { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name, namespace }, spec: { replicas }, status: { replicas: 3 } }
}

export function scaleRequest(resource: 'kubeadmcontrolplanes' | 'machinedeployments', name: string, from: number, to: number, user: UserInfo = ADMIN): EngineRequest {
  return { operation: 'UPDATE', kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, resource, subResource: 'scale', namespace: NS, name, object: scale(name, to), oldObject: scale(name, from), userInfo: user }
}

/** A policy document (apiVersion/kind added) validated and defaulted by policyFromDocument. */
export function policy(overrides: Record<string, unknown> = {}): Policy {
  return policyFromDocument({ apiVersion: 'upgrade-guard.io/v1alpha1', kind: 'Policy', ...overrides })
}

/** A policy with only the named rules on (each with its default action unless given). */
export function only(rules: Partial<Record<RuleId, RuleAction>> | RuleId, overrides: Record<string, unknown> = {}): Policy {
  const wanted: Partial<Record<RuleId, RuleAction>> = typeof rules === 'string' ? { [rules]: DEFAULT_POLICY.rules[rules] } : rules
  const actions = Object.fromEntries(RULE_IDS.map((id) => [id, wanted[id] ?? 'off']))
  return policy({ ...overrides, rules: actions })
}

/** A deep copy with changes applied by a mutator (for "same object, one field changed" rows). */
export function edit<T>(obj: T, change: (o: Obj) => void): T {
  const copy = structuredClone(obj) as Obj
  change(copy)
  return copy as T
}

/** What CAPI's controllers do all the time: add a finalizer and a label. Nothing else changes. */
export function touch<T>(obj: T): T {
  return edit(obj, (o) => {
    const meta = o.metadata as Obj
    meta.finalizers = [...((meta.finalizers as string[] | undefined) ?? []), 'cluster.cluster.x-k8s.io']
    meta.labels = { ...(meta.labels as Record<string, string>), 'example.com/touched': 'true' }
  })
}

export function withAnnotations<T>(obj: T, annotations: Record<string, string>): T {
  return edit(obj, (o) => {
    const meta = o.metadata as Obj
    meta.annotations = { ...(meta.annotations as Record<string, string> | undefined), ...annotations }
  })
}

export function withStatusVersion<T>(obj: T, version: string): T {
  return edit(obj, (o) => {
    o.status = { ...(o.status as Obj | undefined), version }
  })
}

export function guarded(obj: unknown): GuardedObject {
  const r = readGuarded(obj)
  if (!r.ok) throw new Error(`test object not readable: ${r.reason}`)
  return r.object
}

/**
 * Runs one rule's check directly (no scope, ratcheting, bypass or actions), as a unit.
 * KCP/MD objects become a guarded target; ConfigMaps a catalog target.
 */
export function check(rule: RuleDefinition, args: { op?: Operation; old?: unknown; next?: unknown; view?: MemoryView; policy?: Policy }): readonly Violation[] {
  const op = args.op ?? (args.old === undefined ? 'CREATE' : args.next === undefined ? 'DELETE' : 'UPDATE')
  const subject = (args.next ?? args.old) as Obj
  let target: Target
  if (subject.kind === 'ConfigMap') {
    target = { type: 'catalog', old: args.old === undefined ? undefined : readCatalog(args.old), new: args.next === undefined ? undefined : readCatalog(args.next) }
  } else {
    const kind = subject.kind as 'KubeadmControlPlane' | 'MachineDeployment'
    target = { type: 'guarded', kind, old: args.old === undefined ? undefined : guarded(args.old), new: args.next === undefined ? undefined : guarded(args.next) }
  }
  const ctx: RuleContext = { operation: op, target, view: args.view ?? view(), policy: args.policy ?? DEFAULT_POLICY }
  return rule.check(ctx)
}

export const fields = (vs: readonly Violation[]): string[] => vs.map((v) => v.field)
export const rules = (vs: readonly Violation[]): string[] => vs.map((v) => v.rule)
/** `rule@field` per violation: compact table expectations. */
export const found = (vs: readonly Violation[]): string[] => vs.map((v) => `${v.rule}@${v.field}`)

/** A decision in compact form (`rule@field` lists) for table expectations. */
export function outcome(d: Decision): { allowed: boolean; denied: string[]; warnings: string[]; audited: string[]; bypassed: string[] } {
  return { allowed: d.allowed, denied: found(d.denied), warnings: found(d.warnings), audited: found(d.audited), bypassed: found(d.bypassed) }
}

/** Runs the engine with only `rule` on (its default action) and returns the denied fields. */
export function deniedFields(rule: RuleId, req: EngineRequest, v: MemoryView, overrides: Record<string, unknown> = {}): string[] {
  const d = evaluate(req, v, only(rule, overrides))
  expect(d.denied.every((x) => x.rule === rule)).toBe(true)
  return fields(d.denied)
}
