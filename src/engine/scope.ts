/**
 * @module engine/scope
 * Decides what a request is about: a bare-metal KCP/MD, the image catalog, or something
 * upgrade-guard leaves alone (fast). Translates a KCP `/scale` request into the KCP change it
 * means, from the state view (a Scale carries replicas only).
 */
import { CAPI_GROUP, guardedKindOf, KCP_GROUP, readGuarded, type GuardedKind, type GuardedObject } from '../objects/capi.js'
import { isConfigMap, readCatalog } from '../objects/catalog.js'
import { membershipsOf, withMembership } from '../objects/links.js'
import { asRecord, getPath, getString, isRecord, type Unstructured } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import { isBareMetal } from '../rules/common.js'
import { clip, echo, invalid, notFound, quoted } from '../rules/field-path.js'
import type { GuardedTarget, Target, Violation } from '../rules/types.js'
import type { ClusterView } from '../state/cluster-view.js'
import type { EngineRequest, SkipReason, TargetRef } from './decision.js'

export type Resolution =
  | { readonly kind: 'skip'; readonly reason: SkipReason; readonly ref?: TargetRef }
  | { readonly kind: 'reject'; readonly violation: Violation; readonly ref: TargetRef }
  | {
      readonly kind: 'judge'
      readonly target: Target
      readonly ref: TargetRef
      /**
       * One target per Cluster the object may belong to (objects/links); `target` is the first.
       * Rules run against each and every finding stands: the strictest verdict wins.
       */
      readonly variants: readonly Target[]
      /** The object whose annotations carry a bypass (new, or old on DELETE) and its stored self. */
      readonly annotated: unknown
      readonly previous: unknown
    }

const present = (o: unknown): boolean => o !== null && o !== undefined

const METADATA_PATHS = { namespace: ['metadata', 'namespace'], name: ['metadata', 'name'] } as const

/** Namespace and name from the request envelope (the API server's), else from the object. */
function refOf(req: EngineRequest, obj: unknown, kind: string): TargetRef {
  return {
    kind,
    namespace: nonEmpty(req.namespace) ?? getString(obj, METADATA_PATHS.namespace) ?? '',
    name: nonEmpty(req.name) ?? getString(obj, METADATA_PATHS.name) ?? '',
  }
}

const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s === '' ? undefined : s)

/** What the API server routed the request as: a guarded kind, the ConfigMap kind, or neither. */
type Routed = GuardedKind | 'ConfigMap' | undefined

const RESOURCE_KIND: Readonly<Record<string, Routed>> = {
  kubeadmcontrolplanes: 'KubeadmControlPlane',
  machinedeployments: 'MachineDeployment',
  configmaps: 'ConfigMap',
}

/**
 * The kind judged is request.kind (what the API server routed on), never the object's own
 * `kind`; request.resource when the kind is empty; the objects' kind only when the request
 * carries no routing at all (then an object that says it is guarded is judged as one).
 */
function routedKind(req: EngineRequest, object: unknown, oldObject: unknown): Routed {
  const { group, kind } = req.kind
  if (kind === 'KubeadmControlPlane' && group === KCP_GROUP) return 'KubeadmControlPlane'
  if (kind === 'MachineDeployment' && group === CAPI_GROUP) return 'MachineDeployment'
  if (kind === 'ConfigMap' && group === '') return 'ConfigMap'
  if (kind !== '') return undefined
  if (req.resource !== undefined && req.resource !== '') return Object.hasOwn(RESOURCE_KIND, req.resource) ? RESOURCE_KIND[req.resource] : undefined
  for (const o of [object, oldObject]) {
    const k = guardedKindOf(o) ?? (isConfigMap(o) ? 'ConfigMap' : undefined)
    if (k !== undefined) return k
  }
  return undefined
}

const requestProblem = (field: string, value: unknown, message: string, hint: string): Violation => invalid(field, 'request', value, message, hint)

/**
 * The object checked against what the request says it is: a missing kind/apiVersion is taken
 * from request.kind; a different one, or a name/namespace other than the request's, is refused.
 */
