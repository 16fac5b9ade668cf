/**
 * @module engine/scope
 * Decides what a request is about: a bare-metal KCP/MD, the image catalog, or something
 * upgrade-guard leaves alone (fast). Translates a KCP `/scale` request into the KCP change it
 * means, from the state view (a Scale carries replicas only).
 */
import { guardedKindOf, readGuarded, type GuardedObject } from '../objects/capi.js'
import { isCatalogObject, isConfigMap, readCatalog } from '../objects/catalog.js'
import { getPath, getString, isRecord } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import { isBareMetal } from '../rules/common.js'
import { invalid, notFound } from '../rules/field-path.js'
import type { Target, Violation } from '../rules/types.js'
import type { ClusterView } from '../state/cluster-view.js'
import type { EngineRequest, SkipReason, TargetRef } from './decision.js'

export type Resolution =
  | { readonly kind: 'skip'; readonly reason: SkipReason; readonly ref?: TargetRef }
  | { readonly kind: 'reject'; readonly violation: Violation; readonly ref: TargetRef }
  | {
      readonly kind: 'judge'
      readonly target: Target
      readonly ref: TargetRef
      /** The object whose annotations carry a bypass (new, or old on DELETE) and its stored self. */
      readonly annotated: unknown
      readonly previous: unknown
    }

const present = (o: unknown): boolean => o !== null && o !== undefined

function refOf(req: EngineRequest, obj: unknown, kind: string): TargetRef {
  return {
    kind,
    namespace: getString(obj, ['metadata', 'namespace']) ?? req.namespace ?? '',
    name: getString(obj, ['metadata', 'name']) ?? req.name ?? '',
  }
}

export function resolveTarget(req: EngineRequest, view: ClusterView, policy: Policy): Resolution {
  if (req.subResource === 'status') return { kind: 'skip', reason: 'status-subresource' }
  if (req.subResource === 'scale') return resolveScale(req, view, policy)
  const subject = present(req.object) ? req.object : req.oldObject
  if (!present(subject)) return resolveBodiless(req, policy)
  const namespace = getString(subject, ['metadata', 'namespace']) ?? req.namespace ?? ''
  if (isConfigMap(subject)) {
    const isCatalog = isCatalogObject(req.object, policy.catalog) || isCatalogObject(req.oldObject, policy.catalog)
    if (!isCatalog) return { kind: 'skip', reason: 'other-configmap' }
    const ref = refOf(req, subject, 'ConfigMap')
    if (policy.scope.exemptNamespaces.includes(namespace)) return { kind: 'skip', reason: 'exempt-namespace', ref }
    return {
      kind: 'judge',
      ref,
      target: { type: 'catalog', old: present(req.oldObject) ? readCatalog(req.oldObject) : undefined, new: present(req.object) ? readCatalog(req.object) : undefined },
      annotated: subject,
      previous: req.oldObject,
    }
  }
  const kind = guardedKindOf(subject)
  if (kind === undefined) return { kind: 'skip', reason: 'not-guarded' }
  const ref = refOf(req, subject, kind)
  if (req.operation === 'DELETE') return { kind: 'skip', reason: 'delete', ref }
  if (policy.scope.exemptNamespaces.includes(namespace)) return { kind: 'skip', reason: 'exempt-namespace', ref }
  const read = (o: unknown): GuardedObject | Violation | undefined => {
    if (!present(o)) return undefined
    const r = readGuarded(o)
    return r.ok ? r.object : invalid('apiVersion', 'request', getPath(o, ['apiVersion']), `cannot read this ${kind}: ${r.reason}`, 'send a KubeadmControlPlane or MachineDeployment of a served CAPI version')
  }
  const next = read(req.object)
  const old = read(req.oldObject)
  for (const r of [next, old]) if (r !== undefined && 'rule' in r) return { kind: 'reject', violation: r, ref }
  const nextObj = withClusterName(next as GuardedObject | undefined, view)
  const oldObj = withClusterName(old as GuardedObject | undefined, view)
  if (nextObj === undefined) {
    return { kind: 'reject', ref, violation: invalid('object', 'request', null, `a ${req.operation} request must carry the object`, 'send the full object in request.object') }
  }
  if (!isBareMetal(nextObj, policy) && !isBareMetal(oldObj, policy)) return { kind: 'skip', reason: 'not-bare-metal', ref }
  return { kind: 'judge', ref, target: { type: 'guarded', kind, old: oldObj, new: nextObj }, annotated: req.object, previous: req.oldObject }
}

