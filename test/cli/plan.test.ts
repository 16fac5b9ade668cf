/**
 * `upgrade-guard plan`, process-level: the steps it prints for a patch bump, one minor, v1.32 →
 * v1.34 with n-1 (interleaved) and n-2 (control plane twice, then workers), missing catalog keys,
 * fixes it plans around, and refusals. Then the property that matters: replaying every step of a
 * printed plan through `validate`, in order, from the state it starts from (completing each
 * control-plane rollout at its wait step), is allowed at every step.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv } from 'ajv'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, runCli, type Run } from '../helpers/cli.js'
import { parse, stringify } from 'yaml'
import { runValidate } from '../../src/cli/validate.js'
import { isRecord } from '../../src/objects/unstructured.js'
import { DEFAULT_POLICY_FILE, loadPolicy } from '../../src/policy/load.js'
import { loadFileView } from '../../src/state/file-view.js'
import { parseManifests } from '../../src/state/manifests.js'
import type { MemoryView } from '../../src/state/memory-view.js'
import planSchema from '../../src/plan/plan-schema.json' with { type: 'json' }

const STATE = join(ROOT, 'examples/state')
const CLUSTER = 'cpaas-system/bm-workload'
const NS = 'cpaas-system'
const KCP = 'bm-workload-control-plane'

type Obj = Record<string, any> // test data, read back from YAML/JSON

const run = (args: readonly string[]) => runCli(args)

const tmp = mkdtempSync(join(tmpdir(), 'ug-plan-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
let counter = 0

interface State {
  cluster: Obj
  kcp: Obj
  workers: Obj
  storage: Obj
  catalog: Obj
}

/** The objects of examples/state, as plain data to edit. */
function baseState(): State {
  const read = (f: string): Obj => parse(readFileSync(join(STATE, f), 'utf8')) as Obj
  const mds = read('workers.yaml').items as Obj[]
  return { cluster: read('cluster.yaml'), kcp: read('control-plane.yaml'), workers: mds[0] as Obj, storage: mds[1] as Obj, catalog: read('catalog.yaml') }
}

function writeState(s: State): string {
  const dir = join(tmp, `state-${++counter}`)
  mkdirSync(dir)
  writeFileSync(join(dir, 'state.yaml'), [s.cluster, s.kcp, s.workers, s.storage, s.catalog].map((o) => stringify(o)).join('---\n'))
  return dir
}

function state(edit: (s: State) => void = () => {}): string {
  const s = baseState()
  edit(s)
  return writeState(s)
}

const setKcp = (s: State, spec: string, status = spec): void => {
  s.kcp.spec.version = spec
  s.kcp.status.version = status
}
const setWorkers = (s: State, v: string): void => {
  s.workers.spec.template.spec.version = v
  s.storage.spec.template.spec.version = v
}
const optInN2 = (s: State): void => {
  s.cluster.metadata.annotations['upgrade-guard.io/worker-skew'] = '2'
}

const TAGS_POLICY = (() => {
  const file = join(tmp, 'tags-policy.yaml')
  writeFileSync(
    file,
    stringify({
      apiVersion: 'upgrade-guard.io/v1alpha1',
      kind: 'Policy',
      rules: { 'pinned-component-tags': 'deny' },
      componentTags: {
        'v1.33': { coredns: ['1.12.4-v4.2.7'], etcd: ['v3.5.25-251215'] },
        'v1.34': { coredns: ['1.14.2-v4.3.11'], etcd: ['v3.5.28-260625'] },
      },
    }),
  )
  return file
})()

async function plan(stateDir: string, to: string, extra: readonly string[] = []): Promise<{ run: Run; json: Obj }> {
  const r = await run(['plan', '--state', stateDir, '--cluster', CLUSTER, '--to', to, '-o', 'json', ...extra])
  return { run: r, json: JSON.parse(r.stdout) as Obj }
}

const kinds = (p: Obj): string[] => (p.steps as Obj[]).map((s) => s.kind as string)
const stepsOf = (p: Obj, kind: string): Obj[] => (p.steps as Obj[]).filter((s) => s.kind === kind)

