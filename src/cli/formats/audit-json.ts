/**
 * @module cli/formats/audit-json
 * `audit --output json` (and the server's `GET /audit`): one document, versioned like the
 * validate report; its JSON Schema is audit-report-schema.json next to this file. Findings are
 * grouped per cluster, then per rule; `findings` in each rule group are flat and self-contained
 * (kind, namespace, name, field, message, hint), so a reader may ignore the grouping.
 */
import { countLevels, ruleRank, groupFindings, hasDenyFinding, type AuditFinding, type AuditLevel, type AuditReport, type LevelCounts } from '../../audit/audit.js'

export const AUDIT_REPORT_VERSION = 1

export interface JsonAuditFinding {
  readonly rule: string
  readonly level: AuditLevel
  readonly kind: string
  readonly namespace: string
  readonly name: string
  readonly field: string
  readonly type: AuditFinding['type']
  readonly value?: unknown
  readonly message: string
  readonly hint: string
  readonly text: string
}

export interface JsonAuditReport {
  readonly version: typeof AUDIT_REPORT_VERSION
  readonly tool: 'upgrade-guard'
  readonly command: 'audit'
  /** True when no finding is at deny level (exit code 0). */
  readonly passed: boolean
  readonly generatedAt: string
  readonly durationMs: number
  readonly source: string
  readonly managementVersion: string | null
  readonly notes: readonly string[]
  readonly clusters: readonly {
    readonly cluster: { readonly namespace: string; readonly name: string } | null
    readonly counts: LevelCounts
    readonly rules: readonly { readonly rule: string; readonly counts: LevelCounts; readonly findings: readonly JsonAuditFinding[] }[]
  }[]
  readonly rules: readonly { readonly rule: string; readonly counts: LevelCounts }[]
  readonly totals: {
    readonly objects: number
    readonly judged: number
    readonly skipped: number
    readonly findings: number
    readonly deny: number
    readonly warn: number
    readonly audit: number
    /** Clusters with at least one finding. */
    readonly clusters: number
  }
}

function toJsonFinding(f: AuditFinding): JsonAuditFinding {
  return {
    rule: f.rule,
    level: f.level,
    kind: f.kind,
    namespace: f.namespace,
    name: f.name,
    field: f.field,
    type: f.type,
    ...(f.value === undefined ? {} : { value: f.value }),
    message: f.message,
    hint: f.hint,
    text: f.text,
  }
}

export function toJsonAuditReport(report: AuditReport): JsonAuditReport {
  const groups = groupFindings(report.findings)
  const byRule = new Map<string, AuditFinding[]>()
  for (const f of report.findings) {
    const list = byRule.get(f.rule)
    if (list === undefined) byRule.set(f.rule, [f])
    else list.push(f)
  }
  const levels = countLevels(report.findings)
  return {
    version: AUDIT_REPORT_VERSION,
    tool: 'upgrade-guard',
    command: 'audit',
    passed: !hasDenyFinding(report),
    generatedAt: new Date(report.startedAt).toISOString(),
    durationMs: Math.round(report.durationMs * 1000) / 1000,
    source: report.source,
    managementVersion: report.managementVersion ?? null,
    notes: report.managementNote === undefined ? [] : [report.managementNote],
    clusters: groups.map((g) => ({
      cluster: g.cluster === undefined ? null : { namespace: g.cluster.namespace, name: g.cluster.name },
      counts: countLevels(g.rules.flatMap((r) => r.findings)),
      rules: g.rules.map((r) => ({ rule: r.rule, counts: countLevels(r.findings), findings: r.findings.map(toJsonFinding) })),
    })),
    rules: [...byRule].sort(([a], [b]) => ruleRank(a) - ruleRank(b)).map(([rule, list]) => ({ rule, counts: countLevels(list) })),
    totals: {
      objects: report.objects,
      judged: report.judged,
      skipped: report.skipped,
      findings: report.findings.length,
      ...levels,
      clusters: groups.filter((g) => g.cluster !== undefined).length,
    },
  }
}

export const formatAuditJson = (report: AuditReport): string => `${JSON.stringify(toJsonAuditReport(report), null, 2)}\n`

/**
 * The same text as formatAuditJson, built a cluster group at a time with a turn of the event
 * loop every `sliceMs`: a report with thousands of findings is megabytes of JSON, and one
 * JSON.stringify of it would hold up the webhook's requests for tens of milliseconds. The server
 * builds it once per audit and serves the string.
 */
export async function formatAuditJsonChunked(report: AuditReport, yieldTurn: () => Promise<unknown>, sliceMs = 2): Promise<string> {
  const json = toJsonAuditReport(report)
  const marker = '\u0000clusters\u0000'
  const [head, tail] = JSON.stringify({ ...json, clusters: marker }, null, 2).split(JSON.stringify(marker)) as [string, string]
  const parts: string[] = []
  let sliceStart = performance.now()
  for (const group of json.clusters) {
    parts.push(`    ${JSON.stringify(group, null, 2).replaceAll('\n', '\n    ')}`)
    if (performance.now() - sliceStart >= sliceMs) {
      await yieldTurn()
      sliceStart = performance.now()
    }
  }
  const clusters = parts.length === 0 ? '[]' : `[\n${parts.join(',\n')}\n  ]`
  return `${head}${clusters}${tail}\n`
}
