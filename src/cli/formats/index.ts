/**
 * @module cli/formats
 * Output formats of `validate`.
 */
import type { ValidateReport } from '../validate.js'
import { formatText } from './text.js'

export const OUTPUT_FORMATS = ['text'] as const
export type OutputFormat = (typeof OUTPUT_FORMATS)[number]

export function formatReport(report: ValidateReport, format: OutputFormat): string {
  switch (format) {
    case 'text':
      return formatText(report)
  }
}
