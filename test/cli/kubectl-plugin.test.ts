/**
 * `kubectl upgrade-guard …`: the plugin run as a process under its kubectl name
 * (`kubectl-upgrade_guard`, a symlink to dist/cli/kubectl-plugin.js in a temporary bin folder on
 * the PATH, as an npm install of the package makes it), directly and, where kubectl is
 * installed, through kubectl's own plugin lookup. Live state comes from the local fake API
 * server, loaded with examples/state, through a kubeconfig whose current context is broken, so a
 * passing run proves --context (or the KUBECONFIG default) was honoured.
 */
import { execFileSync, spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { parseAllDocuments, stringify } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { contextNamespace, extractKubectlFlags, translateArgs, type PluginEnvironment } from '../../src/cli/kubectl-plugin.js'
import { loadKubeConfig } from '../../src/cli/live-state.js'
import { FakeApiServer } from '../state/fake-apiserver.js'
import { ROOT, runCli, type Run } from '../helpers/cli.js'

const PLUGIN = join(ROOT, 'dist/cli/kubectl-plugin.js')
const tmp = mkdtempSync(join(tmpdir(), 'ug-plugin-'))
const bin = join(tmp, 'bin')
const emptyHome = join(tmp, 'home-empty')
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const write = (name: string, text: string): string => {
  const p = join(tmp, name)
  writeFileSync(p, text)
  return p
}

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 20_000 })
    return true
  } catch {
    return false
  }
}

/** The plugin by its kubectl name, from a PATH that has only our bin folder in front. */
function runPlugin(args: readonly string[], env: Record<string, string | undefined> = {}, via: 'name' | 'kubectl' = 'name'): Promise<Run> {
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string> = {}
    for (const [k, v] of Object.entries({ ...process.env, HOME: emptyHome, KUBECONFIG: undefined, ...env })) if (v !== undefined) childEnv[k] = v
    childEnv.PATH = `${bin}${delimiter}${process.env.PATH ?? ''}`
    const [command, argv] = via === 'kubectl' ? ['kubectl', ['upgrade-guard', ...args]] : ['kubectl-upgrade_guard', [...args]]
    const child = spawn(command as string, argv as string[], { cwd: ROOT, env: childEnv })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end('')
  })
}

let fake: FakeApiServer
let kubeconfig: string

/** Every object of examples/state (Lists unpacked). */
function exampleObjects(): Record<string, unknown>[] {
  const dir = join(ROOT, 'examples/state')
  return readdirSync(dir).flatMap((f) =>
    parseAllDocuments(readFileSync(join(dir, f), 'utf8'))
      .map((d) => d.toJS() as Record<string, unknown> | null)
      .filter((o): o is Record<string, unknown> => o !== null)
      .flatMap((o) => (o.kind === 'List' ? (o.items as Record<string, unknown>[]) : [o])),
  )
}

beforeAll(async () => {
  mkdirSync(bin, { recursive: true })
  mkdirSync(emptyHome, { recursive: true })
  // What `npm install` does for a bin entry: an executable link by the bin's name.
  chmodSync(PLUGIN, 0o755)
  symlinkSync(PLUGIN, join(bin, 'kubectl-upgrade_guard'))
  // `#!/usr/bin/env node` must find the Node 24 that runs these tests.
  symlinkSync(process.execPath, join(bin, 'node'))

  fake = await FakeApiServer.start({ absentResources: ['machines', 'deployments'] })
  for (const obj of exampleObjects()) fake.apply(obj)
  kubeconfig = write(
    'kubeconfig.yaml',
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'broken',
      clusters: [
        { name: 'fake', cluster: { server: fake.url, 'insecure-skip-tls-verify': true } },
        { name: 'nowhere', cluster: { server: 'http://127.0.0.1:1', 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'fake-user', user: { token: fake.token } }],
      contexts: [
        { name: 'broken', context: { cluster: 'nowhere', user: 'fake-user', namespace: 'elsewhere' } },
        { name: 'fake', context: { cluster: 'fake', user: 'fake-user', namespace: 'cpaas-system' } },
      ],
    }),
  )
})

afterAll(async () => {
  await fake?.close()
})

