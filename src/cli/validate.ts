/**
 * @module cli/validate
 * The CI dry run: each object of the given files is a proposed `kubectl apply`, in file order.
 * One that exists in the state is an UPDATE of it, else a CREATE; the mutating webhook's patch is
 * applied first (as the API server would), then the SAME engine decides; an accepted change
 * updates the view for the next object.
 */
import { applyPatch, mutate } from '../admission/patch.js'
import { evaluate } from '../engine/evaluate.js'
import type { Decision, UserInfo } from '../engine/decision.js'
import { guardedKindOf } from '../objects/capi.js'
import { isCatalogObject } from '../objects/catalog.js'
import { getString, isRecord } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import type { Violation } from '../rules/types.js'
import type { ManifestEntry } from '../state/manifests.js'
import type { MemoryView } from '../state/memory-view.js'

export interface ValidateItem {
  readonly file: string
  readonly doc: number
  readonly line: number
  readonly kind: string
  readonly namespace: string
  readonly name: string
  readonly operation: 'CREATE' | 'UPDATE' | 'SKIP'
  readonly decision: Decision
  /** Source line of a violation's field (or of the object). */
  readonly lineOf: (v: Violation) => number
}

export interface ValidateReport {
  readonly items: readonly ValidateItem[]
  readonly denied: number
  readonly warnings: number
}

/** `spec.a.b[c/d]` → ['spec','a','b','c/d'] */
export function fieldToPath(field: string): string[] {
  const out: string[] = []
  for (const m of field.matchAll(/([^.[\]]+)|\[([^\]]*)\]/g)) out.push(m[1] ?? m[2] ?? '')
  return out
}

function storedOf(view: MemoryView, obj: Readonly<Record<string, unknown>>, policy: Policy): unknown {
  const namespace = getString(obj, ['metadata', 'namespace']) ?? ''
  const name = getString(obj, ['metadata', 'name']) ?? ''
  const kind = guardedKindOf(obj)
  if (kind === 'KubeadmControlPlane') return view.controlPlane(namespace, name)?.raw
  if (kind === 'MachineDeployment') return view.machineDeployment(namespace, name)?.raw
  if (isCatalogObject(obj, policy.catalog)) {
    const catalog = view.catalog()
    return catalog === undefined ? undefined : { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: catalog.namespace, name: catalog.name }, data: Object.fromEntries(catalog.entries) }
  }
  if (obj.kind === 'Cluster') return view.cluster(namespace, name)?.raw
  return undefined
}

/** Status is the API server's, never the client's: keep the stored one on UPDATE. */
function withStoredStatus(next: Readonly<Record<string, unknown>>, stored: unknown): Readonly<Record<string, unknown>> {
  if (!isRecord(stored)) return next
  const { status: _ignored, ...rest } = next
  return stored.status === undefined ? rest : { ...rest, status: stored.status }
}

export function runValidate(entries: readonly ManifestEntry[], view: MemoryView, policy: Policy, user: UserInfo): ValidateReport {
  const items: ValidateItem[] = []
  let denied = 0
  let warnings = 0
  for (const entry of entries) {
    const stored = storedOf(view, entry.object, policy)
    const operation = stored === undefined ? 'CREATE' : 'UPDATE'
    const proposed = withStoredStatus(entry.object, stored)
    const mutation = mutate({ operation, object: proposed }, policy)
    const object = mutation.patch.length > 0 ? applyPatch(proposed, mutation.patch) : proposed
    const decision = evaluate({ operation, object, oldObject: stored ?? null, userInfo: user, namespace: getString(object, ['metadata', 'namespace']) ?? '', name: getString(object, ['metadata', 'name']) ?? '' }, view, policy)
    if (decision.allowed) view.upsert(object)
    else denied++
    warnings += decision.warnings.length
    items.push({
      file: entry.file,
      doc: entry.doc,
      line: entry.line,
      kind: String(entry.object.kind),
      namespace: getString(entry.object, ['metadata', 'namespace']) ?? '',
      name: getString(entry.object, ['metadata', 'name']) ?? '',
      operation: decision.skipped === undefined || decision.skipped === 'not-bare-metal' ? operation : decision.skipped === 'not-guarded' ? 'SKIP' : operation,
      decision,
      lineOf: (v) => entry.lineOf(fieldToPath(v.field)),
    })
  }
  return { items, denied, warnings }
}
