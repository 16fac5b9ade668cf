/**
 * @module cli/formats/text
 * For people: one line per violation, `file:doc  Kind ns/name  rule-id  field  message; hint`,
 * warnings marked, and a summary line.
 */
import { formatDetail } from '../../rules/field-path.js'
import type { ValidateReport } from '../validate.js'

export function formatText(report: ValidateReport): string {
  const lines: string[] = []
  for (const item of report.items) {
    const where = `${item.file}:${item.doc}`
    const what = `${item.kind} ${item.namespace === '' ? '' : `${item.namespace}/`}${item.name}`
    const d = item.decision
    for (const v of d.denied) lines.push(`${where}  ${what}  ${v.rule}  ${v.field}  ${detailOf(v)}`)
    for (const v of d.warnings) lines.push(`${where}  ${what}  ${v.rule}  ${v.field}  warning: ${detailOf(v)}`)
    for (const v of d.bypassed) lines.push(`${where}  ${what}  ${v.rule}  ${v.field}  bypassed: ${detailOf(v)}`)
  }
  const total = report.items.length
  lines.push(`${total - report.denied} allowed, ${report.denied} denied, ${report.warnings} warning(s) in ${total} object(s)`)
  return `${lines.join('\n')}\n`
}

/** The message and hint without the field (already a column). */
function detailOf(v: Parameters<typeof formatDetail>[0]): string {
  const full = formatDetail(v)
  return full.startsWith(`${v.field}: `) ? full.slice(v.field.length + 2) : full
}
