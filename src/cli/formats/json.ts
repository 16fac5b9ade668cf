/**
 * @module cli/formats/json
 * `validate --output json`: one document, stable and versioned; its JSON Schema is
 * report-schema.json next to this file (`version` changes only when a field changes meaning or
 * goes away; new optional fields do not bump it).
 */
import type { Violation } from '../../rules/types.js'
import type { ValidateItem, ValidateReport } from '../validate.js'
import { findingsOf, totalsOf, type Finding, type Totals } from './findings.js'

export const REPORT_VERSION = 1

export interface JsonViolation {
  readonly rule: string
  readonly field: string
  readonly type: Violation['type']
  readonly value?: unknown
  readonly message: string
  readonly hint: string
  readonly line: number
  readonly text: string
}

export interface JsonObject {
  readonly file: string
  readonly doc: number
  readonly line: number
  readonly kind: string
  readonly namespace: string
  readonly name: string
  readonly operation: ValidateItem['operation']
  readonly allowed: boolean
  /** Why the object was not judged (not a guarded kind, not bare metal, exempt namespace…). */
  readonly skipped: string | null
  readonly violations: readonly JsonViolation[]
  readonly warnings: readonly JsonViolation[]
  readonly audited: readonly JsonViolation[]
  readonly bypassed: readonly JsonViolation[]
}

export interface JsonReport {
  readonly version: typeof REPORT_VERSION
  readonly tool: 'upgrade-guard'
  readonly command: 'validate'
  readonly allowed: boolean
  readonly objects: readonly JsonObject[]
  readonly totals: Totals
}

function toJsonViolation(f: Finding): JsonViolation {
  const v = f.violation
  return {
    rule: v.rule,
    field: v.field,
    type: v.type,
    ...(v.value === undefined ? {} : { value: v.value }),
    message: v.message,
    hint: v.hint,
    line: f.line,
    text: f.text,
  }
}

export function toJsonReport(report: ValidateReport): JsonReport {
  const objects = report.items.map((item): JsonObject => {
    const findings = findingsOf(item)
    const of = (severity: Finding['severity']): JsonViolation[] => findings.filter((f) => f.severity === severity).map(toJsonViolation)
    return {
      file: item.file,
      doc: item.doc,
      line: item.line,
      kind: item.kind,
      namespace: item.namespace,
      name: item.name,
      operation: item.operation,
      allowed: item.decision.allowed,
      skipped: item.decision.skipped ?? null,
      violations: of('denied'),
      warnings: of('warning'),
      audited: of('audited'),
      bypassed: of('bypassed'),
    }
  })
  return { version: REPORT_VERSION, tool: 'upgrade-guard', command: 'validate', allowed: report.denied === 0, objects, totals: totalsOf(report) }
}

export const formatJson = (report: ValidateReport): string => `${JSON.stringify(toJsonReport(report), null, 2)}\n`
