/**
 * @module dry-run/apply
 * One proposed `kubectl apply` against a state view, as the API server would run it: an object
 * that exists is an UPDATE of the stored one (whose status the server keeps), else a CREATE; the
 * mutating webhook's patch first, then the engine; an allowed object replaces the stored one.
 * `validate` and `plan` both judge through here.
 */
import { applyPatch, mutate } from '../admission/patch.js'
import type { Decision, RequestKind, UserInfo } from '../engine/decision.js'
import { evaluate } from '../engine/evaluate.js'
import { guardedKindOf } from '../objects/capi.js'
import { catalogToObject, isCatalogObject } from '../objects/catalog.js'
import { getString, type Unstructured } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import type { MemoryView } from '../state/memory-view.js'

/**
 * The kind a manifest is routed as, the way kubectl routes it: from its own apiVersion and kind
 * (the CLI has no API server in between). The engine then judges it exactly as the webhook would.
 */
export function manifestKind(obj: Unstructured): RequestKind {
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : ''
  const slash = apiVersion.indexOf('/')
  return {
    group: slash < 0 ? '' : apiVersion.slice(0, slash),
    version: slash < 0 ? apiVersion : apiVersion.slice(slash + 1),
    kind: typeof obj.kind === 'string' ? obj.kind : '',
  }
}

/** The stored object a proposed one updates (status included), from the view. */
export function storedObject(view: MemoryView, obj: Unstructured, policy: Policy): Unstructured | undefined {
  const namespace = getString(obj, ['metadata', 'namespace']) ?? ''
  const name = getString(obj, ['metadata', 'name']) ?? ''
  const kind = guardedKindOf(obj)
  if (kind === 'KubeadmControlPlane') return view.controlPlane(namespace, name)?.raw
  if (kind === 'MachineDeployment') return view.machineDeployment(namespace, name)?.raw
  if (isCatalogObject(obj, policy.catalog)) {
    const catalog = view.catalog()
    return catalog === undefined ? undefined : catalogToObject(catalog)
  }
  if (obj.kind === 'Cluster') return view.cluster(namespace, name)?.raw
  return undefined
}

export interface DryRunResult {
  readonly operation: 'CREATE' | 'UPDATE'
  /** The object as judged: stored status, mutation applied. */
  readonly object: Unstructured
  readonly decision: Decision
}

/** Judges one proposed object and, when allowed, stores it in the view. */
export function dryRunApply(view: MemoryView, proposedObject: Unstructured, policy: Policy, user: UserInfo): DryRunResult {
  const stored = storedObject(view, proposedObject, policy)
  const operation = stored === undefined ? 'CREATE' : 'UPDATE'
  // Status is the API server's, never the client's.
  const { status: _client, ...rest } = proposedObject
  const proposed: Unstructured = stored?.status === undefined ? rest : { ...rest, status: stored.status }
  const mutation = mutate({ operation, object: proposed, oldObject: stored }, policy)
  const object = mutation.patch.length > 0 ? applyPatch(proposed, mutation.patch) : proposed
  const decision = evaluate(
    { operation, kind: manifestKind(object), object, oldObject: stored ?? null, userInfo: user, namespace: getString(object, ['metadata', 'namespace']) ?? '', name: getString(object, ['metadata', 'name']) ?? '' },
    view,
    policy,
  )
  if (decision.allowed) view.upsert(object)
  return { operation, object, decision }
}
