/**
 * @module cli/formats/junit
 * `validate --output junit`: JUnit XML as GitLab, Jenkins and the GitHub test reporters read it.
 * One <testsuite> per manifest file, one <testcase> per proposed object
 * (classname = file, name = `Kind ns/name`), one <failure> per denying violation (type = rule id),
 * warnings, audited and bypassed findings in <system-out>; objects upgrade-guard does not judge
 * are <skipped>. `failures` counts failed test cases (denied objects), as JUnit defines it.
 */
import type { ValidateItem, ValidateReport } from '../validate.js'
import { findingsOf, objectLabel } from './findings.js'

// XML 1.0 cannot carry these at all, not even as character references.
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** Escapes text for an XML element body. */
export function escapeXmlText(s: string): string {
  return s.replace(NOT_XML, '\uFFFD').replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

/** Escapes text for a double-quoted XML attribute; line breaks and tabs survive normalisation. */
export function escapeXmlAttr(s: string): string {
  return escapeXmlText(s).replaceAll('"', '&quot;').replaceAll("'", '&apos;').replaceAll('\n', '&#10;').replaceAll('\r', '&#13;').replaceAll('\t', '&#9;')
}

const attrs = (pairs: Readonly<Record<string, string | number>>): string =>
  Object.entries(pairs)
    .map(([k, v]) => ` ${k}="${escapeXmlAttr(String(v))}"`)
    .join('')

function testcase(item: ValidateItem, lines: string[]): void {
  const findings = findingsOf(item)
  const head = `    <testcase${attrs({ classname: item.file, name: objectLabel(item), file: item.file, line: item.line, time: 0 })}`
  const body: string[] = []
  if (item.decision.skipped !== undefined) body.push(`      <skipped${attrs({ message: `not judged: ${item.decision.skipped}` })}/>`)
  for (const f of findings) {
    if (f.severity !== 'denied') continue
    body.push(`      <failure${attrs({ message: f.text, type: f.violation.rule })}>${escapeXmlText(`${item.file}:${f.line}: ${f.text}`)}</failure>`)
  }
  const out = findings.filter((f) => f.severity !== 'denied').map((f) => `${f.severity === 'warning' ? 'warning' : f.severity}: ${item.file}:${f.line}: ${f.text}`)
  if (out.length > 0) body.push(`      <system-out>${escapeXmlText(out.join('\n'))}</system-out>`)
  if (body.length === 0) lines.push(`${head}/>`)
  else lines.push(`${head}>`, ...body, '    </testcase>')
}

export function formatJunit(report: ValidateReport): string {
  const byFile = new Map<string, ValidateItem[]>()
  for (const item of report.items) {
    const list = byFile.get(item.file)
    if (list === undefined) byFile.set(item.file, [item])
    else list.push(item)
  }
  const count = (items: readonly ValidateItem[]): { tests: number; failures: number; skipped: number } => ({
    tests: items.length,
    failures: items.filter((i) => !i.decision.allowed).length,
    skipped: items.filter((i) => i.decision.skipped !== undefined).length,
  })
  const all = count(report.items)
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites${attrs({ name: 'upgrade-guard validate', tests: all.tests, failures: all.failures, errors: 0, skipped: all.skipped, time: 0 })}>`]
  for (const [file, items] of byFile) {
    const c = count(items)
    lines.push(`  <testsuite${attrs({ name: file, tests: c.tests, failures: c.failures, errors: 0, skipped: c.skipped, time: 0 })}>`)
    for (const item of items) testcase(item, lines)
    lines.push('  </testsuite>')
  }
  lines.push('</testsuites>')
  return `${lines.join('\n')}\n`
}
