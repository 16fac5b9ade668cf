/**
 * `validate --output json|junit|github|text`, process-level: JSON validates against
 * src/cli/formats/report-schema.json, JUnit parses as XML with the right testcase / failure
 * counts, GitHub annotations name the line of the offending field, and all of them escape what
 * their format needs escaped. Plus the escaping helpers as units.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { isAbsolute, join } from 'node:path'
import { Ajv } from 'ajv'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, runCli, type Run } from '../helpers/cli.js'
import { escapeData, escapeProperty } from '../../src/cli/formats/github.js'
import { escapeXmlAttr, escapeXmlText } from '../../src/cli/formats/junit.js'
import reportSchema from '../../src/cli/formats/report-schema.json' with { type: 'json' }

const CHANGES = 'examples/changes'


const run = (args: readonly string[]) => runCli(args)

const validate = (files: readonly string[], format: string): Promise<Run> => run(['validate', '--state', 'examples/state', '-o', format, '-f', ...files])

const tmp = mkdtempSync(join(tmpdir(), 'ug-formats-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

type Finding = { rule: string; field: string; type: string; value?: unknown; message: string; hint: string; line: number; text: string }
type JsonObject = { file: string; line: number; kind: string; namespace: string; name: string; operation: string; allowed: boolean; skipped: string | null; violations: Finding[]; warnings: Finding[] }
type JsonReport = { version: number; allowed: boolean; objects: JsonObject[]; totals: Record<string, number> }

/** 1-based line of the first line containing `needle` (or matching it). */
function lineOf(file: string, needle: string | RegExp): number {
  const lines = readFileSync(isAbsolute(file) ? file : join(ROOT, file), 'utf8').split('\n')
  const i = lines.findIndex((l) => (typeof needle === 'string' ? l.includes(needle) : needle.test(l)))
  if (i < 0) throw new Error(`${needle} not in ${file}`)
  return i + 1
}

const f = (name: string): string => `${CHANGES}/${name}`
// Applied in order: denials (two in one object), warnings, a catalog denial, a new cluster (its
// Cluster out of scope, its KCP and MD created).
const MIXED = [f('02-kcp-skip-minor.yaml'), f('06-kcp-tags-left-pinned.yaml'), f('13-catalog-key-without-v.yaml'), f('18-new-cluster-n2-opt-in.yaml')]
const [M02, M06, M13, M18] = MIXED as [string, string, string, string]

const ajv = new Ajv({ strict: true, allErrors: true })
const validateReport = ajv.compile(reportSchema)

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase', 'failure'].includes(name), parseAttributeValue: false, trimValues: false })
type Testcase = { classname: string; name: string; file: string; line: string; failure?: { type: string; message: string; '#text': string }[]; skipped?: { message: string }; 'system-out'?: string }
type Testsuite = { name: string; tests: string; failures: string; skipped: string; testcase: Testcase[] }
type Junit = { testsuites: { tests: string; failures: string; errors: string; skipped: string; testsuite: Testsuite[] } }

function parseJunit(xml: string): Junit {
  expect(XMLValidator.validate(xml)).toBe(true)
  return parser.parse(xml) as Junit
}

