/**
 * @module cli/formats
 * Output formats of `validate`: text (people), json (report-schema.json), junit (CI test
 * reports), github (workflow-command annotations).
 */
import type { ValidateReport } from '../validate.js'
import { formatGithub } from './github.js'
import { formatJson } from './json.js'
import { formatJunit } from './junit.js'
import { formatText } from './text.js'

export const OUTPUT_FORMATS = ['text', 'json', 'junit', 'github'] as const
export type OutputFormat = (typeof OUTPUT_FORMATS)[number]

export function formatReport(report: ValidateReport, format: OutputFormat): string {
  switch (format) {
    case 'text':
      return formatText(report)
    case 'json':
      return formatJson(report)
    case 'junit':
      return formatJunit(report)
    case 'github':
      return formatGithub(report)
  }
}
