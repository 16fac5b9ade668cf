/**
 * @module cli/formats/audit-formats
 * Output formats of `audit`, the same four as `validate`: text (people: grouped per cluster and
 * rule), json (audit-report-schema.json), junit (one <testsuite> per cluster, one <testcase>
 * per judged object, one <failure> per deny-level finding) and github (workflow commands:
 * deny-level findings are errors, warn-level warnings, audit-level notices; an audit has no
 * source file, so they show in the job summary, not on a diff line).
 */
import { clusterKey, countLevels, groupFindings, type AuditFinding, type AuditLevel, type AuditReport, type ClusterRef, type ObjectRef } from '../../audit/audit.js'
import { formatAuditJson } from './audit-json.js'
import { workflowCommand } from './github.js'
import type { OutputFormat } from './index.js'
import { escapeXmlAttr, escapeXmlText } from './junit.js'

const objectText = (o: Pick<ObjectRef, 'kind' | 'namespace' | 'name'>): string => `${o.kind} ${o.namespace === '' ? '' : `${o.namespace}/`}${o.name}`
const clusterText = (c: ClusterRef | undefined): string => (c === undefined ? 'no cluster (catalog, unclaimed objects)' : `Cluster ${c.namespace}/${c.name}`)

function summary(report: AuditReport): string {
  const c = countLevels(report.findings)
  const clusters = new Set(report.findings.filter((f) => f.cluster !== undefined).map((f) => clusterKey(f.cluster))).size
  return `${report.findings.length} finding(s): ${c.deny} deny, ${c.warn} warn, ${c.audit} audit, in ${clusters} cluster(s); ${report.judged} object(s) judged, ${report.skipped} skipped`
}

/** The message and hint without the rule and field (already columns). */
function detail(f: AuditFinding): string {
  const prefix = `[${f.rule}] ${f.field}: `
  return f.text.startsWith(prefix) ? f.text.slice(prefix.length) : f.text
}

export function formatAuditText(report: AuditReport): string {
  const lines: string[] = []
  for (const group of groupFindings(report.findings)) {
    lines.push(clusterText(group.cluster))
    for (const rule of group.rules) {
      lines.push(`  ${rule.rule}`)
      for (const f of rule.findings) lines.push(`    ${f.level.padEnd(5)} ${objectText(f)}  ${f.field}  ${detail(f)}`)
    }
  }
  if (report.managementNote !== undefined) lines.push(`note: ${report.managementNote}`)
  lines.push(summary(report))
  return `${lines.join('\n')}\n`
}

const attrs = (pairs: Readonly<Record<string, string | number>>): string =>
  Object.entries(pairs)
    .map(([k, v]) => ` ${k}="${escapeXmlAttr(String(v))}"`)
    .join('')

const objectKey = (o: Pick<ObjectRef, 'kind' | 'namespace' | 'name'>): string => `${o.kind} ${o.namespace}/${o.name}`

export function formatAuditJunit(report: AuditReport): string {
  const findingsOf = new Map<string, AuditFinding[]>()
  for (const f of report.findings) {
    const k = objectKey(f)
    const list = findingsOf.get(k)
    if (list === undefined) findingsOf.set(k, [f])
    else list.push(f)
  }
  const suites = new Map<string, { cluster: ClusterRef | undefined; objects: ObjectRef[] }>()
  const sorted = [...report.judgedObjects].sort((a, b) => {
    const ca = clusterKey(a.cluster)
    const cb = clusterKey(b.cluster)
    if (ca !== cb) return ca === '' ? 1 : cb === '' ? -1 : ca < cb ? -1 : 1
    return objectKey(a).localeCompare(objectKey(b))
  })
  for (const o of sorted) {
    const k = clusterKey(o.cluster)
    const suite = suites.get(k)
    if (suite === undefined) suites.set(k, { cluster: o.cluster, objects: [o] })
    else suite.objects.push(o)
  }
  const failed = (o: ObjectRef): boolean => (findingsOf.get(objectKey(o)) ?? []).some((f) => f.level === 'deny')
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites${attrs({ name: 'upgrade-guard audit', tests: sorted.length, failures: sorted.filter(failed).length, errors: 0, skipped: 0, time: 0 })}>`]
  for (const { cluster, objects } of suites.values()) {
    const name = clusterText(cluster)
    lines.push(`  <testsuite${attrs({ name, tests: objects.length, failures: objects.filter(failed).length, errors: 0, skipped: 0, time: 0 })}>`)
    for (const o of objects) {
      const found = findingsOf.get(objectKey(o)) ?? []
      const head = `    <testcase${attrs({ classname: name, name: objectText(o), time: 0 })}`
      const body = found.filter((f) => f.level === 'deny').map((f) => `      <failure${attrs({ message: f.text, type: f.rule })}>${escapeXmlText(f.text)}</failure>`)
      const out = found.filter((f) => f.level !== 'deny').map((f) => `${f.level}: ${f.text}`)
      if (out.length > 0) body.push(`      <system-out>${escapeXmlText(out.join('\n'))}</system-out>`)
      if (body.length === 0) lines.push(`${head}/>`)
      else lines.push(`${head}>`, ...body, '    </testcase>')
    }
    lines.push('  </testsuite>')
  }
  lines.push('</testsuites>')
  return `${lines.join('\n')}\n`
}

const COMMAND: Readonly<Record<AuditLevel, 'error' | 'warning' | 'notice'>> = { deny: 'error', warn: 'warning', audit: 'notice' }

export function formatAuditGithub(report: AuditReport): string {
  const lines = report.findings.map((f) => {
    const where = f.cluster === undefined ? objectText(f) : `${objectText(f)} (cluster ${f.cluster.namespace}/${f.cluster.name})`
    return workflowCommand(COMMAND[f.level], { title: `upgrade-guard audit [${f.rule}]${f.level === 'audit' ? ' (audit)' : ''}` }, `${where}: ${f.text}`)
  })
  if (report.managementNote !== undefined) lines.push(workflowCommand('notice', { title: 'upgrade-guard audit' }, report.managementNote))
  lines.push(`upgrade-guard audit: ${summary(report)}`)
  return `${lines.join('\n')}\n`
}

export function formatAuditReport(report: AuditReport, format: OutputFormat): string {
  switch (format) {
    case 'text':
      return formatAuditText(report)
    case 'json':
      return formatAuditJson(report)
    case 'junit':
      return formatAuditJunit(report)
    case 'github':
      return formatAuditGithub(report)
  }
}
