/**
 * `upgrade-guard audit` as a process, in every output format: exit 1 on deny-level findings,
 * 0 without, 2 on usage errors; JSON valid against audit-report-schema.json; JUnit parsed (one
 * suite per cluster, one case per judged object, failures for deny-level findings); GitHub
 * workflow commands; text grouped per cluster and rule.
 */
import { mkdtempSync, rmSync, writeFileSync, cpSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv } from 'ajv'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { afterAll, describe, expect, it } from 'vitest'
import auditSchema from '../../src/cli/formats/audit-report-schema.json' with { type: 'json' }
import type { JsonAuditReport } from '../../src/cli/formats/audit-json.js'
import { runCli } from '../helpers/cli.js'

const AUDIT = ['audit', '--state', 'examples/audit/state', '--policy', 'examples/audit/policy.yaml', '--management-version', 'v1.34.2']
const tmp = mkdtempSync(join(tmpdir(), 'ug-audit-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const ajv = new Ajv({ strict: true, allErrors: true })
const validateReport = ajv.compile(auditSchema)

describe('audit -o json', { timeout: 60_000 }, () => {
  it('exit 1, valid against audit-report-schema.json, grouped per cluster and rule, totals add up', async () => {
    const run = await runCli([...AUDIT, '-o', 'json'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(1)
    const report = JSON.parse(run.stdout) as JsonAuditReport
    expect(validateReport(report), JSON.stringify(validateReport.errors)).toBe(true)
    expect(report).toMatchObject({ version: 1, command: 'audit', passed: false, managementVersion: 'v1.34.2', source: 'files examples/audit/state' })
    expect(report.clusters.map((c) => c.cluster?.name ?? null)).toEqual(['ahead', 'late-build', 'lost-key', 'no-registry', 'skew', 'surge', null])
    const all = report.clusters.flatMap((c) => c.rules.flatMap((r) => r.findings))
    expect(all.length).toBe(report.totals.findings)
    expect(report.totals).toMatchObject({ objects: 17, judged: 15, skipped: 2, findings: 15, deny: 12, warn: 1, audit: 2, clusters: 6 })
    expect(report.rules.map((r) => r.rule)).toEqual(['max-surge-zero', 'catalog-key', 'catalog-shape', 'workers-follow-control-plane', 'worker-skew', 'release-order', 'registry-address', 'pinned-component-tags', 'management-version'])
    const surge = report.clusters.find((c) => c.cluster?.name === 'surge')
    expect(surge?.rules[0]?.findings.map((f) => `${f.kind} ${f.name} ${f.field}`)).toEqual(['KubeadmControlPlane surge-control-plane spec.replicas', 'MachineDeployment surge-workers spec.strategy.rollingUpdate.maxSurge'])
    expect(surge?.rules[0]?.findings[1]?.text).toBe('[max-surge-zero] spec.strategy.rollingUpdate.maxSurge: Invalid value: 1: bare metal does not over-provision physical hosts: nodes are replaced delete-then-add; set spec.strategy.rollingUpdate.maxSurge: 0')
  })

  it('exit 0 on a state without deny-level findings (examples/state), still a valid report with a note', async () => {
    const run = await runCli(['audit', '--state', 'examples/state', '-o', 'json'])
    expect(run.code).toBe(0)
    const report = JSON.parse(run.stdout) as JsonAuditReport
    expect(validateReport(report), JSON.stringify(validateReport.errors)).toBe(true)
    expect(report.passed).toBe(true)
    expect(report.clusters).toEqual([])
    expect(report.notes[0]).toMatch(/management version unknown/)
  })

  it('exit 0 when every finding is below deny (warn / audit only)', async () => {
    const dir = join(tmp, 'late-build-only')
    cpSync('examples/audit/state/late-build.yaml', join(dir, 'late-build.yaml'), { recursive: true })
    cpSync('examples/audit/state/catalog.yaml', join(dir, 'catalog.yaml'))
    const policy = join(tmp, 'relaxed.yaml')
    // catalog-shape (the example catalog's bad key) at warn: only warn and audit findings remain.
    writeFileSync(policy, 'apiVersion: upgrade-guard.io/v1alpha1\nkind: Policy\nmetadata:\n  name: relaxed\nrules:\n  release-order: audit\n  catalog-shape: warn\nreleaseDates:\n  v1.33.7-2: "2025-11-20"\n  v1.34.5: "2025-10-01"\n')
    const run = await runCli(['audit', '--state', dir, '--policy', policy, '-o', 'json'])
    const report = JSON.parse(run.stdout) as JsonAuditReport
    expect(report.totals).toMatchObject({ deny: 0, warn: 2, audit: 2 })
    expect(run.code).toBe(0)
  })
})

type Testcase = { classname: string; name: string; failure?: { type: string; message: string; '#text': string }[]; 'system-out'?: string }
type Testsuite = { name: string; tests: string; failures: string; testcase: Testcase[] }
type Junit = { testsuites: { name: string; tests: string; failures: string; testsuite: Testsuite[] } }
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase', 'failure'].includes(name), parseAttributeValue: false, trimValues: false })

describe('audit -o junit', { timeout: 60_000 }, () => {
  it('one suite per cluster, one case per judged object, a failure per deny-level finding', async () => {
    const run = await runCli([...AUDIT, '-o', 'junit'])
    expect(run.code).toBe(1)
    expect(XMLValidator.validate(run.stdout)).toBe(true)
    const junit = parser.parse(run.stdout) as Junit
    const suites = junit.testsuites.testsuite
    expect(junit.testsuites).toMatchObject({ name: 'upgrade-guard audit', tests: '15' })
    expect(suites.map((s) => s.name)).toEqual(['Cluster audit-demo/ahead', 'Cluster audit-demo/healthy', 'Cluster audit-demo/late-build', 'Cluster audit-demo/lost-key', 'Cluster audit-demo/no-registry', 'Cluster audit-demo/skew', 'Cluster audit-demo/surge', 'no cluster (catalog, unclaimed objects)'])
    const healthy = suites.find((s) => s.name === 'Cluster audit-demo/healthy')
    expect(healthy).toMatchObject({ tests: '2', failures: '0' })
    expect(healthy?.testcase.every((c) => c.failure === undefined)).toBe(true)
    const noRegistry = suites.find((s) => s.name === 'Cluster audit-demo/no-registry')
    const kcp = noRegistry?.testcase.find((c) => c.name === 'KubeadmControlPlane audit-demo/no-registry-control-plane')
    expect(kcp?.failure?.map((f) => f.type)).toEqual(['registry-address', 'management-version'])
    // Below deny: in system-out, the object passes.
    const lateBuild = suites.find((s) => s.name === 'Cluster audit-demo/late-build')
    expect(lateBuild?.failures).toBe('0')
    expect(lateBuild?.testcase.map((c) => c['system-out'] ?? '').join('\n')).toMatch(/^audit: \[release-order\]/m)
    expect(Number(junit.testsuites.failures)).toBe(suites.reduce((n, s) => n + Number(s.failures), 0))
  })
})

describe('audit -o github and -o text', { timeout: 60_000 }, () => {
  it('github: one workflow command per finding (error/warning/notice by level) and a summary line', async () => {
    const run = await runCli([...AUDIT, '-o', 'github'])
    expect(run.code).toBe(1)
    const lines = run.stdout.trimEnd().split('\n')
    expect(lines.filter((l) => l.startsWith('::error ')).length).toBe(12)
    expect(lines.filter((l) => l.startsWith('::warning ')).length).toBe(1)
    expect(lines.filter((l) => l.startsWith('::notice ')).length).toBe(2)
    expect(lines).toContain('::error title=upgrade-guard audit [workers-follow-control-plane]::MachineDeployment audit-demo/ahead-workers (cluster audit-demo/ahead): [workers-follow-control-plane] spec.template.spec.version: Forbidden: workers may not run v1.34.5, newer than the control plane audit-demo/ahead-control-plane runs (v1.33.7-2, spec.version v1.33.7-2); workers are upgraded after the control-plane rollout completes; upgrade the control plane first and wait until its status.version reaches v1.34.5, or set spec.template.spec.version to v1.33.7-2 or older')
    expect(lines.at(-1)).toBe('upgrade-guard audit: 15 finding(s): 12 deny, 1 warn, 2 audit, in 6 cluster(s); 15 object(s) judged, 2 skipped')
  })

  it('text: grouped per cluster, then rule, one line per finding', async () => {
    const run = await runCli([...AUDIT])
    expect(run.code).toBe(1)
    const lines = run.stdout.trimEnd().split('\n')
    const at = lines.indexOf('Cluster audit-demo/surge')
    expect(at).toBeGreaterThan(-1)
    expect(lines[at + 1]).toBe('  max-surge-zero')
    expect(lines[at + 2]).toMatch(/^ {4}deny {2}KubeadmControlPlane audit-demo\/surge-control-plane {2}spec\.replicas {2}Forbidden: 1 replica\(s\)/)
    expect(lines.at(-1)).toBe('15 finding(s): 12 deny, 1 warn, 2 audit, in 6 cluster(s); 15 object(s) judged, 2 skipped')
  })
})

describe('audit: usage errors exit 2 with one line on stderr, nothing on stdout', { timeout: 60_000 }, () => {
  it.each([
    { name: 'no state', args: ['audit'], message: /give the state to audit/ },
    { name: '--state and --kubeconfig', args: ['audit', '--state', 'examples/state', '--kubeconfig', 'x'], message: /alternatives/ },
    { name: 'bad --management-version', args: ['audit', '--state', 'examples/state', '--management-version', 'latest'], message: /--management-version: "latest" is not a Kubernetes version/ },
    { name: 'unknown format', args: ['audit', '--state', 'examples/state', '-o', 'yaml'], message: /yaml/ },
    { name: 'missing state path', args: ['audit', '--state', 'examples/no-such-dir'], message: /no-such-dir/ },
  ])('$name', async ({ args, message }) => {
    const run = await runCli(args)
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr).toMatch(message)
  })
})

describe('audit --kubeconfig: the cluster listed once, its version from GET /version', { timeout: 60_000 }, () => {
  it('same findings as the files, management version read from the API server', async () => {
    const { FakeApiServer } = await import('../state/fake-apiserver.js')
    const { readManifests } = await import('../../src/state/manifests.js')
    const fake = await FakeApiServer.start()
    try {
      fake.gitVersion = 'v1.34.2'
      for (const entry of readManifests(['examples/audit/state'])) fake.applySilently(entry.object as Record<string, unknown>)
      const kubeconfig = join(tmp, 'kubeconfig')
      writeFileSync(
        kubeconfig,
        fake.kubeconfigYaml(),
      )
      const live = await runCli(['audit', '--kubeconfig', kubeconfig, '--policy', 'examples/audit/policy.yaml', '-o', 'json'])
      expect(live.stderr).toBe('')
      expect(live.code).toBe(1)
      const report = JSON.parse(live.stdout) as JsonAuditReport
      expect(validateReport(report), JSON.stringify(validateReport.errors)).toBe(true)
      expect(report.managementVersion).toBe('v1.34.2')
      const files = JSON.parse((await runCli([...AUDIT, '-o', 'json'])).stdout) as JsonAuditReport
      expect(report.clusters).toEqual(files.clusters)
      expect(report.totals).toEqual(files.totals)
      expect(fake.requests.filter((r) => r.isWatch)).toEqual([]) // listed, never watched
      // The API server down: exit 2, one line naming what could not be read.
      await fake.stop()
      const down = await runCli(['audit', '--kubeconfig', kubeconfig, '-o', 'json'])
      expect(down.code).toBe(2)
      expect(down.stdout).toBe('')
      expect(down.stderr).toMatch(/^upgrade-guard: cannot list /)
    } finally {
      await fake.close()
    }
  })
})

describe('docs/ci.md', { timeout: 60_000 }, () => {
  it('its sample text report is what audit prints on examples/audit', async () => {
    const { readFileSync } = await import('node:fs')
    const doc = readFileSync('docs/ci.md', 'utf8')
    const sample = /```\n(Cluster audit-demo\/no-registry\n[\s\S]*?)\n```/.exec(doc)?.[1]
    expect(sample).toBeDefined()
    const out = (await runCli(AUDIT)).stdout
    for (const line of (sample ?? '').split('\n').filter((l) => l !== '…')) expect(out.split('\n')).toContain(line)
  })
})
