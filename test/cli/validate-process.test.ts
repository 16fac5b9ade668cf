/**
 * `upgrade-guard validate` as a process: the verdict of every example change in
 * examples/changes against examples/state (a table: file | policy | expected), and the exit codes
 * 0 / 1 / 2, with usage and input errors as one line naming file and field, never a stack trace.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, runCli } from '../helpers/cli.js'
import { stringify } from 'yaml'

const CHANGES = 'examples/changes'


const run = (args: readonly string[]) => runCli(args)

const tmp = mkdtempSync(join(tmpdir(), 'ug-validate-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function writePolicy(name: string, body: Record<string, unknown>): string {
  const file = join(tmp, `${name}.yaml`)
  writeFileSync(file, stringify({ apiVersion: 'upgrade-guard.io/v1alpha1', kind: 'Policy', ...body }))
  return file
}

const POLICIES: Readonly<Record<string, string | undefined>> = {
  default: undefined,
  // ACP's component tags per minor (os-support-matrix), enforced: pinned tags outside the table deny.
  tags: writePolicy('tags', { rules: { 'pinned-component-tags': 'deny' }, componentTags: { 'v1.33': { coredns: ['1.12.4-v4.2.7'], etcd: ['v3.5.25-251215'] }, 'v1.34': { coredns: ['1.14.2-v4.3.11'], etcd: ['v3.5.28-260625'] } } }),
  // v1.33.7-2 released before v1.32.8: a control plane on it may not leave workers on v1.32.8.
  dates: writePolicy('dates', { releaseDates: { 'v1.33.7-2': '2025-06-01', 'v1.32.8': '2025-08-01' } }),
}

interface Row {
  readonly file: string
  readonly policy: keyof typeof POLICIES
  readonly allowed: boolean
  /** `rule@field` of every denying violation, in order. */
  readonly denied: readonly string[]
  readonly warnings?: readonly string[]
}

const VERSION = 'spec.version'
const MD_VERSION = 'spec.template.spec.version'
const DNS = 'spec.kubeadmConfigSpec.clusterConfiguration.dns.imageTag'
const ETCD = 'spec.kubeadmConfigSpec.clusterConfiguration.etcd.local.imageTag'

const TABLE: readonly Row[] = [
  { file: '01-kcp-one-minor.yaml', policy: 'default', allowed: true, denied: [] },
  { file: '01-kcp-one-minor.yaml', policy: 'tags', allowed: true, denied: [] },
  { file: '02-kcp-skip-minor.yaml', policy: 'default', allowed: false, denied: [`control-plane-minor-step@${VERSION}`, `worker-skew@${VERSION}`] },
  { file: '03-kcp-max-surge-one.yaml', policy: 'default', allowed: false, denied: ['max-surge-zero@spec.rolloutStrategy.rollingUpdate.maxSurge'] },
  { file: '04-kcp-version-not-in-catalog.yaml', policy: 'default', allowed: false, denied: [`catalog-key@${VERSION}`] },
  { file: '05-kcp-downgrade.yaml', policy: 'default', allowed: false, denied: [`control-plane-minor-step@${VERSION}`] },
  // SPEC Round 2 "Messages": one warning naming both pinned tags.
  { file: '06-kcp-tags-left-pinned.yaml', policy: 'default', allowed: true, denied: [], warnings: [`pinned-component-tags@${DNS}`] },
  { file: '06-kcp-tags-left-pinned.yaml', policy: 'tags', allowed: false, denied: [`pinned-component-tags@${DNS}`, `pinned-component-tags@${ETCD}`] },
  { file: '07-md-ahead-of-control-plane.yaml', policy: 'default', allowed: false, denied: [`workers-follow-control-plane@${MD_VERSION}`] },
  { file: '08-md-downgrade.yaml', policy: 'default', allowed: false, denied: [`no-downgrade@${MD_VERSION}`] },
  { file: '09-md-v1beta2-max-surge-one.yaml', policy: 'default', allowed: false, denied: ['max-surge-zero@spec.rollout.strategy.rollingUpdate.maxSurge'] },
  { file: '10-md-zero-percent-and-zero.yaml', policy: 'default', allowed: false, denied: ['max-surge-zero@spec.strategy.rollingUpdate.maxUnavailable'] },
  { file: '11-md-more-unavailable.yaml', policy: 'default', allowed: true, denied: [] },
  { file: '12-catalog-add-key.yaml', policy: 'default', allowed: true, denied: [] },
  { file: '13-catalog-key-without-v.yaml', policy: 'default', allowed: false, denied: ['catalog-shape@data[1.34.6]'] },
  { file: '14-catalog-remove-in-use.yaml', policy: 'default', allowed: false, denied: ['catalog-in-use@data[v1.32.8]'] },
  { file: '15-catalog-remove-unused.yaml', policy: 'default', allowed: true, denied: [] },
  { file: '16-cluster-without-registry-address.yaml', policy: 'default', allowed: false, denied: [`registry-address@${VERSION}`] },
  { file: '17-new-cluster-workers-two-minors-behind.yaml', policy: 'default', allowed: false, denied: [`worker-skew@${MD_VERSION}`] },
  { file: '18-new-cluster-n2-opt-in.yaml', policy: 'default', allowed: true, denied: [] },
  { file: '19-kcp-release-order.yaml', policy: 'default', allowed: true, denied: [] },
  { file: '19-kcp-release-order.yaml', policy: 'dates', allowed: false, denied: [`release-order@${VERSION}`] },
]