const validatePlan = new Ajv({ strict: true, allErrors: true }).compile(planSchema)

/**
 * Runs every step of a plan through `validate` (runValidate, the CLI's own code) in order, on the
 * state the plan starts from; a wait step completes its control-plane rollout (status.version).
 * Returns the final view, or the first denial.
 */
function replay(stateDir: string, p: Obj, opts: { policy?: string; replace?: Record<string, string>; skipWaits?: boolean } = {}): { view: MemoryView; denied?: string } {
  const policy = loadPolicy(opts.policy ?? DEFAULT_POLICY_FILE)
  const view = loadFileView([stateDir], policy.catalog).view
  for (const step of p.steps as Obj[]) {
    if ((step.objects as Obj[]).length > 0) {
      let text = (step.objects as Obj[]).map((o) => stringify(o)).join('---\n')
      for (const [from, to] of Object.entries(opts.replace ?? {})) text = text.replaceAll(from, to)
      const report = runValidate(parseManifests(text, `step-${step.number}.yaml`, 'UG_ERR_INPUT'), view, policy, { username: 'operator', groups: [] })
      if (report.denied > 0) {
        const why = report.items.flatMap((i) => i.decision.denied.map((v) => `[${v.rule}] ${v.field}: ${v.message}`))
        return { view, denied: `step ${step.number} (${step.title}): ${why.join('; ')}` }
      }
    }
    if (opts.skipWaits === true) continue
    for (const w of step.waitFor as Obj[]) {
      if (w.kind !== 'KubeadmControlPlane') continue
      const kcp = view.controlPlane(w.namespace, w.name)
      if (kcp === undefined) throw new Error(`no KCP ${w.namespace}/${w.name}`)
      const status = isRecord(kcp.raw.status) ? kcp.raw.status : {}
      view.upsert({ ...kcp.raw, status: { ...status, version: w.version } })
    }
  }
  return { view }
}

function expectAllowedThroughout(stateDir: string, p: Obj, opts: { policy?: string; replace?: Record<string, string> } = {}): MemoryView {
  const result = replay(stateDir, p, opts)
  expect(result.denied).toBeUndefined()
  return result.view
}

/** The final state: control plane and every worker at the target. */
function expectAt(view: MemoryView, to: string): void {
  const kcp = view.controlPlane(NS, KCP)
  expect(kcp?.version).toBe(to)
  expect(kcp?.statusVersion).toBe(to)
  for (const md of view.machineDeploymentsOfCluster(NS, 'bm-workload')) expect(md.version, md.name).toBe(to)
}