describe('--output json', { timeout: 120_000 }, () => {
  it('every example change in one run: valid against report-schema.json, totals add up', async () => {
    const r = await validate([CHANGES], 'json')
    expect(r.code).toBe(1)
    const report = JSON.parse(r.stdout) as JsonReport
    expect(validateReport(report), JSON.stringify(validateReport.errors)).toBe(true)
    expect(report.version).toBe(1)
    const { objects, totals } = report
    expect(totals.objects).toBe(objects.length)
    expect(totals.denied).toBe(objects.filter((o) => !o.allowed).length)
    expect(totals.allowed).toBe(objects.filter((o) => o.allowed).length)
    expect(totals.violations).toBe(objects.reduce((n, o) => n + o.violations.length, 0))
    expect(totals.warnings).toBe(objects.reduce((n, o) => n + o.warnings.length, 0))
    expect(totals.skipped).toBe(objects.filter((o) => o.skipped !== null).length)
    expect(report.allowed).toBe(false)
    for (const o of objects) expect(o.allowed).toBe(o.violations.length === 0)
  })

  it('names file, document, object, operation and each violation with its line', async () => {
    const r = await validate(MIXED, 'json')
    const report = JSON.parse(r.stdout) as JsonReport
    expect(validateReport(report), JSON.stringify(validateReport.errors)).toBe(true)
    expect(report.objects.map((o) => [o.file, o.kind, o.name, o.operation, o.allowed, o.skipped])).toEqual([
      [M02, 'KubeadmControlPlane', 'bm-workload-control-plane', 'UPDATE', false, null],
      [M06, 'KubeadmControlPlane', 'bm-workload-control-plane', 'UPDATE', true, null],
      [M13, 'ConfigMap', 'elemental-image-catalog', 'UPDATE', false, null],
      [M18, 'Cluster', 'bm-edge', 'SKIP', true, 'not-guarded'],
      [M18, 'KubeadmControlPlane', 'bm-edge-control-plane', 'CREATE', true, null],
      [M18, 'MachineDeployment', 'bm-edge-workers', 'CREATE', true, null],
    ])
    const [skip] = report.objects[0]?.violations ?? []
    expect(skip).toMatchObject({ rule: 'control-plane-minor-step', field: 'spec.version', type: 'Forbidden', value: 'v1.34.5-3', line: lineOf(M02, 'version: v1.34.5-3') })
    expect(skip?.text).toMatch(/^\[control-plane-minor-step\] spec\.version: Forbidden: cannot go from v1\.32\.8 to v1\.34\.5-3 in one step/)
    expect(skip?.hint).toBe('set spec.version to v1.33.7-10 first and wait until status.version reaches it')
    expect(report.objects[1]?.warnings.map((w) => [w.rule, w.line])).toEqual([
      // One warning per rule (SPEC Round 2 "Messages"): CoreDNS and etcd in one finding.
      ['pinned-component-tags', lineOf(M06, 'imageTag: 1.11.3-v4.1.0')],
    ])
    expect(report.objects[2]?.violations.map((v) => [v.field, v.value, v.line])).toEqual([['data[1.34.6]', '1.34.6', lineOf(M13, '  1.34.6: ')]])
    expect(report.objects[4]?.line).toBe(lineOf(M18, /^kind: KubeadmControlPlane/) - 1)
    expect(report.totals).toEqual({ objects: 6, allowed: 4, denied: 2, skipped: 1, violations: 3, warnings: 1, audited: 0, bypassed: 0 })
  })
})