function identityProblem(o: unknown, kind: string, req: EngineRequest, which: 'object' | 'oldObject'): Violation | undefined {
  if (!isRecord(o)) return requestProblem(which, null, `request.${which} is not a JSON object`, 'send the full object, as the API server does')
  if (o.kind !== undefined && o.kind !== kind) {
    return requestProblem(`${which}.kind`, typeof o.kind === 'string' ? clip(o.kind) : echo(o.kind), `the ${which} says kind ${quoted(o.kind)}, but the API server routed this request as ${kind}`, 'send the object the request is for')
  }
  if (o.apiVersion !== undefined && req.kind.kind !== '' && !isRoutedApiVersion(o.apiVersion, req)) {
    return requestProblem(`${which}.apiVersion`, typeof o.apiVersion === 'string' ? clip(o.apiVersion) : echo(o.apiVersion), `the ${which} says apiVersion ${quoted(o.apiVersion)}, but the API server routed this request as ${routedApiVersion(req)}`, 'send the object in the version the request names')
  }
  // metadata.namespace / .name: literal reads (asRecord: names Object.prototype lacks, on a plain object).
  const metadata = asRecord(o.metadata)
  return nameProblem(metadata?.namespace, 'namespace', req.namespace, which) ?? nameProblem(metadata?.name, 'name', req.name, which)
}

/** The apiVersion the API server routed the request as (request.kind), when it says. */
function routedApiVersion(req: EngineRequest): string | undefined {
  return req.kind.kind === '' ? undefined : req.kind.group === '' ? req.kind.version : `${req.kind.group}/${req.kind.version}`
}

/**
 * Whether an object's apiVersion is the one the request was routed as (see routedApiVersion; the
 * request names a kind). Compared in place: that text is built only for a message.
 */
function isRoutedApiVersion(apiVersion: unknown, req: EngineRequest): boolean {
  const { group, version } = req.kind
  if (typeof apiVersion !== 'string') return false
  if (group === '') return apiVersion === version
  return apiVersion.length === group.length + 1 + version.length && apiVersion.startsWith(group) && apiVersion[group.length] === '/' && apiVersion.endsWith(version)
}

/** `value`: the object's metadata.namespace or metadata.name as read. */
function nameProblem(value: unknown, key: 'namespace' | 'name', expected: string | undefined, which: 'object' | 'oldObject'): Violation | undefined {
  if (expected === undefined || expected === '') return undefined
  const actual = typeof value === 'string' ? value : undefined
  if (actual === undefined || actual === '' || actual === expected) return undefined
  return requestProblem(`${which}.metadata.${key}`, clip(actual), `the ${which} names ${key} ${quoted(actual)}, but the request is for ${quoted(expected)}`, 'send the object the request is for')
}

/** The object with kind/apiVersion filled in from the request when it lacks them. */
function asRouted(o: Unstructured, kind: string, req: EngineRequest): Unstructured {
  if (o.kind !== undefined && o.apiVersion !== undefined) return o
  const apiVersion = routedApiVersion(req)
  return { ...o, kind, ...(o.apiVersion === undefined && apiVersion !== undefined ? { apiVersion } : {}) }
}

