/**
 * @module audit/gauge-series
 * The series of `upgrade_guard_audit_findings{rule,kind,namespace}`, bounded whatever the
 * cluster holds: `rule` is one of the known ids (else `other`), `kind` one of the three guarded
 * kinds, and `namespace` keeps its name only for the MAX_NAMESPACES namespaces with the most
 * findings (ties by name); the rest are summed under `other`. One audit yields at most
 * 14 rules × 3 kinds × (MAX_NAMESPACES + 1) series, however many objects or namespaces there are;
 * series that cleared stay at 0 within MAX_SERIES (server/metrics drops the oldest beyond it).
 */
import { RULE_IDS } from '../rules/ids.js'
import type { AuditFinding } from './audit.js'
import { MANAGEMENT_SKEW_RULE } from './management-skew.js'

export const MAX_NAMESPACES = 50
export const OTHER = 'other'

const RULES = new Set<string>([...RULE_IDS, MANAGEMENT_SKEW_RULE, 'request'])
const KINDS = new Set(['KubeadmControlPlane', 'MachineDeployment', 'ConfigMap'])

/**
 * Most series the gauge ever holds, cleared ones (kept at 0) included: every rule (and
 * `other`) × every kind (and `other`) × the kept namespaces and `other`.
 */
export const MAX_SERIES = (RULES.size + 1) * (KINDS.size + 1) * (MAX_NAMESPACES + 1)

export interface SeriesLabels {
  readonly rule: string
  readonly kind: string
  readonly namespace: string
}

export function auditFindingSeries(findings: readonly AuditFinding[], maxNamespaces = MAX_NAMESPACES): Map<string, { readonly labels: SeriesLabels; count: number }> {
  const perNamespace = new Map<string, number>()
  for (const f of findings) perNamespace.set(f.namespace, (perNamespace.get(f.namespace) ?? 0) + 1)
  const kept = new Set(
    [...perNamespace]
      .sort(([a, n], [b, m]) => m - n || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, maxNamespaces)
      .map(([ns]) => ns),
  )
  const out = new Map<string, { labels: SeriesLabels; count: number }>()
  for (const f of findings) {
    const labels: SeriesLabels = {
      rule: RULES.has(f.rule) ? f.rule : OTHER,
      kind: KINDS.has(f.kind) ? f.kind : OTHER,
      namespace: kept.has(f.namespace) ? f.namespace : OTHER,
    }
    const key = `${labels.rule}\u0000${labels.kind}\u0000${labels.namespace}`
    const entry = out.get(key)
    if (entry === undefined) out.set(key, { labels, count: 1 })
    else entry.count++
  }
  return out
}