describe('--output junit', { timeout: 120_000 }, () => {
  it('one testcase per object, a <failure> per denying violation, warnings in system-out', async () => {
    const r = await validate(MIXED, 'junit')
    expect(r.code).toBe(1)
    const { testsuites } = parseJunit(r.stdout)
    expect([testsuites.tests, testsuites.failures, testsuites.errors, testsuites.skipped]).toEqual(['6', '2', '0', '1'])
    expect(testsuites.testsuite.map((s) => [s.name, s.tests, s.failures, s.skipped])).toEqual([
      [M02, '1', '1', '0'],
      [M06, '1', '0', '0'],
      [M13, '1', '1', '0'],
      [M18, '3', '0', '1'],
    ])
    const cases = testsuites.testsuite.flatMap((s) => s.testcase)
    expect(cases.map((c) => [c.classname, c.name])).toEqual([
      [M02, 'KubeadmControlPlane cpaas-system/bm-workload-control-plane'],
      [M06, 'KubeadmControlPlane cpaas-system/bm-workload-control-plane'],
      [M13, 'ConfigMap cpaas-system/elemental-image-catalog'],
      [M18, 'Cluster cpaas-system/bm-edge'],
      [M18, 'KubeadmControlPlane cpaas-system/bm-edge-control-plane'],
      [M18, 'MachineDeployment cpaas-system/bm-edge-workers'],
    ])
    expect(cases.map((c) => (c.failure ?? []).map((x) => x.type))).toEqual([['control-plane-minor-step', 'worker-skew'], [], ['catalog-shape'], [], [], []])
    const first = cases[0]?.failure?.[0]
    expect(first?.message).toMatch(/^\[control-plane-minor-step\] spec\.version: Forbidden: /)
    expect(first?.['#text']).toBe(`${M02}:${lineOf(M02, 'version: v1.34.5-3')}: ${first?.message}`)
    expect(cases[3]?.skipped?.message).toBe('not judged: not-guarded')
    expect(cases[1]?.['system-out']).toContain(`warning: ${M06}:${lineOf(M06, 'imageTag: 1.11.3-v4.1.0')}: [pinned-component-tags] spec.kubeadmConfigSpec.clusterConfiguration.dns.imageTag`)
  })

  it('every example change in one run: counts match the JSON report of the same run', async () => {
    const [junit, json] = await Promise.all([validate([CHANGES], 'junit'), validate([CHANGES], 'json')])
    const { testsuites } = parseJunit(junit.stdout)
    const report = JSON.parse(json.stdout) as JsonReport
    const cases = testsuites.testsuite.flatMap((s) => s.testcase)
    expect(cases).toHaveLength(report.objects.length)
    expect(Number(testsuites.tests)).toBe(report.totals.objects)
    expect(Number(testsuites.failures)).toBe(report.totals.denied)
    expect(cases.reduce((n, c) => n + (c.failure?.length ?? 0), 0)).toBe(report.totals.violations)
    expect(cases.map((c) => (c.failure ?? []).map((x) => x.type))).toEqual(report.objects.map((o) => o.violations.map((v) => v.rule)))
  })

  it('escapes file names, names and control characters into well-formed XML', async () => {
    const dir = join(tmp, `odd & <dir> "quoted" 'single'`)
    mkdirSync(dir, { recursive: true })
    const file = join(dir, 'change.yaml')
    // A ConfigMap out of scope with a name no API server would accept, and a KCP whose version has
    // markup characters: both must survive as data.
    writeFileSync(
      file,
      [
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "a\\x01b<&>\\"c\\u2028"\n  namespace: default\ndata: {}\n',
        readFileSync(join(ROOT, f('01-kcp-one-minor.yaml')), 'utf8').replace('version: v1.33.7-10', 'version: "v1.33.7-<b>&amp;"'),
      ].join('---\n'),
    )
    const r = await run(['validate', '--state', 'examples/state', '-o', 'junit', '-f', file])
    expect(r.code).toBe(1)
    const { testsuites } = parseJunit(r.stdout)
    const cases = testsuites.testsuite.flatMap((s) => s.testcase)
    expect(testsuites.testsuite[0]?.name).toBe(file)
    expect(cases.map((c) => c.name)).toEqual(['ConfigMap default/a\uFFFDb<&>"c\u2028', 'KubeadmControlPlane cpaas-system/bm-workload-control-plane'])
    const failures = cases[1]?.failure ?? []
    expect(failures.length).toBeGreaterThan(0)
    expect(failures.map((x) => x.message).join('\n')).toContain('"v1.33.7-<b>&amp;"')
  })

  it('escaping helpers', () => {
    expect(escapeXmlText('a<b>&c')).toBe('a&lt;b&gt;&amp;c')
    expect(escapeXmlAttr(`"x" 'y'\n\t\r`)).toBe('&quot;x&quot; &apos;y&apos;&#10;&#9;&#13;')
    expect(escapeXmlText('nul\u0000 bell\u0007 ok\u00e9 \uFFFF lone\uD800')).toBe('nul\uFFFD bell\uFFFD ok\u00e9 \uFFFD lone\uFFFD')
    expect(escapeXmlText('pair \uD83D\uDE00')).toBe('pair \uD83D\uDE00')
  })
})