export function resolveTarget(req: EngineRequest, view: ClusterView, policy: Policy): Resolution {
  if (req.subResource === 'status') return { kind: 'skip', reason: 'status-subresource' }
  if (req.subResource === 'scale') return resolveScale(req, view, policy)
  // A real API server sends no object on DELETE and no oldObject on CREATE: anything sent there
  // is ignored, so it can change nothing (a DELETE is judged on oldObject alone).
  const object = req.operation === 'DELETE' ? null : req.object
  const oldObject = req.operation === 'CREATE' ? null : req.oldObject
  const routed = routedKind(req, object, oldObject)
  if (routed === undefined) return { kind: 'skip', reason: 'not-guarded' }
  if (!present(object) && !present(oldObject)) return resolveBodiless(req, routed, policy)
  if (routed === 'ConfigMap') return resolveCatalog(req, object, oldObject, policy)
  const kind = routed
  const subject = present(object) ? object : oldObject
  const ref = refOf(req, subject, kind)
  if (req.operation === 'DELETE') return { kind: 'skip', reason: 'delete', ref }
  // The request's namespace is the API server's; the object's own is only a fallback.
  if (policy.scope.exemptNamespaces.includes(ref.namespace)) return { kind: 'skip', reason: 'exempt-namespace', ref }
  if (!present(object)) return { kind: 'reject', ref, violation: requestProblem('object', null, `a ${req.operation} request must carry the object`, 'send the full object in request.object') }
  if (req.operation === 'UPDATE' && !present(oldObject)) {
    return { kind: 'reject', ref, violation: requestProblem('oldObject', null, 'an UPDATE must carry the stored object (request.oldObject): without it nothing says what changes', 'send oldObject, as the API server does') }
  }
  const next = readRequestObject(object, 'object', kind, req)
  if (next !== undefined && 'rule' in next) return { kind: 'reject', violation: next, ref }
  const old = readRequestObject(oldObject, 'oldObject', kind, req)
  if (old !== undefined && 'rule' in old) return { kind: 'reject', violation: old, ref }
  const nextObj = next as GuardedObject
  const oldObj = old
  if (!isBareMetal(nextObj, policy) && !isBareMetal(oldObj, policy)) return { kind: 'skip', reason: 'not-bare-metal', ref }
  // Whose object is this: one target per Cluster it may belong to (normally one).
  const variants: GuardedTarget[] = membershipsOf(oldObj, nextObj, view).map((m) => ({
    type: 'guarded',
    kind,
    old: oldObj === undefined ? undefined : withMembership(oldObj, m),
    new: withMembership(nextObj, m),
  }))
  const [target = { type: 'guarded', kind, old: oldObj, new: nextObj }] = variants
  return { kind: 'judge', ref, target, variants, annotated: object, previous: oldObject }
}

/** request.object or .oldObject as a guarded object, or why it cannot be judged; undefined when not sent. */
function readRequestObject(o: unknown, which: 'object' | 'oldObject', kind: GuardedKind, req: EngineRequest): GuardedObject | Violation | undefined {
  if (!present(o)) return undefined
  const problem = identityProblem(o, kind, req, which)
  if (problem !== undefined) return problem
  const r = readGuarded(asRouted(o as Unstructured, kind, req))
  if (r.ok) return r.object
  const apiVersion = getPath(o, ['apiVersion'])
  return requestProblem('apiVersion', typeof apiVersion === 'string' ? clip(apiVersion) : echo(apiVersion), `cannot read this ${kind}: ${clip(r.reason)}`, 'send a KubeadmControlPlane or MachineDeployment of a served CAPI version')
}

/** The image catalog (any other ConfigMap is not ours). */
function resolveCatalog(req: EngineRequest, object: unknown, oldObject: unknown, policy: Policy): Resolution {
  const { name, namespace } = policy.catalog
  const names = (o: unknown): boolean => getString(o, ['metadata', 'name']) === name && (getString(o, ['metadata', 'namespace']) ?? req.namespace) === namespace
  const isCatalog = (req.name === name && req.namespace === namespace) || names(object) || names(oldObject)
  if (!isCatalog) return { kind: 'skip', reason: 'other-configmap' }
  const ref: TargetRef = { kind: 'ConfigMap', namespace, name }
  if (policy.scope.exemptNamespaces.includes(namespace)) return { kind: 'skip', reason: 'exempt-namespace', ref }
  for (const [o, which] of [[object, 'object'], [oldObject, 'oldObject']] as const) {
    const problem = present(o) ? identityProblem(o, 'ConfigMap', req, which) : undefined
    if (problem !== undefined) return { kind: 'reject', ref, violation: problem }
  }
  if (req.operation !== 'DELETE' && !present(object)) return { kind: 'reject', ref, violation: requestProblem('object', null, `a ${req.operation} of the catalog must carry the object`, 'send the full object in request.object') }
  if (req.operation !== 'CREATE' && !present(oldObject)) {
    return { kind: 'reject', ref, violation: requestProblem('oldObject', null, `a ${req.operation} of the catalog must carry the stored object (request.oldObject): without it nothing says which keys go`, 'send oldObject, as the API server does') }
  }
  const target: Target = { type: 'catalog', old: present(oldObject) ? readCatalog(oldObject) : undefined, new: present(object) ? readCatalog(object) : undefined }
  return { kind: 'judge', ref, target, variants: [target], annotated: present(object) ? object : oldObject, previous: oldObject }
}