type JsonFinding = { rule: string; field: string }
type JsonObject = { allowed: boolean; violations: JsonFinding[]; warnings: JsonFinding[] }

describe('examples/changes verdicts against examples/state', { timeout: 120_000 }, () => {
  it('the table covers every example file', () => {
    const files = readdirSync(join(ROOT, CHANGES)).filter((f) => f.endsWith('.yaml'))
    expect([...new Set(TABLE.map((r) => r.file))].sort()).toEqual(files.sort())
  })

  it('the table shows every rule both allowing and denying (pinned-component-tags and release-order with their policy data)', () => {
    const deniedRules = new Set(TABLE.flatMap((r) => r.denied.map((d) => d.split('@')[0])))
    expect([...deniedRules].sort()).toEqual(
      ['catalog-in-use', 'catalog-key', 'catalog-shape', 'control-plane-minor-step', 'max-surge-zero', 'no-downgrade', 'pinned-component-tags', 'registry-address', 'release-order', 'worker-skew', 'workers-follow-control-plane'].sort(),
    )
  })

  it.concurrent.each(TABLE)('$file with the $policy policy: allowed=$allowed $denied', async (row) => {
    const policy = POLICIES[row.policy]
    const r = await run(['validate', '--state', 'examples/state', '-f', `${CHANGES}/${row.file}`, '-o', 'json', ...(policy === undefined ? [] : ['--policy', policy])])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(row.allowed ? 0 : 1)
    const report = JSON.parse(r.stdout) as { allowed: boolean; objects: JsonObject[] }
    expect(report.allowed).toBe(row.allowed)
    expect(report.objects.flatMap((o) => o.violations.map((v) => `${v.rule}@${v.field}`))).toEqual(row.denied)
    expect(report.objects.flatMap((o) => o.warnings.map((v) => `${v.rule}@${v.field}`))).toEqual(row.warnings ?? [])
  })
})

describe('exit codes', { timeout: 120_000 }, () => {
  const badState = join(tmp, 'bad-state')
  mkdirSync(badState)
  writeFileSync(join(badState, 'capi.yaml'), 'apiVersion: cluster.x-k8s.io/v1beta1\nmetadata:\n  name: bm-workload\n')
  const badYaml = join(tmp, 'bad-yaml')
  mkdirSync(badYaml)
  writeFileSync(join(badYaml, 'capi.yaml'), 'apiVersion: v1\nkind: List\nitems: [\n')
  const badPolicy = writePolicy('bad-policy', { rules: { 'catalog-key': 'block' } })
  const unknownField = writePolicy('unknown-field', { skew: { default: 1, maximun: 2 } })

  it.concurrent.each([
    { name: 'all allowed', args: ['-f', `${CHANGES}/01-kcp-one-minor.yaml`], code: 0 },
    { name: 'allowed with warnings', args: ['-f', `${CHANGES}/06-kcp-tags-left-pinned.yaml`], code: 0 },
    { name: 'one denied among allowed', args: ['-f', `${CHANGES}/12-catalog-add-key.yaml`, `${CHANGES}/13-catalog-key-without-v.yaml`], code: 1 },
    { name: 'a whole folder', args: ['-f', CHANGES], code: 1 },
  ])('$name: exit $code', async ({ args, code }) => {
    const r = await run(['validate', '--state', 'examples/state', ...args])
    expect(r.code).toBe(code)
    expect(r.stderr).toBe('')
  })

  it.concurrent.each([
    { name: 'a policy with a bad value', args: ['--state', 'examples/state', '--policy', badPolicy, '-f', `${CHANGES}/01-kcp-one-minor.yaml`], names: [badPolicy, 'rules.catalog-key', 'must be one of deny, warn, audit, off'] },
    { name: 'a policy with an unknown field', args: ['--state', 'examples/state', '--policy', unknownField, '-f', `${CHANGES}/01-kcp-one-minor.yaml`], names: [unknownField, 'skew.maximun', 'unknown field'] },
    { name: 'a missing policy file', args: ['--state', 'examples/state', '--policy', join(tmp, 'nope.yaml'), '-f', `${CHANGES}/01-kcp-one-minor.yaml`], names: [join(tmp, 'nope.yaml'), 'ENOENT'] },
    { name: 'a state object without kind', args: ['--state', badState, '-f', `${CHANGES}/01-kcp-one-minor.yaml`], names: [join(badState, 'capi.yaml'), 'kind', 'is required'] },
    { name: 'a state file that is not YAML', args: ['--state', badYaml, '-f', `${CHANGES}/01-kcp-one-minor.yaml`], names: [join(badYaml, 'capi.yaml'), 'not valid YAML'] },
    { name: 'a missing manifest', args: ['--state', 'examples/state', '-f', `${CHANGES}/99-nope.yaml`], names: [`${CHANGES}/99-nope.yaml`, 'ENOENT'] },
    { name: 'an unknown output format', args: ['--state', 'examples/state', '-f', CHANGES, '-o', 'xml'], names: ['xml', 'text, json, junit, github'] },
    { name: 'no manifests', args: ['--state', 'examples/state'], names: ['--filename'] },
  ])('$name: exit 2, one line naming what is wrong, no stack', async ({ args, names }) => {
    const r = await run(['validate', ...args])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    const lines = r.stderr.trim().split('\n')
    expect(lines, r.stderr).toHaveLength(1)
    for (const n of names) expect(lines[0]).toContain(n)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
