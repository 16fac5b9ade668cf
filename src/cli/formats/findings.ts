/**
 * @module cli/formats/findings
 * What every machine-readable format needs from a ValidateReport: each object's findings in one
 * flat list (denied, warning, audited, bypassed), each with the source line of its field and the
 * one printed form of the violation.
 */
import { formatViolation } from '../../rules/field-path.js'
import type { Violation } from '../../rules/types.js'
import type { ValidateItem, ValidateReport } from '../validate.js'

export type Severity = 'denied' | 'warning' | 'audited' | 'bypassed'

export interface Finding {
  readonly severity: Severity
  readonly violation: Violation
  /** 1-based line of the offending field in its file (the object's line when the field is absent). */
  readonly line: number
  /** `[rule-id] field: Invalid value: "x": message; hint` */
  readonly text: string
}

export function findingsOf(item: ValidateItem): Finding[] {
  const d = item.decision
  const groups: readonly (readonly [Severity, readonly Violation[]])[] = [
    ['denied', d.denied],
    ['warning', d.warnings],
    ['audited', d.audited],
    ['bypassed', d.bypassed],
  ]
  return groups.flatMap(([severity, list]) => list.map((violation) => ({ severity, violation, line: item.lineOf(violation), text: formatViolation(violation) })))
}

/** `Kind ns/name` (or `Kind name` for cluster-scoped objects): the test-case name in JUnit. */
export const objectLabel = (item: Pick<ValidateItem, 'kind' | 'namespace' | 'name'>): string =>
  `${item.kind} ${item.namespace === '' ? '' : `${item.namespace}/`}${item.name}`

export interface Totals {
  readonly objects: number
  readonly allowed: number
  readonly denied: number
  readonly skipped: number
  readonly violations: number
  readonly warnings: number
  readonly audited: number
  readonly bypassed: number
}

export function totalsOf(report: ValidateReport): Totals {
  let skipped = 0
  let violations = 0
  let audited = 0
  let bypassed = 0
  for (const item of report.items) {
    if (item.decision.skipped !== undefined) skipped++
    violations += item.decision.denied.length
    audited += item.decision.audited.length
    bypassed += item.decision.bypassed.length
  }
  return {
    objects: report.items.length,
    allowed: report.items.length - report.denied,
    denied: report.denied,
    skipped,
    violations,
    warnings: report.warnings,
    audited,
    bypassed,
  }
}