describe('translateArgs (kubectl conventions -> upgrade-guard flags)', () => {
  const env = (over: Partial<PluginEnvironment> = {}): PluginEnvironment => ({ KUBECONFIG: '/k/config', home: emptyHome, ...over })

  it.each([
    { name: 'plan: -n folds into --cluster', args: ['plan', '-n', 'ns', '--cluster', 'c', '--to', 'v1'], expected: ['plan', '--cluster', 'ns/c', '--to', 'v1', '--kubeconfig', '/k/config'] },
    { name: 'plan: --namespace=ns and --cluster=c', args: ['plan', '--namespace=ns', '--cluster=c', '--to', 'v1'], expected: ['plan', '--cluster=ns/c', '--to', 'v1', '--kubeconfig', '/k/config'] },
    { name: 'plan: -nns', args: ['plan', '-nns', '--cluster', 'c'], expected: ['plan', '--cluster', 'ns/c', '--kubeconfig', '/k/config'] },
    { name: 'plan: NS/NAME kept', args: ['plan', '--cluster', 'a/c'], expected: ['plan', '--cluster', 'a/c', '--kubeconfig', '/k/config'] },
    { name: 'plan: no -n, no context namespace: default', args: ['plan', '--cluster', 'c'], expected: ['plan', '--cluster', 'default/c', '--kubeconfig', '/k/config'] },
    { name: 'status: same as plan, with --context', args: ['status', '--context', 'x', '-n', 'ns', '--cluster', 'c'], expected: ['status', '--cluster', 'ns/c', '--kubeconfig', '/k/config', '--context', 'x'] },
    { name: 'validate: -n passed as --namespace', args: ['validate', '-f', 'x.yaml', '-n', 'ns'], expected: ['validate', '-f', 'x.yaml', '--kubeconfig', '/k/config', '--namespace', 'ns'] },
    { name: 'validate: --state reads files, no kubeconfig added', args: ['validate', '-f', 'x.yaml', '--state', 's/'], expected: ['validate', '-f', 'x.yaml', '--state', 's/'] },
    { name: 'audit: explicit --kubeconfig wins over KUBECONFIG', args: ['audit', '--kubeconfig=/mine', '-o', 'json'], expected: ['audit', '-o', 'json', '--kubeconfig', '/mine'] },
    { name: 'other commands pass through', args: ['review', '--mutate'], expected: ['review', '--mutate'] },
    { name: '<command> --help needs no kubeconfig', args: ['plan', '--help'], expected: ['plan', '--help'] },
    { name: 'after --, nothing is taken', args: ['validate', '-f', 'x', '--state', 's', '--', '-n', 'a'], expected: ['validate', '-f', 'x', '--state', 's', '--', '-n', 'a'] },
  ])('$name', ({ args, expected }) => {
    expect(translateArgs(args, env())).toEqual(expected)
  })

  it.each([
    { name: 'no kubeconfig anywhere', args: ['plan', '--cluster', 'c'], env: { KUBECONFIG: undefined }, error: /no kubeconfig: give --kubeconfig FILE, set KUBECONFIG/ },
    { name: '-n disagrees with --cluster', args: ['plan', '-n', 'b', '--cluster', 'a/c'], env: {}, error: /in namespace a, but -n says b/ },
    { name: '-n without a value', args: ['plan', '-n'], env: {}, error: /-n needs a value/ },
    { name: '--context with --state', args: ['validate', '--state', 's', '--context', 'x', '-f', 'y'], env: {}, error: /--context needs a kubeconfig/ },
  ])('usage error: $name', ({ args, env: over, error }) => {
    expect(() => translateArgs(args, env(over))).toThrow(error)
  })

  it('~/.kube/config when KUBECONFIG is unset, and the context namespace as the default namespace', () => {
    const home = join(tmp, 'home-with-config')
    mkdirSync(join(home, '.kube'), { recursive: true })
    writeFileSync(join(home, '.kube', 'config'), readFileSync(kubeconfig))
    const cfg = join(home, '.kube', 'config')
    expect(translateArgs(['plan', '--cluster', 'c'], { KUBECONFIG: undefined, home })).toEqual(['plan', '--cluster', 'elsewhere/c', '--kubeconfig', cfg])
    expect(translateArgs(['plan', '--context', 'fake', '--cluster', 'c'], { KUBECONFIG: '', home })).toEqual(['plan', '--cluster', 'cpaas-system/c', '--kubeconfig', cfg, '--context', 'fake'])
  })

  it('contextNamespace follows KUBECONFIG lists: first current-context, first definition of a context', () => {
    const first = write('first.yaml', stringify({ 'current-context': 'b', contexts: [{ name: 'a', context: { namespace: 'from-first' } }] }))
    const second = write('second.yaml', stringify({ 'current-context': 'a', contexts: [{ name: 'a', context: { namespace: 'from-second' } }, { name: 'b', context: { namespace: 'bee' } }] }))
    expect(contextNamespace(`${first}${delimiter}${second}`, undefined)).toBe('bee')
    expect(contextNamespace(`${first}${delimiter}${second}`, 'a')).toBe('from-first')
    expect(contextNamespace('/nonexistent', undefined)).toBeUndefined()
  })

  it('loadKubeConfig merges a KUBECONFIG list as kubectl does: the first current-context set wins', async () => {
    const cluster = { name: 'c', cluster: { server: 'https://127.0.0.1:6443' } }
    const user = { name: 'u', user: { token: 't' } }
    const noCurrent = write('merge-a.yaml', stringify({ apiVersion: 'v1', kind: 'Config', clusters: [cluster], users: [user], contexts: [{ name: 'a', context: { cluster: 'c', user: 'u' } }] }))
    const currentB = write('merge-b.yaml', stringify({ apiVersion: 'v1', kind: 'Config', 'current-context': 'b', clusters: [cluster], users: [user], contexts: [{ name: 'b', context: { cluster: 'c', user: 'u' } }] }))
    const currentA = write('merge-c.yaml', stringify({ apiVersion: 'v1', kind: 'Config', 'current-context': 'a', clusters: [cluster], users: [user], contexts: [] }))
    expect((await loadKubeConfig(`${noCurrent}${delimiter}${currentB}`)).getCurrentContext()).toBe('b')
    expect((await loadKubeConfig(`${currentA}${delimiter}${noCurrent}${delimiter}${currentB}`)).getCurrentContext()).toBe('a')
    expect((await loadKubeConfig(`${noCurrent}${delimiter}${currentB}`, 'a')).getCurrentContext()).toBe('a')
    await expect(loadKubeConfig(`${noCurrent}${delimiter}/nonexistent/kubeconfig`)).rejects.toThrow(/cannot load the kubeconfig/)
  })

  it('extractKubectlFlags leaves every other argument in order', () => {
    expect(extractKubectlFlags(['a', '--kubeconfig', 'k', 'b', '--context=c', '-o', 'json'])).toEqual({ flags: { kubeconfig: 'k', context: 'c' }, rest: ['a', 'b', '-o', 'json'] })
  })
})

