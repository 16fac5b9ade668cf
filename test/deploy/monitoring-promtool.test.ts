/**
 * The alerting rules through Prometheus' own tool: `promtool check rules` on the
 * PrometheusRule's spec (the groups, as a Prometheus rules file), then `promtool test rules`
 * with the unit tests in monitoring-rules.promtool.yaml.
 *
 * .ci/run installs promtool (Debian's `prometheus` package), so under CI=true a missing promtool
 * is a failure. Elsewhere the tests are skipped, saying why, only when promtool is not installed.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { tempDir } from './deploy-helpers.js'
import { prometheusRuleFile } from './monitoring-helpers.js'

const UNIT_TESTS = join(import.meta.dirname, 'monitoring-rules.promtool.yaml')

function promtoolVersion(): string | undefined {
  try {
    return execFileSync('promtool', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 }).split('\n')[0]
  } catch {
    return undefined
  }
}

const version = promtoolVersion()
const isCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false'

if (version === undefined && !isCi) {
  console.warn('monitoring-promtool: promtool is not installed, skipping the rule checks (apt-get install prometheus; .ci/run does it)')
}

describe('promtool is there in CI', () => {
  it.runIf(isCi)('CI=true: promtool must be installed (.ci/run installs it)', () => {
    expect(version, 'promtool --version').toBeDefined()
  })
})

describe.skipIf(version === undefined)(`promtool (${version ?? 'missing'})`, () => {
  const dir = tempDir('ug-promtool-')
  writeFileSync(join(dir, 'rules.yaml'), stringify(prometheusRuleFile().spec))
  copyFileSync(UNIT_TESTS, join(dir, 'tests.yaml'))
  const run = (args: readonly string[]) => spawnSync('promtool', args, { cwd: dir, encoding: 'utf8', timeout: 120_000 })

  it('check rules: the PrometheusRule spec is a valid rules file', () => {
    const r = run(['check', 'rules', 'rules.yaml'])
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0)
    expect(r.stdout).toMatch(/SUCCESS: \d+ rules found/)
  })

  it('test rules: every alert fires where it should and stays quiet where it should', () => {
    const r = run(['test', 'rules', 'tests.yaml'])
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0)
    expect(r.stdout).toContain('SUCCESS')
  })

  it.each([
    { alert: 'UpgradeGuardDenialSpike', from: '>= 10)', to: '>= 100)' },
    { alert: 'UpgradeGuardCertificateExpiryCritical', from: '< 2 * 86400', to: '< 1 * 86400' },
    { alert: 'UpgradeGuardDown', from: '== 1)', to: '== 0)' },
  ])('test rules fails when $alert is changed ($from -> $to)', ({ alert, from, to }) => {
    const spec = structuredClone(prometheusRuleFile().spec) as { groups: { rules: { alert: string; expr: string }[] }[] }
    const rule = spec.groups.flatMap((g) => g.rules).find((r) => r.alert === alert)
    if (rule === undefined || !rule.expr.includes(from)) throw new Error(`${alert}: expression has no "${from}"`)
    rule.expr = rule.expr.replace(from, to)
    const mutant = tempDir('ug-promtool-mutant-')
    writeFileSync(join(mutant, 'rules.yaml'), stringify(spec))
    copyFileSync(UNIT_TESTS, join(mutant, 'tests.yaml'))
    const r = spawnSync('promtool', ['test', 'rules', 'tests.yaml'], { cwd: mutant, encoding: 'utf8', timeout: 120_000 })
    expect(r.status).not.toBe(0)
    expect(`${r.stdout}${r.stderr}`).toContain(alert)
  })

  it('check rules refuses a broken expression (the check can fail)', () => {
    const broken = structuredClone(prometheusRuleFile().spec) as { groups: { rules: { expr: string }[] }[] }
    const first = broken.groups[0]?.rules[0]
    if (first === undefined) throw new Error('no rule')
    first.expr = 'sum by (rule (upgrade_guard_admission_denials_total'
    writeFileSync(join(dir, 'broken.yaml'), stringify(broken))
    const r = run(['check', 'rules', 'broken.yaml'])
    expect(r.status).not.toBe(0)
  })
})