/**
 * Neither object nor oldObject: nothing to judge. A guarded write (or any catalog request) that
 * arrives like this is refused, never silently allowed; a bodiless KCP/MD DELETE is never denied.
 */
function resolveBodiless(req: EngineRequest, routed: GuardedKind | 'ConfigMap', policy: Policy): Resolution {
  const isCatalog = routed === 'ConfigMap' && req.namespace === policy.catalog.namespace && req.name === policy.catalog.name
  if (routed === 'ConfigMap' && !isCatalog) return { kind: 'skip', reason: 'other-configmap' }
  const ref: TargetRef = { kind: routed, namespace: req.namespace ?? '', name: req.name ?? '' }
  if (routed !== 'ConfigMap' && req.operation === 'DELETE') return { kind: 'skip', reason: 'delete', ref }
  return { kind: 'reject', ref, violation: requestProblem('object', null, `a ${req.operation} request for ${req.resource ?? routed} must carry the object (and oldObject on UPDATE and DELETE)`, 'send the full objects, as the API server does') }
}

/** `kubectl scale` of a KCP: the KCP from the view with the requested replicas. */
function resolveScale(req: EngineRequest, view: ClusterView, policy: Policy): Resolution {
  if (req.resource !== 'kubeadmcontrolplanes') return { kind: 'skip', reason: 'scale-of-machinedeployment' }
  const namespace = nonEmpty(req.namespace) ?? getString(req.object, ['metadata', 'namespace']) ?? ''
  const name = nonEmpty(req.name) ?? getString(req.object, ['metadata', 'name']) ?? ''
  const ref: TargetRef = { kind: 'KubeadmControlPlane', namespace, name }
  if (policy.scope.exemptNamespaces.includes(namespace)) return { kind: 'skip', reason: 'exempt-namespace', ref }
  const stored = view.status().available ? view.controlPlane(namespace, name) : undefined
  if (stored === undefined) {
    if (policy.state.onUnavailable === 'allow' || policy.rules['max-surge-zero'] === 'off') return { kind: 'skip', reason: 'not-bare-metal', ref }
    const why = view.status().available ? `KubeadmControlPlane ${namespace}/${name} is not in the cluster-state view` : `the cluster-state view is unavailable (${view.status().reason ?? 'not synced'})`
    return { kind: 'reject', ref, violation: notFound('spec.replicas', 'max-surge-zero', undefined, `cannot check this scale request: ${why}`, 'retry when upgrade-guard is ready, or edit spec.replicas on the KubeadmControlPlane itself') }
  }
  if (!isBareMetal(stored, policy)) return { kind: 'skip', reason: 'not-bare-metal', ref }
  if (!isRecord(req.object)) return { kind: 'reject', ref, violation: requestProblem('object', null, 'a /scale request must carry the Scale object', 'send the Scale, as the API server does') }
  const withReplicas = (scale: unknown): GuardedObject => {
    if (!isRecord(scale)) return stored // no stored Scale sent: the stored KCP is the old state
    // autoscaling/v1 ScaleSpec.replicas is omitempty: a Scale to 0 arrives without it.
    const replicas = getPath(scale, ['spec', 'replicas']) ?? 0
    const raw = stored.raw
    const spec = isRecord(raw.spec) ? raw.spec : {}
    const obj = { ...raw, spec: { ...spec, replicas } }
    const r = readGuarded(obj)
    return r.ok ? r.object : stored
  }
  const target: Target = { type: 'guarded', kind: 'KubeadmControlPlane', old: withReplicas(req.oldObject), new: withReplicas(req.object) }
  return { kind: 'judge', ref, target, variants: [target], annotated: stored.raw, previous: stored.raw }
}