/**
 * Neither object nor oldObject: nothing to judge. A guarded write (or any catalog request) that
 * arrives like this is refused, never silently allowed; anything else is not ours.
 */
function resolveBodiless(req: EngineRequest, policy: Policy): Resolution {
  const isGuardedWrite = (req.resource === 'kubeadmcontrolplanes' || req.resource === 'machinedeployments') && req.operation !== 'DELETE'
  const isCatalog = req.resource === 'configmaps' && req.namespace === policy.catalog.namespace && req.name === policy.catalog.name
  if (!isGuardedWrite && !isCatalog) return { kind: 'skip', reason: 'not-guarded' }
  const ref: TargetRef = { kind: isCatalog ? 'ConfigMap' : (req.resource ?? ''), namespace: req.namespace ?? '', name: req.name ?? '' }
  return { kind: 'reject', ref, violation: invalid('object', 'request', null, `a ${req.operation} request for ${req.resource ?? 'this resource'} must carry the object (and oldObject on UPDATE and DELETE)`, 'send the full objects, as the API server does') }
}

/**
 * A KCP carries its cluster in a label or an owner reference, but a fresh one may have neither:
 * then the Cluster whose spec.controlPlaneRef names it says which cluster it belongs to.
 */
function withClusterName(obj: GuardedObject | undefined, view: ClusterView): GuardedObject | undefined {
  if (obj === undefined || obj.clusterName !== undefined || obj.kind !== 'KubeadmControlPlane') return obj
  const cluster = view.clusterOfControlPlane(obj.namespace, obj.name)
  return cluster === undefined ? obj : { ...obj, clusterName: cluster.name }
}

/** `kubectl scale` of a KCP: the KCP from the view with the requested replicas. */
function resolveScale(req: EngineRequest, view: ClusterView, policy: Policy): Resolution {
  if (req.resource !== 'kubeadmcontrolplanes') return { kind: 'skip', reason: 'scale-of-machinedeployment' }
  const namespace = getString(req.object, ['metadata', 'namespace']) ?? req.namespace ?? ''
  const name = getString(req.object, ['metadata', 'name']) ?? req.name ?? ''
  const ref: TargetRef = { kind: 'KubeadmControlPlane', namespace, name }
  if (policy.scope.exemptNamespaces.includes(namespace)) return { kind: 'skip', reason: 'exempt-namespace', ref }
  const stored = view.status().available ? view.controlPlane(namespace, name) : undefined
  if (stored === undefined) {
    if (policy.state.onUnavailable === 'allow' || policy.rules['max-surge-zero'] === 'off') return { kind: 'skip', reason: 'not-bare-metal', ref }
    const why = view.status().available ? `KubeadmControlPlane ${namespace}/${name} is not in the cluster-state view` : `the cluster-state view is unavailable (${view.status().reason ?? 'not synced'})`
    return { kind: 'reject', ref, violation: notFound('spec.replicas', 'max-surge-zero', undefined, `cannot check this scale request: ${why}`, 'retry when upgrade-guard is ready, or edit spec.replicas on the KubeadmControlPlane itself') }
  }
  if (!isBareMetal(stored, policy)) return { kind: 'skip', reason: 'not-bare-metal', ref }
  const withReplicas = (scale: unknown): GuardedObject => {
    const replicas = getPath(scale, ['spec', 'replicas'])
    const raw = stored.raw
    const spec = isRecord(raw.spec) ? raw.spec : {}
    const obj = { ...raw, spec: { ...spec, replicas } }
    const r = readGuarded(obj)
    return r.ok ? r.object : stored
  }
  return {
    kind: 'judge',
    ref,
    target: { type: 'guarded', kind: 'KubeadmControlPlane', old: withReplicas(req.oldObject), new: withReplicas(req.object) },
    annotated: stored.raw,
    previous: stored.raw,
  }
}