describe('--output github', { timeout: 120_000 }, () => {
  const ANNOTATION = /^::(error|warning|notice) file=([^,]*),line=(\d+),title=upgrade-guard \[([a-z-]+)\]( \((?:audit|bypassed)\))?::(.*)$/

  it.concurrent.each([
    { file: '02-kcp-skip-minor.yaml', expected: [['error', 'control-plane-minor-step', 'version: v1.34.5-3'], ['error', 'worker-skew', 'version: v1.34.5-3']] },
    { file: '06-kcp-tags-left-pinned.yaml', expected: [['warning', 'pinned-component-tags', 'imageTag: 1.11.3-v4.1.0']] },
    { file: '07-md-ahead-of-control-plane.yaml', expected: [['error', 'workers-follow-control-plane', 'version: v1.33.7-2']] },
    { file: '09-md-v1beta2-max-surge-one.yaml', expected: [['error', 'max-surge-zero', 'maxSurge: 1']] },
    { file: '10-md-zero-percent-and-zero.yaml', expected: [['error', 'max-surge-zero', 'maxUnavailable: 0']] },
    { file: '13-catalog-key-without-v.yaml', expected: [['error', 'catalog-shape', '  1.34.6: ']] },
    { file: '14-catalog-remove-in-use.yaml', expected: [['error', 'catalog-in-use', /^ {2}v1\.32\.7:/]] }, // a removed key: where its parent map starts
    { file: '16-cluster-without-registry-address.yaml', expected: [['error', 'registry-address', 'version: v1.33.7-10']] },
    { file: '17-new-cluster-workers-two-minors-behind.yaml', expected: [['error', 'worker-skew', 'version: v1.32.8']] },
  ])('$file: annotations on the line of the offending field', async ({ file, expected }) => {
    const r = await validate([f(file)], 'github')
    const lines = r.stdout.trimEnd().split('\n')
    const annotations = lines.slice(0, -1).map((l) => {
      const m = ANNOTATION.exec(l)
      expect(m, l).not.toBeNull()
      return m as RegExpExecArray
    })
    expect(lines.at(-1)).toMatch(/^upgrade-guard: \d+ allowed, \d+ denied, \d+ warning\(s\) in \d+ object\(s\)$/)
    expect(annotations.map((m) => [m[1], m[4], Number(m[3])])).toEqual(expected.map(([cmd, rule, needle]) => [cmd, rule, lineOf(f(file), needle as string | RegExp)]))
    for (const m of annotations) {
      expect(m[2]).toBe(f(file))
      expect(m[6]).toContain(`[${m[4]}] `)
    }
  })

  it('escapes % in messages and , : in properties', async () => {
    const dir = join(tmp, 'run,1:a')
    mkdirSync(dir, { recursive: true })
    const file = join(dir, 'md.yaml')
    writeFileSync(file, readFileSync(join(ROOT, f('11-md-more-unavailable.yaml')), 'utf8').replace('maxSurge: 0', 'maxSurge: "25%"'))
    const r = await run(['validate', '--state', 'examples/state', '-o', 'github', '-f', file])
    expect(r.code).toBe(1)
    const [line] = r.stdout.split('\n')
    expect(line).toContain(`file=${file.replaceAll(':', '%3A').replaceAll(',', '%2C')},line=${lineOf(file, 'maxSurge: "25%"')},`)
    expect(line).toContain('Invalid value: "25%25"')
    expect(line).not.toMatch(/%(?![0-9A-F]{2})/)
  })

  it('escaping helpers follow @actions/core', () => {
    expect(escapeData('50% done\r\nnext')).toBe('50%25 done%0D%0Anext')
    expect(escapeProperty('a:b,c%d\n')).toBe('a%3Ab%2Cc%25d%0A')
  })
})

describe('--output text', { timeout: 120_000 }, () => {
  it('stays the people format: one line per finding and a summary', async () => {
    const r = await validate(MIXED, 'text')
    expect(r.code).toBe(1)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines.at(-1)).toBe('4 allowed, 2 denied, 1 warning(s) in 6 object(s)')
    expect(lines[0]).toMatch(/^examples\/changes\/02-kcp-skip-minor\.yaml:1 {2}KubeadmControlPlane cpaas-system\/bm-workload-control-plane {2}control-plane-minor-step {2}spec\.version {2}Forbidden: /)
  })
})
