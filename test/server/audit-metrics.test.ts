/**
 * upgrade_guard_audit_findings over many audits: a cleared series reads 0 (not "no data"), and
 * however many namespaces come and go, the gauge never holds more than MAX_SERIES series.
 */
import { describe, expect, it } from 'vitest'
import type { AuditFinding, AuditReport } from '../../src/audit/audit.js'
import { MAX_SERIES } from '../../src/audit/gauge-series.js'
import { ServerMetrics } from '../../src/server/metrics.js'

const finding = (namespace: string, rule = 'max-surge-zero'): AuditFinding => ({ rule, level: 'deny', kind: 'MachineDeployment', namespace, name: 'md', cluster: undefined, field: 'spec.version', type: 'Invalid', message: '', hint: '', text: '' })
const report = (findings: AuditFinding[]): AuditReport => ({ startedAt: 0, durationMs: 12, source: 'test', managementVersion: undefined, managementNote: undefined, objects: findings.length, judged: findings.length, skipped: 0, findings, judgedObjects: [] })

async function series(metrics: ServerMetrics): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const line of (await metrics.registry.metrics()).split('\n')) {
    const m = /^upgrade_guard_audit_findings\{(.*)\} (\d+)$/.exec(line)
    if (m !== null) out.set(m[1] ?? '', Number(m[2]))
  }
  return out
}

describe('upgrade_guard_audit_findings', () => {
  it('counts per rule, kind and namespace; a cleared series reads 0', async () => {
    const metrics = new ServerMetrics({ defaultMetrics: false })
    metrics.setAuditFindings(report([finding('a'), finding('a'), finding('b')]), 1_000)
    expect(await series(metrics)).toEqual(new Map([['rule="max-surge-zero",kind="MachineDeployment",namespace="a"', 2], ['rule="max-surge-zero",kind="MachineDeployment",namespace="b"', 1]]))
    metrics.setAuditFindings(report([finding('a')]), 2_000)
    expect(await series(metrics)).toEqual(new Map([['rule="max-surge-zero",kind="MachineDeployment",namespace="a"', 1], ['rule="max-surge-zero",kind="MachineDeployment",namespace="b"', 0]]))
    expect(await metrics.registry.metrics()).toMatch(/^upgrade_guard_audit_last_run_timestamp_seconds 2$/m)
    expect(await metrics.registry.metrics()).toMatch(/^upgrade_guard_audit_duration_seconds 0\.012$/m)
  })

  it('stays within MAX_SERIES while namespaces come and go', async () => {
    const metrics = new ServerMetrics({ defaultMetrics: false })
    for (let run = 0; run < 80; run++) metrics.setAuditFindings(report(Array.from({ length: 50 }, (_, i) => finding(`ns-${run}-${i}`))), run * 1000)
    const all = await series(metrics)
    expect(all.size).toBeLessThanOrEqual(MAX_SERIES)
    expect(all.size).toBeGreaterThan(MAX_SERIES - 50) // 4,000 label sets were seen: the oldest zeros went
    // The last run's findings are all there, at 1.
    for (let i = 0; i < 50; i++) expect(all.get(`rule="max-surge-zero",kind="MachineDeployment",namespace="ns-79-${i}"`)).toBe(1)
  })
})
