/**
 * The CLI as a process (dist/ is built by `npm test` before vitest runs).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, runCli } from '../helpers/cli.js'

const REVIEWS = join(ROOT, '../shared/reference/admission-reviews/v1beta1')
const STATE = join(ROOT, 'test/fixtures/reference-state')

const run = (args: string[], input?: string) => runCli(args, input === undefined ? {} : { input })

const tmp = mkdtempSync(join(tmpdir(), 'ug-cli-'))
const write = (name: string, text: string): string => {
  const p = join(tmp, name)
  writeFileSync(p, text)
  return p
}

describe('upgrade-guard review', () => {
  it('prints the AdmissionReview response for a denied edit, exit 0', async () => {
    const input = readFileSync(join(REVIEWS, '012-validate-KubeadmControlPlane-UPDATE-bm-workload-control-plane.json'), 'utf8')
    const r = await run(['review', '--state', STATE], input)
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as { response: { uid: string; allowed: boolean; status: { message: string } } }
    expect(out.response.uid).toBe((JSON.parse(input) as { request: { uid: string } }).request.uid)
    expect(out.response.allowed).toBe(false)
    expect(out.response.status.message).toContain('[control-plane-minor-step] spec.version')
  })

  it('--mutate answers with a base64 JSONPatch', async () => {
    const input = readFileSync(join(REVIEWS, '029-mutate-KubeadmControlPlane-CREATE-bm-nostrategy-control-plane.json'), 'utf8')
    const r = await run(['review', '--mutate', '--state', STATE], input)
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as { response: { patchType: string; patch: string } }
    expect(out.response.patchType).toBe('JSONPatch')
    expect(JSON.parse(Buffer.from(out.response.patch, 'base64').toString())).toEqual([{ op: 'replace', path: '/spec/rolloutStrategy/rollingUpdate/maxSurge', value: 0 }])
  })

  it.each([
    { name: 'invalid JSON', input: '{"apiVersion":', message: /invalid JSON/ },
    { name: 'not an AdmissionReview', input: '{"hello":"world"}', message: /request.uid is missing/ },
    { name: 'empty input', input: '', message: /invalid JSON/ },
  ])('$name: one line on stderr, exit 2', async ({ input, message }) => {
    const r = await run(['review'], input)
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(message)
  })

  it('a bad policy file: one line naming file and field, exit 2, no stack', async () => {
    const policy = write('bad-policy.yaml', 'apiVersion: upgrade-guard.io/v1alpha1\nkind: Policy\nrules:\n  catalog-key: maybe\n')
    const r = await run(['review', '--policy', policy], '{}')
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`upgrade-guard: ${policy}: rules.catalog-key: must be one of deny, warn, audit, off`)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('a bad state file: one line naming file and document, exit 2', async () => {
    const state = write('bad-state.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\nkind: ConfigMap\nmetadata:\n  name: no-api-version\n')
    const r = await run(['review', '--state', state], '{}')
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`upgrade-guard: ${state}: document 2: apiVersion: is required`)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
  })
})

describe('upgrade-guard validate', () => {
  const kcp = (version: string, surge: number) => `apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: KubeadmControlPlane
metadata:
  name: bm-workload-control-plane
  namespace: cpaas-system
  labels:
    cluster.x-k8s.io/cluster-name: bm-workload
spec:
  replicas: 3
  version: ${version}
  rolloutStrategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: ${surge}
  machineTemplate:
    infrastructureRef:
      apiVersion: infrastructure.cluster.x-k8s.io/v1beta1
      kind: BaremetalMachineTemplate
      name: bm-workload-control-plane-template
      namespace: cpaas-system
  kubeadmConfigSpec: {}
`
  it('allowed change: exit 0 and a summary', async () => {
    const f = write('ok.yaml', kcp('v1.33.7-2', 0))
    const r = await run(['validate', '-f', f, '--state', 'examples/state'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('1 allowed, 0 denied')
  })

  it('denied change: exit 1, one line per violation with file:doc, kind, rule and field', async () => {
    const f = write('bad.yaml', kcp('v1.34.5-3', 1))
    const r = await run(['validate', '-f', f, '--state', 'examples/state'])
    expect(r.code).toBe(1)
    const lines = r.stdout.trim().split('\n')
    expect(lines.some((l) => l.startsWith(`${f}:1  KubeadmControlPlane cpaas-system/bm-workload-control-plane  max-surge-zero  spec.rolloutStrategy.rollingUpdate.maxSurge  `))).toBe(true)
    expect(lines.some((l) => l.includes('  control-plane-minor-step  spec.version  '))).toBe(true)
    expect(lines.at(-1)).toContain('0 allowed, 1 denied')
  })

  it('applies changes in order: the second hop is judged against the first', async () => {
    const f = write('two.yaml', `${kcp('v1.33.7-2', 0)}---\n${kcp('v1.34.5-3', 0)}`)
    const r = await run(['validate', '-f', f, '--state', 'examples/state'])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`${f}:2  KubeadmControlPlane cpaas-system/bm-workload-control-plane  control-plane-minor-step`)
    expect(r.stdout).not.toContain(`${f}:1  `)
  })

  it('objects without a namespace go to -n (default "default"), as with kubectl apply', async () => {
    const f = write('catalog-no-ns.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: elemental-image-catalog\ndata:\n  1.34.6: registry.example.com:11443/tkestack/baremetal-base-image:v1\n')
    const elsewhere = await run(['validate', '-f', f, '--state', 'examples/state'])
    expect(elsewhere.code).toBe(0) // a ConfigMap of that name in "default" is not the catalog
    const inCatalogNamespace = await run(['validate', '-n', 'cpaas-system', '-f', f, '--state', 'examples/state'])
    expect(inCatalogNamespace.code).toBe(1)
    expect(inCatalogNamespace.stdout).toContain('ConfigMap cpaas-system/elemental-image-catalog  catalog-shape  data[1.34.6]')
  })

  it('usage error: exit 2', async () => {
    const r = await run(['validate', '--state', 'examples/state'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("required option '-f, --filename <path...>' not specified")
  })

  it('a missing manifest file: exit 2 naming it', async () => {
    const r = await run(['validate', '-f', join(tmp, 'nope.yaml'), '--state', 'examples/state'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('nope.yaml: cannot read: ENOENT')
  })
})
