/**
 * @module cli/validate
 * The CI dry run: each object of the given files is a proposed `kubectl apply`, in file order.
 * One that exists in the state is an UPDATE of it, else a CREATE; the mutating webhook's patch is
 * applied first (as the API server would), then the SAME engine decides; an accepted change
 * updates the view for the next object.
 */
import { dryRunApply } from '../dry-run/apply.js'
import type { Decision, UserInfo } from '../engine/decision.js'
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

/** The kinds upgrade-guard judges are all namespaced: kubectl puts a namespace-less one in -n. */
function inNamespace(obj: Readonly<Record<string, unknown>>, namespace: string): Readonly<Record<string, unknown>> {
  if (getString(obj, ['metadata', 'namespace']) !== undefined) return obj
  const metadata = isRecord(obj.metadata) ? obj.metadata : {}
  return { ...obj, metadata: { ...metadata, namespace } }
}

export function runValidate(entries: readonly ManifestEntry[], view: MemoryView, policy: Policy, user: UserInfo, defaultNamespace = 'default'): ValidateReport {
  const items: ValidateItem[] = []
  let denied = 0
  let warnings = 0
  for (const entry of entries) {
    const object = inNamespace(entry.object, defaultNamespace)
    const { operation, decision } = dryRunApply(view, object, policy, user)
    if (!decision.allowed) denied++
    warnings += decision.warnings.length
    items.push({
      file: entry.file,
      doc: entry.doc,
      line: entry.line,
      kind: String(entry.object.kind),
      namespace: getString(object, ['metadata', 'namespace']) ?? '',
      name: getString(entry.object, ['metadata', 'name']) ?? '',
      // Kinds upgrade-guard does not guard are applied but not judged.
      operation: decision.skipped === 'not-guarded' ? 'SKIP' : operation,
      decision,
      lineOf: (v) => entry.lineOf(fieldToPath(v.field)),
    })
  }
  return { items, denied, warnings }
}