describe('plan: shapes of safe upgrades', { timeout: 120_000 }, () => {
  it.concurrent('patch bump: one control-plane hop, then the workers', async () => {
    const dir = state((s) => {
      setKcp(s, 'v1.32.7')
      setWorkers(s, 'v1.32.7')
    })
    const { run: r, json } = await plan(dir, 'v1.32.8')
    expect(r.code).toBe(0)
    expect(validatePlan(json), JSON.stringify(validatePlan.errors)).toBe(true)
    expect(json.hops).toEqual(['v1.32.8'])
    expect(json.workerOrder).toBe('after-control-plane')
    expect(kinds(json)).toEqual(['check', 'control-plane', 'wait', 'workers', 'workers', 'wait', 'verify'])
    expect(stepsOf(json, 'control-plane')[0]?.title).toContain('patch release')
    expect(stepsOf(json, 'control-plane')[0]?.commands).toEqual([`kubectl -n ${NS} patch kubeadmcontrolplane ${KCP} --type=merge -p '{"spec":{"version":"v1.32.8"}}'`])
    expectAt(expectAllowedThroughout(dir, json), 'v1.32.8')
  })

  it.concurrent('one minor: v1.32.8 → v1.33.7-2, workers after the control plane', async () => {
    const dir = state()
    const { run: r, json } = await plan(dir, 'v1.33.7-2')
    expect(r.code).toBe(0)
    expect(json.hops).toEqual(['v1.33.7-2'])
    expect(kinds(json)).toEqual(['check', 'control-plane', 'wait', 'workers', 'workers', 'wait', 'verify'])
    const wait = stepsOf(json, 'wait')[0]
    expect(wait?.commands).toEqual([`kubectl wait --for=jsonpath='{.status.version}'=v1.33.7-2 kcp/${KCP} -n ${NS} --timeout=90m`])
    expect(wait?.waitFor).toEqual([{ kind: 'KubeadmControlPlane', namespace: NS, name: KCP, version: 'v1.33.7-2' }])
    const workers = stepsOf(json, 'workers').map((s) => s.commands[0])
    expect(workers).toEqual([
      `kubectl -n ${NS} patch machinedeployment bm-workload-storage --type=merge -p '{"spec":{"template":{"spec":{"version":"v1.33.7-2"}}}}'`,
      `kubectl -n ${NS} patch machinedeployment bm-workload-workers --type=merge -p '{"spec":{"template":{"spec":{"version":"v1.33.7-2"}}}}'`,
    ])
    // the MD wait reads the counter of each object's own API version
    const mdWait = (stepsOf(json, 'wait')[1]?.commands as string[]).join('\n')
    expect(mdWait).toContain(`kubectl wait --for=jsonpath='{.status.upToDateReplicas}'=2 machinedeployments.v1beta2.cluster.x-k8s.io/bm-workload-storage -n ${NS} --timeout=60m`)
    expect(mdWait).toContain(`kubectl wait --for=jsonpath='{.status.updatedReplicas}'=3 machinedeployments.v1beta1.cluster.x-k8s.io/bm-workload-workers -n ${NS} --timeout=90m`)
    // The counters describe the old template until the controller has seen the new one: gate on
    // observedGeneration first, and on ready replicas last.
    expect(mdWait).toContain(`kubectl wait --for=jsonpath='{.status.observedGeneration}'=$(kubectl get machinedeployments.v1beta1.cluster.x-k8s.io/bm-workload-workers -n ${NS} -o jsonpath='{.metadata.generation}') machinedeployments.v1beta1.cluster.x-k8s.io/bm-workload-workers -n ${NS} --timeout=90m && `)
    expect(mdWait).toContain(`kubectl wait --for=jsonpath='{.status.readyReplicas}'=3 machinedeployments.v1beta1.cluster.x-k8s.io/bm-workload-workers -n ${NS} --timeout=90m`)
    expectAt(expectAllowedThroughout(dir, json), 'v1.33.7-2')
  })

  it.concurrent('v1.32 → v1.34 with n-1: workers move to v1.33 between the two control-plane hops (interleaved)', async () => {
    const dir = state()
    const { run: r, json } = await plan(dir, 'v1.34.5-3')
    expect(r.code).toBe(0)
    expect(validatePlan(json), JSON.stringify(validatePlan.errors)).toBe(true)
    expect(json.hops).toEqual(['v1.33.7-10', 'v1.34.5-3']) // newest v1.33 key (revision-aware), exact target last
    expect(json.workerOrder).toBe('interleaved')
    expect(json.skew).toEqual({ allowed: 1, source: 'policy default' })
    expect(kinds(json)).toEqual(['check', 'control-plane', 'wait', 'workers', 'workers', 'wait', 'control-plane', 'wait', 'workers', 'workers', 'wait', 'verify'])
    expect((json.steps as Obj[]).map((s) => s.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    expect(stepsOf(json, 'workers').map((s) => s.objects[0].spec.template.spec.version)).toEqual(['v1.33.7-10', 'v1.33.7-10', 'v1.34.5-3', 'v1.34.5-3'])
    expectAt(expectAllowedThroughout(dir, json), 'v1.34.5-3')
  })

  it.concurrent('v1.32 → v1.34 with the n-2 opt-in: control plane twice, then the workers once', async () => {
    const dir = state(optInN2)
    const { run: r, json } = await plan(dir, 'v1.34.5-3')
    expect(r.code).toBe(0)
    expect(json.workerOrder).toBe('after-control-plane')
    expect(json.skew.allowed).toBe(2)
    expect(kinds(json)).toEqual(['check', 'control-plane', 'wait', 'control-plane', 'wait', 'workers', 'workers', 'wait', 'verify'])
    expect(stepsOf(json, 'workers').map((s) => s.objects[0].spec.template.spec.version)).toEqual(['v1.34.5-3', 'v1.34.5-3'])
    expectAt(expectAllowedThroughout(dir, json), 'v1.34.5-3')
  })

  it.concurrent('puts the CoreDNS/etcd tags the policy knows into the same merge patch', async () => {
    const dir = state()
    const { run: r, json } = await plan(dir, 'v1.34.5-3', ['--policy', TAGS_POLICY])
    expect(r.code).toBe(0)
    const [first, second] = stepsOf(json, 'control-plane').map((s) => s.commands[0] as string)
    expect(first).toBe(
      `kubectl -n ${NS} patch kubeadmcontrolplane ${KCP} --type=merge -p '{"spec":{"version":"v1.33.7-10","kubeadmConfigSpec":{"clusterConfiguration":{"dns":{"imageTag":"1.12.4-v4.2.7"},"etcd":{"local":{"imageTag":"v3.5.25-251215"}}}}}}'`,
    )
    expect(second).toContain('"dns":{"imageTag":"1.14.2-v4.3.11"}')
    expect(second).toContain('"etcd":{"local":{"imageTag":"v3.5.28-260625"}}')
    expectAllowedThroughout(dir, json, { policy: TAGS_POLICY })
  })

  it.concurrent('text output: numbered steps with the same commands as the JSON', async () => {
    const dir = state()
    const text = await run(['plan', '--state', dir, '--cluster', CLUSTER, '--to', 'v1.34.5-3'])
    const { json } = await plan(dir, 'v1.34.5-3')
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/^Upgrade plan for Cluster cpaas-system\/bm-workload: v1\.32\.8 -> v1\.34\.5-3$/m)
    for (const step of json.steps as Obj[]) {
      expect(text.stdout).toContain(`${String(step.number).padStart(2)}. ${step.title}`)
      for (const c of step.commands as string[]) expect(text.stdout).toContain(c)
    }
  })

  it.concurrent('a control-plane rollout still in progress: the plan waits for it first', async () => {
    const dir = state((s) => setKcp(s, 'v1.33.7-2', 'v1.32.8'))
    const { run: r, json } = await plan(dir, 'v1.34.5-3', ['--policy', TAGS_POLICY])
    expect(r.code).toBe(0)
    expect(kinds(json).slice(0, 3)).toEqual(['check', 'wait', 'workers'])
    expect(stepsOf(json, 'wait')[0]?.waitFor[0].version).toBe('v1.33.7-2')
    expectAllowedThroughout(dir, json, { policy: TAGS_POLICY })
  })

  it.concurrent('already at the target: only the verification is left', async () => {
    const { run: r, json } = await plan(state(), 'v1.32.8')
    expect(r.code).toBe(0)
    expect(kinds(json)).toEqual(['verify'])
    expect(stepsOf(json, 'verify')[0]?.commands).toContain(`kubectl -n ${NS} get baremetalmachines.infrastructure.cluster.x-k8s.io -l cluster.x-k8s.io/cluster-name=bm-workload`)
  })
})

describe('plan: what it plans around', { timeout: 120_000 }, () => {
  it.concurrent("maxSurge not 0 and maxUnavailable 0: the first steps fix the strategies (at each API version's path)", async () => {
    const dir = state((s) => {
      s.kcp.spec.rolloutStrategy.rollingUpdate.maxSurge = 1
      s.workers.spec.strategy.rollingUpdate = { maxSurge: 1, maxUnavailable: 0 }
      s.storage.spec.rollout.strategy.rollingUpdate.maxSurge = '25%'
    })
    const { run: r, json } = await plan(dir, 'v1.33.7-10')
    expect(r.code).toBe(0)
    expect(kinds(json).slice(0, 3)).toEqual(['strategy', 'strategy', 'strategy'])
    const commands = stepsOf(json, 'strategy').map((s) => s.commands[0] as string)
    expect(commands).toEqual([
      `kubectl -n ${NS} patch kubeadmcontrolplane ${KCP} --type=merge -p '{"spec":{"rolloutStrategy":{"rollingUpdate":{"maxSurge":0}}}}'`,
      `kubectl -n ${NS} patch machinedeployment bm-workload-storage --type=merge -p '{"spec":{"rollout":{"strategy":{"rollingUpdate":{"maxSurge":0,"maxUnavailable":1}}}}}'`,
      `kubectl -n ${NS} patch machinedeployment bm-workload-workers --type=merge -p '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":0,"maxUnavailable":1}}}}'`,
    ])
    expectAllowedThroughout(dir, json)
    // the control: without the fix, the version change alone (kubectl patch of spec.version) is denied
    const s = parse(readFileSync(join(dir, 'state.yaml'), 'utf8').split('---\n')[1] as string) as Obj
    delete s.status
    s.spec.version = 'v1.33.7-10'
    expect(replay(dir, { steps: [{ number: 1, title: 'version only', objects: [s], waitFor: [] }] }).denied).toMatch(/\[max-surge-zero\] spec\.rolloutStrategy/)
  })

  it.concurrent('no registry annotation on the Cluster: the first step annotates it', async () => {
    const dir = state((s) => {
      delete s.cluster.metadata.annotations['cpaas.io/registry-address']
    })
    const { run: r, json } = await plan(dir, 'v1.33.7-10')
    expect(r.code).toBe(0)
    const first = (json.steps as Obj[])[0] as Obj
    expect(first.kind).toBe('cluster')
    expect(first.commands).toEqual([`kubectl -n ${NS} annotate cluster.cluster.x-k8s.io bm-workload 'cpaas.io/registry-address=<registry host:port>'`])
    expect(first.placeholders).toEqual(['<registry host:port>'])
    expectAllowedThroughout(dir, json)
    const unfixed = { ...json, steps: (json.steps as Obj[]).slice(1) }
    expect(replay(dir, unfixed).denied).toMatch(/\[registry-address\]/)
  })

  it.concurrent('a missing intermediate catalog key: a catalog step adds a v1.33 key (placeholder), then the hops use it', async () => {
    const dir = state((s) => {
      for (const k of Object.keys(s.catalog.data)) if (k.startsWith('v1.33.')) delete s.catalog.data[k]
    })
    const { run: r, json } = await plan(dir, 'v1.34.5-3')
    expect(r.code).toBe(0)
    expect(validatePlan(json), JSON.stringify(validatePlan.errors)).toBe(true)
    expect(json.hops).toEqual(['v1.33.<patch>', 'v1.34.5-3'])
    expect(json.catalogKeysToAdd).toEqual(['v1.33.<patch>'])
    const image = 'registry.example.com:11443/tkestack/baremetal-base-image:<tag-of-v1.33.<patch>>'
    expect(json.placeholders).toEqual(['v1.33.<patch>', image])
    const add = (json.steps as Obj[])[0] as Obj
    expect(add.kind).toBe('catalog')
    expect(add.commands).toEqual([`kubectl -n cpaas-system patch configmap elemental-image-catalog --type=json -p='[{"op":"add","path":"/data/v1.33.<patch>","value":"${image}"}]'`])
    expect(kinds(json)[1]).toBe('check')
    // with the placeholders filled in as the notes ask, every step is allowed
    expectAllowedThroughout(dir, json, { replace: { [image]: 'registry.example.com:11443/tkestack/baremetal-base-image:v4.2.9-1-1.33.9', 'v1.33.<patch>': 'v1.33.9' } })
    // run unedited, the catalog step is denied: a placeholder image is never a valid reference
    expect(replay(dir, json).denied).toMatch(/\[catalog-shape\]/)
  })

  it.concurrent('--via names the build of a missing minor: the plan is concrete', async () => {
    const dir = state((s) => {
      for (const k of Object.keys(s.catalog.data)) if (k.startsWith('v1.33.')) delete s.catalog.data[k]
    })
    const { run: r, json } = await plan(dir, 'v1.34.5-3', ['--via', 'v1.33.9'])
    expect(r.code).toBe(0)
    expect(json.hops).toEqual(['v1.33.9', 'v1.34.5-3'])
    expect(json.catalogKeysToAdd).toEqual(['v1.33.9'])
    const image = 'registry.example.com:11443/tkestack/baremetal-base-image:<tag-of-v1.33.9>'
    expect(json.placeholders).toEqual([image])
    expectAllowedThroughout(dir, json, { replace: { [image]: 'registry.example.com:11443/tkestack/baremetal-base-image:v4.2.9-1-1.33.9' } })
  })

  it.concurrent('a target the catalog lacks: a catalog step adds it (exact key, placeholder image)', async () => {
    const dir = state((s) => setKcp(s, 'v1.34.5-3'))
    const { run: r, json } = await plan(dir, 'v1.34.6', ['--policy', TAGS_POLICY])
    expect(r.code).toBe(0)
    expect(json.catalogKeysToAdd).toEqual(['v1.34.6'])
    expect(((json.steps as Obj[])[0] as Obj).commands[0]).toContain('"path":"/data/v1.34.6"')
  })

  it.concurrent('--require-catalog: refuses, listing every key to add (exit 1, reason on stderr)', async () => {
    const dir = state((s) => {
      for (const k of Object.keys(s.catalog.data)) if (k.startsWith('v1.33.')) delete s.catalog.data[k]
    })
    const { run: r, json } = await plan(dir, 'v1.34.6', ['--require-catalog'])
    expect(r.code).toBe(1)
    expect(json.refused).toBe(true)
    expect(validatePlan(json), JSON.stringify(validatePlan.errors)).toBe(true)
    expect(json.catalogKeysToAdd).toEqual(['v1.33.<patch>', 'v1.34.6'])
    expect(r.stderr).toContain('has no v1.33 key')
    expect(r.stderr).toContain('v1.34.6 is not a key of the catalog cpaas-system/elemental-image-catalog')
  })
})

describe('plan: refusals and errors', { timeout: 120_000 }, () => {
  it.concurrent.each([
    { name: 'a downgrade', to: 'v1.32.7', reason: /v1\.32\.7 is lower than the control plane's v1\.32\.8/ },
    { name: 'a major change', to: 'v2.0.0', reason: /cannot change the major version/ },
    { name: 'workers would have to go down', to: 'v1.32.8', edit: (s: State) => setWorkers(s, 'v1.33.7-2'), reason: /newer than v1\.32\.8/ },
    { name: 'a control plane with 1 replica', to: 'v1.33.7-10', edit: (s: State) => { s.kcp.spec.replicas = 1 }, reason: /must be scaled to 3/ },
    {
      name: 'a rule it cannot plan around (release-order)',
      to: 'v1.33.7-2',
      policy: { releaseDates: { 'v1.33.7-2': '2025-06-01', 'v1.32.8': '2025-08-01' } },
      reason: /would be denied by a rule the planner cannot plan around: \[release-order\]/,
    },
  ])('refuses $name (exit 1, reason on stderr and in the JSON)', async ({ to, edit, reason, policy }) => {
    const dir = state(edit)
    const extra: string[] = []
    if (policy !== undefined) {
      const file = join(tmp, `policy-${++counter}.yaml`)
      writeFileSync(file, stringify({ apiVersion: 'upgrade-guard.io/v1alpha1', kind: 'Policy', ...policy }))
      extra.push('--policy', file)
    }
    const { run: r, json } = await plan(dir, to, extra)
    expect(r.code).toBe(1)
    expect(json.refused).toBe(true)
    expect(validatePlan(json), JSON.stringify(validatePlan.errors)).toBe(true)
    expect((json.reasons as string[]).join('\n')).toMatch(reason)
    expect(r.stderr).toMatch(reason)
    expect(r.stderr).toMatch(/^upgrade-guard: plan refused: /)
    const text = await run(['plan', '--state', dir, '--cluster', CLUSTER, '--to', to, ...extra])
    expect(text.code).toBe(1)
    expect(text.stdout).toBe('')
  })

  it.concurrent.each([
    { name: 'a --cluster that is not NS/NAME', args: ['--cluster', 'bm-workload', '--to', 'v1.33.7-2'], error: /--cluster: "bm-workload" is not NAMESPACE\/NAME/ },
    { name: 'an unknown cluster', args: ['--cluster', 'cpaas-system/nope', '--to', 'v1.33.7-2'], error: /--cluster: Cluster cpaas-system\/nope is not in the state/ },
    { name: 'a --to that is not a version', args: ['--cluster', CLUSTER, '--to', 'latest'], error: /--to: "latest" is not of the form/ },
    { name: 'a --via outside the hops', args: ['--cluster', CLUSTER, '--to', 'v1.34.5-3', '--via', 'v1.34.5'], error: /--via: v1\.34\.5 is not in an intermediate minor/ },
  ])('exit 2 for $name, one line on stderr', async ({ args, error }) => {
    const r = await run(['plan', '--state', STATE, ...args])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(error)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stdout).toBe('')
  })

  it.concurrent('accepts a target without the leading v (a CLI argument, not a catalog key)', async () => {
    const { run: r, json } = await plan(state(), '1.33.7-2')
    expect(r.code).toBe(0)
    expect(json.to).toBe('v1.33.7-2')
  })
})

describe('plan: every printed step is allowed, replayed through the validate CLI process', { timeout: 300_000 }, () => {
  it.concurrent('v1.32 → v1.34, n-1: each step is a `validate` run on the state left by the steps before it', async () => {
    const s = baseState()
    const dir = writeState(s)
    const { json } = await plan(dir, 'v1.34.5-3', ['--policy', TAGS_POLICY])
    const current: State = structuredClone(s)
    for (const step of json.steps as Obj[]) {
      const stateDir = writeState(current)
      if ((step.objects as Obj[]).length > 0) {
        const file = join(stateDir, '..', `step-${counter}-${step.number}.yaml`)
        writeFileSync(file, (step.objects as Obj[]).map((o) => stringify(o)).join('---\n'))
        const r = await run(['validate', '--state', stateDir, '--policy', TAGS_POLICY, '-f', file, '-o', 'json'])
        expect(r.code, `step ${step.number} ${step.title}: ${r.stdout}${r.stderr}`).toBe(0)
        expect(JSON.parse(r.stdout).totals.warnings, `step ${step.number}`).toBe(0)
        for (const o of step.objects as Obj[]) {
          const key = o.kind === 'KubeadmControlPlane' ? 'kcp' : o.kind === 'ConfigMap' ? 'catalog' : o.kind === 'Cluster' ? 'cluster' : o.metadata.name === 'bm-workload-workers' ? 'workers' : 'storage'
          current[key] = { ...o, ...(current[key].status === undefined ? {} : { status: current[key].status }) }
        }
      }
      for (const w of step.waitFor as Obj[]) if (w.kind === 'KubeadmControlPlane') current.kcp.status = { ...current.kcp.status, version: w.version }
    }
    expect(current.kcp.spec.version).toBe('v1.34.5-3')
    expect(current.kcp.status.version).toBe('v1.34.5-3')
    expect([current.workers.spec.template.spec.version, current.storage.spec.template.spec.version]).toEqual(['v1.34.5-3', 'v1.34.5-3'])
  })

  it.concurrent('the replay is a real check: without the waits, the second control-plane hop is denied', async () => {
    const dir = state()
    const { json } = await plan(dir, 'v1.34.5-3')
    expect(replay(dir, json, { skipWaits: true }).denied).toMatch(/step 4 .*\[workers-follow-control-plane\]|step 7 .*\[control-plane-minor-step\]/)
  })
})
