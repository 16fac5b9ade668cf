/**
 * @module cli/formats/github
 * `validate --output github`: GitHub Actions workflow commands, so each finding shows as an
 * annotation on the line of the offending field in the pull request's diff:
 * `::error file=…,line=…,title=upgrade-guard [rule-id]::Kind ns/name: [rule-id] field: …`.
 * Denials are errors, warnings are warnings, audited and bypassed findings are notices.
 * Escaping follows @actions/core (toCommandValue / escapeData / escapeProperty).
 */
import type { ValidateReport } from '../validate.js'
import { findingsOf, objectLabel, totalsOf, type Severity } from './findings.js'

/** A command's message: `%`, CR and LF are encoded. */
export const escapeData = (s: string): string => s.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A')

/** A command property value: as data, plus `:` and `,` (they delimit properties). */
export const escapeProperty = (s: string): string => escapeData(s).replaceAll(':', '%3A').replaceAll(',', '%2C')

const COMMAND: Readonly<Record<Severity, 'error' | 'warning' | 'notice'>> = {
  denied: 'error',
  warning: 'warning',
  audited: 'notice',
  bypassed: 'notice',
}

const SUFFIX: Readonly<Record<Severity, string>> = { denied: '', warning: '', audited: ' (audit)', bypassed: ' (bypassed)' }

export function workflowCommand(command: 'error' | 'warning' | 'notice', properties: Readonly<Record<string, string | number>>, message: string): string {
  const props = Object.entries(properties)
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`)
    .join(',')
  return `::${command}${props === '' ? '' : ` ${props}`}::${escapeData(message)}`
}

export function formatGithub(report: ValidateReport): string {
  const lines: string[] = []
  for (const item of report.items) {
    for (const f of findingsOf(item)) {
      lines.push(workflowCommand(COMMAND[f.severity], { file: item.file, line: f.line, title: `upgrade-guard [${f.violation.rule}]${SUFFIX[f.severity]}` }, `${objectLabel(item)}: ${f.text}`))
    }
  }
  const t = totalsOf(report)
  lines.push(`upgrade-guard: ${t.allowed} allowed, ${t.denied} denied, ${t.warnings} warning(s) in ${t.objects} object(s)`)
  return `${lines.join('\n')}\n`
}