/** A report without the preflight "not present" warnings and the summary line that counts them. */
const withoutNotPresent = (text: string): string =>
  text
    .split('\n')
    .filter((l) => !/ warning: Not found: cannot check: \w+ is not present/.test(l) && !/^\d+ allowed, /.test(l))
    .join('\n')

describe('kubectl-upgrade_guard as a process', () => {
  it('plan from files: the same output as `upgrade-guard plan --cluster NS/NAME`', async () => {
    const plugin = await runPlugin(['plan', '--state', 'examples/state', '-n', 'cpaas-system', '--cluster', 'bm-workload', '--to', 'v1.34.5-3'])
    const direct = await runCli(['plan', '--state', 'examples/state', '--cluster', 'cpaas-system/bm-workload', '--to', 'v1.34.5-3'])
    expect(direct.code).toBe(0)
    expect(plugin).toEqual(direct)
    expect(plugin.stdout).toMatch(/^Upgrade plan for Cluster cpaas-system\/bm-workload: /)
  })

  it('plan live: KUBECONFIG and --context (the current context is broken), namespace from the context', async () => {
    const plugin = await runPlugin(['plan', '--context', 'fake', '--cluster', 'bm-workload', '--to', 'v1.34.5-3'], { KUBECONFIG: kubeconfig })
    const files = await runCli(['plan', '--state', 'examples/state', '--cluster', 'cpaas-system/bm-workload', '--to', 'v1.34.5-3'])
    expect(plugin.stderr).toBe('')
    expect(plugin.code).toBe(0)
    // Live, the preflight notes say which lifecycle kinds the fake does not serve.
    expect(plugin.stdout.split('\n').filter((l) => !l.startsWith('* Preflight (')).join('\n')).toBe(files.stdout)
    expect(plugin.stdout).toMatch(/\* Preflight \(control-plane-healthy\): cannot check: Machine is not present/)
    expect(fake.lists('kubeadmcontrolplanes').length).toBeGreaterThan(0)
  })

  it('plan live without --context uses the broken current context, and says so (exit 2)', async () => {
    const r = await runPlugin(['plan', '--kubeconfig', kubeconfig, '-n', 'cpaas-system', '--cluster', 'bm-workload', '--to', 'v1.34.5-3'])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toMatch(/^upgrade-guard: /)
  })

  it('an unknown --context: one line naming the contexts there are, exit 2', async () => {
    const r = await runPlugin(['plan', '--context', 'nope', '--cluster', 'x', '--to', 'v1.34.5-3'], { KUBECONFIG: kubeconfig })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`upgrade-guard: ${kubeconfig}: --context: no context "nope" in the kubeconfig (it has: broken, fake)\n`)
  })

  it.each([
    { change: '02-kcp-skip-minor.yaml', code: 1, out: /control-plane-minor-step/ },
    { change: '01-kcp-one-minor.yaml', code: 0, out: /1 allowed, 0 denied/ },
  ])('validate live: $change exits $code', async ({ change, code, out }) => {
    const r = await runPlugin(['validate', '-f', `examples/changes/${change}`, '--kubeconfig', kubeconfig, '--context', 'fake'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(code)
    expect(r.stdout).toMatch(out)
    const files = await runCli(['validate', '-f', `examples/changes/${change}`, '--state', 'examples/state', '-n', 'cpaas-system'])
    // Live, the lifecycle kinds the fake does not serve are "not present": the preflight rules
    // warn about that (a file snapshot without lifecycle objects keeps them silent). The rest is
    // the same report.
    expect(withoutNotPresent(r.stdout)).toBe(withoutNotPresent(files.stdout))
    expect(r.stdout).toMatch(/control-plane-healthy .*Machine is not present/)
  })

  it.each(['status', 'audit'])('%s is forwarded to the main CLI with the translated flags', async (command) => {
    const plugin = await runPlugin([command, '-n', 'cpaas-system', '--cluster', 'bm-workload', '--context', 'fake'], { KUBECONFIG: kubeconfig })
    const clusterArgs = command === 'status' ? ['--cluster', 'cpaas-system/bm-workload'] : ['--cluster', 'bm-workload']
    const nsArgs = command === 'status' ? [] : ['--namespace', 'cpaas-system']
    const direct = await runCli([command, ...clusterArgs, '--kubeconfig', kubeconfig, '--context', 'fake', ...nsArgs])
    expect(plugin).toEqual(direct)
    expect(plugin.stderr).not.toMatch(/kubectl-upgrade_guard:/)
  })

  it('no kubeconfig anywhere: the plugin says what to give, exit 2', async () => {
    const r = await runPlugin(['validate', '-f', 'examples/changes/01-kcp-one-minor.yaml'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('kubectl-upgrade_guard: validate: no kubeconfig: give --kubeconfig FILE, set KUBECONFIG, create ~/.kube/config, or read files with --state PATH\n')
  })

  it('validate --help: the main CLI lists the flags, with no kubeconfig anywhere', async () => {
    const r = await runPlugin(['validate', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/--context <name>/)
  })

  it('no arguments: usage on stderr, exit 2; --help: usage on stdout, exit 0', async () => {
    const none = await runPlugin([])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/^Usage: kubectl upgrade-guard <command>/)
    const help = await runPlugin(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/plan +--cluster NAME --to VERSION/)
  })

  it.skipIf(!hasKubectl())('through kubectl itself: `kubectl upgrade-guard plan` finds the plugin on the PATH', async () => {
    const r = await runPlugin(['plan', '--state', 'examples/state', '-n', 'cpaas-system', '--cluster', 'bm-workload', '--to', 'v1.34.5-3'], {}, 'kubectl')
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Upgrade plan for Cluster cpaas-system\/bm-workload: /)
    const validate = await runPlugin(['validate', '-f', 'examples/changes/02-kcp-skip-minor.yaml', '--context=fake'], { KUBECONFIG: kubeconfig }, 'kubectl')
    expect(validate.code).toBe(1)
  })
})

describe('package.json', () => {
  it('installs the plugin under its kubectl name', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }
    expect(pkg.bin['kubectl-upgrade_guard']).toBe('dist/cli/kubectl-plugin.js')
    expect(readFileSync(PLUGIN, 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/)
  })
})
