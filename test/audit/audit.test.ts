/**
 * The audit as a function: examples/audit (one known violation per rule that applies to
 * existing objects) judged as it stands through the engine; transition-only rules stay silent;
 * a bypass annotation hides nothing; a fixed object's finding clears; the chunked driver gives
 * the same report and yields; the gauge series stay bounded.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { asItStands, AUDIT_USER } from '../../src/audit/as-it-stands.js'
import { groupFindings, hasDenyFinding, runAudit, runAuditChunked, type AuditFinding, type AuditReport } from '../../src/audit/audit.js'
import { auditFindingSeries, MAX_NAMESPACES, OTHER } from '../../src/audit/gauge-series.js'
import { parseManagementVersion } from '../../src/audit/management-skew.js'
import { evaluate } from '../../src/engine/evaluate.js'
import { loadPolicy } from '../../src/policy/load.js'
import type { Policy } from '../../src/policy/types.js'
import { loadFileView } from '../../src/state/file-view.js'
import type { MemoryView } from '../../src/state/memory-view.js'
import { ROOT } from '../helpers/cli.js'

const STATE = join(ROOT, 'examples/audit/state')
const POLICY = join(ROOT, 'examples/audit/policy.yaml')
const policy: Policy = loadPolicy(POLICY)
const fresh = (): MemoryView => loadFileView([STATE], policy.catalog).view
const audit = (view = fresh(), managementVersion?: string): AuditReport => runAudit(view, policy, { source: 'test', managementVersion })
const ids = (fs: readonly AuditFinding[]): string[] => fs.map((f) => `${f.level} ${f.rule} ${f.kind} ${f.name} ${f.field}`)
const of = (r: AuditReport, rule: string): AuditFinding[] => r.findings.filter((f) => f.rule === rule)

describe('examples/audit: each rule that judges an object as it stands, at least once', () => {
  const report = audit(fresh(), 'v1.34.2')

  it.each([
    { rule: 'max-surge-zero', expected: ['deny max-surge-zero KubeadmControlPlane surge-control-plane spec.replicas', 'deny max-surge-zero MachineDeployment surge-workers spec.strategy.rollingUpdate.maxSurge'] },
    { rule: 'catalog-key', expected: ['deny catalog-key KubeadmControlPlane lost-key-control-plane spec.version', 'deny catalog-key MachineDeployment lost-key-workers spec.template.spec.version'] },
    { rule: 'catalog-shape', expected: ['deny catalog-shape ConfigMap elemental-image-catalog data[1.35.1]', 'deny catalog-shape ConfigMap elemental-image-catalog data[v1.34.5-3]'] },
    { rule: 'worker-skew', expected: ['deny worker-skew KubeadmControlPlane skew-control-plane spec.version', 'deny worker-skew MachineDeployment skew-workers spec.template.spec.version'] },
    { rule: 'workers-follow-control-plane', expected: ['deny workers-follow-control-plane MachineDeployment ahead-workers spec.template.spec.version'] },
    { rule: 'registry-address', expected: ['deny registry-address KubeadmControlPlane no-registry-control-plane spec.version', 'deny registry-address MachineDeployment no-registry-workers spec.template.spec.version'] },
    { rule: 'release-order', expected: ['audit release-order KubeadmControlPlane late-build-control-plane spec.version', 'audit release-order MachineDeployment late-build-workers spec.template.spec.version'] },
    { rule: 'pinned-component-tags', expected: ['warn pinned-component-tags KubeadmControlPlane skew-control-plane spec.kubeadmConfigSpec.clusterConfiguration.dns.imageTag'] },
    { rule: 'management-version', expected: ['deny management-version KubeadmControlPlane no-registry-control-plane spec.version'] },
  ])('$rule', ({ rule, expected }) => {
    expect(ids(of(report, rule))).toEqual(expected)
  })

  it('transition-only rules never report an object as it stands', () => {
    const rules = new Set(report.findings.map((f) => f.rule))
    for (const rule of ['control-plane-minor-step', 'no-downgrade', 'catalog-in-use', 'bypass', 'request']) expect(rules.has(rule)).toBe(false)
  })

  it('the healthy cluster has no finding; the Docker cluster is out of scope (skipped)', () => {
    expect(report.findings.filter((f) => f.cluster?.name === 'healthy' || f.cluster?.name === 'docker')).toEqual([])
    expect(report.skipped).toBe(2)
    expect(report.judged).toBe(15)
    expect(report.objects).toBe(17)
  })

  it('a finding is what the webhook would say about a CREATE of that object (the same engine)', () => {
    const view = fresh()
    const md = view.machineDeployment('audit-demo', 'surge-workers')
    expect(md).toBeDefined()
    const decision = evaluate({ operation: 'CREATE', kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineDeployment' }, resource: 'machinedeployments', object: md?.raw, oldObject: null, userInfo: { username: 'someone' }, namespace: 'audit-demo', name: 'surge-workers' }, view, policy)
    const webhook = decision.denied.filter((v) => v.rule !== 'bypass').map((v) => `[${v.rule}] ${v.field}`)
    expect(report.findings.filter((f) => f.name === 'surge-workers').map((f) => `[${f.rule}] ${f.field}`)).toEqual(webhook)
  })

  it('a bypass annotation left on the object hides nothing (the audit acts for nobody)', () => {
    const request = asItStands(fresh().machineDeployment('audit-demo', 'surge-workers')?.raw ?? {})
    expect(request).toMatchObject({ operation: 'CREATE', oldObject: null, userInfo: AUDIT_USER, resource: 'machinedeployments', namespace: 'audit-demo', name: 'surge-workers' })
    expect(of(report, 'max-surge-zero').map((f) => f.name)).toContain('surge-workers')
  })

  it('findings are grouped per cluster, then per rule; catalog findings last, with no cluster', () => {
    const groups = groupFindings(report.findings)
    expect(groups.map((g) => g.cluster?.name ?? null)).toEqual(['ahead', 'late-build', 'lost-key', 'no-registry', 'skew', 'surge', null])
    expect(groups.find((g) => g.cluster?.name === 'no-registry')?.rules.map((r) => r.rule)).toEqual(['registry-address', 'management-version'])
    expect(hasDenyFinding(report)).toBe(true)
  })
})

describe('management cluster skew (GKE: at most one minor ahead)', () => {
  it.each([
    { management: undefined, expected: [], note: /management version unknown/ },
    { management: 'v1.33.9', expected: [], note: undefined },
    { management: 'v1.34.2', expected: ['no-registry'], note: undefined },
    { management: 'v1.35.0+k3s1', expected: ['ahead', 'healthy', 'lost-key', 'no-registry', 'surge'], note: undefined },
    { management: 'not-a-version', expected: [], note: /not a Kubernetes version/ },
  ])('management $management', ({ management, expected, note }) => {
    const report = audit(fresh(), management)
    expect(of(report, 'management-version').map((f) => f.cluster?.name ?? '').sort()).toEqual(expected)
    if (note === undefined) expect(report.managementNote).toBeUndefined()
    else expect(report.managementNote).toMatch(note)
  })

  it('parses gitVersions with vendor suffixes, refuses anything else', () => {
    expect(parseManagementVersion('v1.31.4+k3s1')).toMatchObject({ major: 1, minor: 31 })
    expect(parseManagementVersion('v1.30.2-eks-1234')).toMatchObject({ major: 1, minor: 30 })
    expect(parseManagementVersion('1.32')).toMatchObject({ major: 1, minor: 32 })
    expect(parseManagementVersion('latest')).toBeUndefined()
  })

  it('follows the management-version action once the policy has one; off turns the check off', () => {
    const relaxed = { ...policy, rules: { ...policy.rules, 'management-version': 'warn' } } as unknown as Policy
    expect(runAudit(fresh(), relaxed, { managementVersion: 'v1.34.0' }).findings.filter((f) => f.rule === 'management-version').map((f) => f.level)).toEqual(['warn'])
    const off = { ...policy, rules: { ...policy.rules, 'management-version': 'off' } } as unknown as Policy
    const report = runAudit(fresh(), off, { managementVersion: 'v1.34.0' })
    expect(report.findings.filter((f) => f.rule === 'management-version')).toEqual([])
    expect(report.managementNote).toMatch(/off in the policy/)
  })
})

describe('a finding clears when the object is fixed', () => {
  it('maxSurge set to 0 and maxUnavailable to 1: max-surge-zero is gone for that MD, the rest stays', () => {
    const view = fresh()
    const before = audit(view)
    const md = view.machineDeployment('audit-demo', 'surge-workers')?.raw as Record<string, unknown> & { spec: { strategy: { rollingUpdate: Record<string, unknown> } } }
    view.upsert({ ...md, spec: { ...md.spec, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } } })
    const after = audit(view)
    const gone = before.findings.filter((f) => !after.findings.some((g) => g.text === f.text && g.name === f.name))
    expect(ids(gone)).toEqual(['deny max-surge-zero MachineDeployment surge-workers spec.strategy.rollingUpdate.maxSurge'])
    expect(after.findings.length).toBe(before.findings.length - 1)
  })

  it('a rule set to off in the policy reports nothing', () => {
    const off = { ...policy, rules: { ...policy.rules, 'catalog-key': 'off' } } as Policy
    expect(runAudit(fresh(), off).findings.filter((f) => f.rule === 'catalog-key')).toEqual([])
  })
})

describe('runAuditChunked: the same audit in slices', () => {
  it('same findings as runAudit; yields to the event loop between slices', async () => {
    const view = fresh()
    let turns = 0
    const chunked = await runAuditChunked(view, policy, { managementVersion: 'v1.34.2' }, { sliceMs: 0, yieldTurn: async () => void turns++ })
    expect(chunked.findings).toEqual(audit(view, 'v1.34.2').findings)
    // sliceMs 0: one turn after every object (the catalog and 16 guarded objects).
    expect(turns).toBe(17)
  })
})

describe('gauge series: bounded cardinality', () => {
  const finding = (rule: string, kind: string, namespace: string): AuditFinding => ({ rule, level: 'deny', kind, namespace, name: 'x', cluster: undefined, field: 'spec.version', type: 'Invalid', message: '', hint: '', text: '' })

  it(`keeps the ${MAX_NAMESPACES} busiest namespaces, sums the rest under "${OTHER}", and unknown rules and kinds too`, () => {
    const findings: AuditFinding[] = []
    for (let i = 0; i < 120; i++) for (let n = 0; n <= (i < 10 ? 3 : 0); n++) findings.push(finding('max-surge-zero', 'MachineDeployment', `ns-${String(i).padStart(3, '0')}`))
    findings.push(finding('made-up', 'Pod', 'ns-000'))
    const series = auditFindingSeries(findings)
    const namespaces = new Set([...series.values()].map((s) => s.labels.namespace))
    expect(namespaces.size).toBe(MAX_NAMESPACES + 1)
    expect(namespaces.has(OTHER)).toBe(true)
    expect(namespaces.has('ns-000')).toBe(true) // among the busiest
    expect([...series.values()].reduce((n, s) => n + s.count, 0)).toBe(findings.length)
    expect([...series.values()].some((s) => s.labels.rule === OTHER && s.labels.kind === OTHER)).toBe(true)
  })
})

describe('docs/rules.md says which rules apply as they stand', () => {
  it('its audit table names every rule id, and the ones it calls transition-only never report here', async () => {
    const { readFileSync } = await import('node:fs')
    const { RULE_IDS } = await import('../../src/rules/ids.js')
    const doc = readFileSync(join(ROOT, 'docs/rules.md'), 'utf8')
    const section = doc.slice(doc.indexOf('## Audit: objects as they stand'))
    const rows = new Map([...section.matchAll(/^\| `([a-z-]+)`[^|]*\| ([^|]+) \|/gm)].map((m) => [m[1] ?? '', (m[2] ?? '').trim()]))
    for (const id of RULE_IDS) expect(rows.has(id), `${id} in the audit table`).toBe(true)
    const transition = [...rows].filter(([, applies]) => applies.startsWith('no')).map(([id]) => id)
    expect(transition.sort()).toEqual(['bypass', 'catalog-in-use', 'control-plane-healthy', 'control-plane-minor-step', 'management-ready', 'no-downgrade', 'pool-capacity', 'workers-healthy'])
    const reported = new Set(audit(fresh(), 'v1.34.2').findings.map((f) => f.rule))
    for (const id of transition) expect(reported.has(id)).toBe(false)
    for (const [id, applies] of rows) if (applies.startsWith('yes') || applies === 'partly' || applies === 'audit only') expect(reported.has(id), `${id} reported by examples/audit`).toBe(true)
  })
})

describe('the JSON report built in slices (what GET /audit serves)', () => {
  it.each([
    { name: 'examples/audit', report: () => audit(fresh(), 'v1.34.2') },
    { name: 'no findings', report: () => runAudit(loadFileView([join(ROOT, 'examples/state')], policy.catalog).view, policy) },
  ])('$name: the same text as audit -o json', async ({ report }) => {
    const { formatAuditJson, formatAuditJsonChunked } = await import('../../src/cli/formats/audit-json.js')
    const r = report()
    let turns = 0
    const chunked = await formatAuditJsonChunked(r, async () => void turns++, 0)
    expect(chunked).toBe(formatAuditJson(r))
    expect(turns).toBe(groupFindings(r.findings).length)
  })
})
