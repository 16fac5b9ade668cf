/**
 * The live caches of the lifecycle kinds against the local fake list/watch API server: they
 * fill the view (slim records), follow events, relist after 410 Gone (dropping what was deleted
 * meanwhile), age like the other caches when the watch drops (decisions fail closed past the
 * staleness limit), read only what RBAC grants, report a provider kind that is not installed as
 * "not present" (never as a failure), and read the management version from GET /version.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { evaluate } from '../../src/engine/evaluate.js'
import { readManifests } from '../../src/state/manifests.js'
import { DEFAULT_POLICY } from '../../src/policy/load.js'
import type { Policy } from '../../src/policy/types.js'
import { INFORMER_RESOURCES, listClusterState, startInformerView, type InformerView } from '../../src/state/informer-view.js'
import { LIFECYCLE_RESOURCES } from '../../src/state/lifecycle-caches.js'
import { machine } from '../helpers/lifecycle.js'
import { request, type Obj } from '../helpers/objects.js'
import { FakeApiServer, type FakeOptions } from './fake-apiserver.js'

const NS = 'cpaas-system'
const MOMENT = 'examples/lifecycle/01-healthy-start'
const PROVIDERS: FakeOptions['servedVersions'] = { 'infrastructure.cluster.x-k8s.io': ['v1beta1'], 'elemental.cattle.io': ['v1beta1'] }
const FAST_BACKOFF = { initialMs: 20, maxMs: 200 }
const CP = 'bm-lab-control-plane'

let fake: FakeApiServer | undefined
let view: InformerView | undefined

afterEach(async () => {
  await view?.stop()
  await fake?.close()
  view = undefined
  fake = undefined
})

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function startFake(options: FakeOptions = { servedVersions: PROVIDERS }): Promise<FakeApiServer> {
  fake = await FakeApiServer.start(options)
  for (const entry of readManifests([MOMENT])) fake.apply(entry.object as Record<string, unknown>)
  return fake
}

async function startSynced(options: FakeOptions = { servedVersions: PROVIDERS }, policy: Policy = DEFAULT_POLICY, now?: () => number): Promise<{ fake: FakeApiServer; view: InformerView }> {
  const server = await startFake(options)
  view = await startInformerView({ kubeConfig: server.kubeConfig(), policy, backoff: FAST_BACKOFF, lifecycle: true, ...(now === undefined ? {} : { now }) })
  expect(await view.waitForSync(5000)).toBe(true)
  return { fake: server, view }
}

const kcpUpgrade = (): ReturnType<typeof request> => {
  const entry = readManifests([`${MOMENT}/cluster.yaml`]).find((e) => e.object.kind === 'KubeadmControlPlane')
  const old = entry?.object as Obj
  const next = structuredClone(old)
  ;(next.spec as Obj).version = 'v1.33.7-2'
  return request('UPDATE', old, next)
}

describe('lifecycle caches (startInformerView lifecycle: true)', () => {
  it('fill the view with every lifecycle kind, as slim records, and the management version', async () => {
    const { view: v } = await startSynced()
    const facts = v.lifecycle()
    expect(facts.isSupplied()).toBe(true)
    for (const kind of ['Machine', 'BaremetalMachine', 'BaremetalMachineTemplate', 'MachineInventoryPool', 'MachineInventory', 'Deployment'] as const) expect(facts.has(kind), kind).toBe(true)
    expect(facts.machinesOfCluster(NS, 'bm-lab').map((m) => m.name)).toEqual([`${CP}-a`, `${CP}-b`, `${CP}-c`, 'bm-lab-workers-a', 'bm-lab-workers-b'])
    expect(facts.machinesOfCluster(NS, 'bm-lab')[0]).toEqual({
      kind: 'Machine', namespace: NS, name: `${CP}-a`, clusterName: 'bm-lab', version: 'v1.32.8', isControlPlane: true, deploymentName: undefined,
      owners: [{ kind: 'KubeadmControlPlane', name: CP }], isDeleting: false, phase: 'Running', nodeName: `${CP}-a`, infrastructureName: `${CP}-a`,
      ready: { status: 'True' }, nodeHealthy: { status: 'True' },
    })
    expect(facts.inventoryPool(NS, 'bm-lab-control-plane-pool')?.counters).toEqual({ available: 0, allocated: 3, preparing: 0, reprovisioning: 0, unavailable: 0, total: 3 })
    expect(facts.deployment('capi-system', 'capi-controller-manager')).toMatchObject({ generation: 3, observedGeneration: 3, replicas: 1, availableReplicas: 1 })
    expect(facts.machineInventory(NS, 'host-w-3')?.planState).toBe('Applied')
    await until('GET /version', () => v.managementVersion() !== undefined)
    expect(v.managementVersion()).toBe('v1.35.6')
  })

  it('follow watch events: a Machine going NotReady denies the control-plane upgrade, naming it', async () => {
    const { fake: f, view: v } = await startSynced()
    await until('GET /version', () => v.managementVersion() !== undefined)
    expect(evaluate(kcpUpgrade(), v, DEFAULT_POLICY).denied.map((d) => d.rule)).toEqual([])
    const notReady = structuredClone(readManifests([`${MOMENT}/machines.yaml`]).find((e) => (e.object.metadata as Obj).name === `${CP}-b`)?.object as Obj)
    ;((notReady.status as Obj).conditions as Obj[])[0] = { type: 'Ready', status: 'False', reason: 'NodeNotReady' }
    f.apply(notReady)
    await until('the event', () => v.lifecycle().machinesOfCluster(NS, 'bm-lab').find((m) => m.name === `${CP}-b`)?.ready?.status === 'False')
    const denied = evaluate(kcpUpgrade(), v, DEFAULT_POLICY).denied
    expect(denied.map((d) => d.rule)).toEqual(['control-plane-healthy'])
    expect(denied[0]?.message).toContain(`${CP}-b (Ready=False (NodeNotReady))`)
    f.delete('Machine', NS, `${CP}-b`)
    await until('the delete', () => v.lifecycle().machinesOfCluster(NS, 'bm-lab').every((m) => m.name !== `${CP}-b`))
  })

  it('relist after 410 Gone drops what was deleted while events were lost', async () => {
    const { fake: f, view: v } = await startSynced()
    f.deleteSilently('BaremetalMachine', NS, `${CP}-a`)
    f.applySilently(machine('added-silently', { role: 'worker', deployment: 'bm-lab-workers', cluster: 'bm-lab' }))
    expect(v.lifecycle().baremetalMachine(NS, `${CP}-a`)).toBeDefined()
    f.expireHistory('event')
    await until('the relist', () => v.lifecycle().baremetalMachine(NS, `${CP}-a`) === undefined && v.lifecycle().machinesOfCluster(NS, 'bm-lab').some((m) => m.name === 'added-silently'))
    // One named Deployment's relist replaces only that one.
    expect(v.lifecycle().deployment('capi-kubeadm-bootstrap-system', 'capi-kubeadm-bootstrap-controller-manager')).toBeDefined()
  })

  it('freshness: a dropped watch makes the lifecycle caches behind at once; decisions fail closed', async () => {
    const { fake: f, view: v } = await startSynced({ servedVersions: PROVIDERS })
    await until('every watch', () => f.openWatches('machines') === 1 && f.openWatches('machineinventorypools') === 1)
    expect(v.status().available).toBe(true)
    await f.stop()
    await until('the view to fall behind', () => !v.status().available)
    expect(v.status().reason).toMatch(/machines/)
    expect(v.status().reason?.length ?? 0).toBeLessThanOrEqual(300)
    expect(evaluate(kcpUpgrade(), v, DEFAULT_POLICY).allowed).toBe(false)
  })

  it('provider kinds not installed are "not present": synced, empty, and the rules warn', async () => {
    const { fake: f, view: v } = await startSynced({ absentResources: ['machineinventories'] })
    const facts = v.lifecycle()
    expect(v.readiness()).toEqual({ ready: true, missing: [] })
    expect(v.status().available).toBe(true)
    expect(facts.has('Machine')).toBe(true)
    expect(facts.has('BaremetalMachine')).toBe(false)
    expect(facts.has('MachineInventoryPool')).toBe(false)
    expect(facts.baremetalMachine(NS, `${CP}-a`)).toBeUndefined()
    // Nothing is listed or watched for a kind the cluster does not serve.
    expect(f.lists('baremetalmachines')).toEqual([])
    await until('GET /version', () => v.managementVersion() !== undefined)
    const d = evaluate(kcpUpgrade(), v, DEFAULT_POLICY)
    expect(d.allowed).toBe(true)
    expect(d.warnings.map((w) => w.rule)).toEqual(['pool-capacity'])
    expect(d.warnings[0]?.message).toContain('BaremetalMachineTemplate is not present')
  })

  it('a CAPI group without the machines resource: Machine not present', async () => {
    const { view: v } = await startSynced({ servedVersions: PROVIDERS, absentResources: ['machines'] })
    expect(v.lifecycle().has('Machine')).toBe(false)
    expect(v.lifecycle().has('BaremetalMachine')).toBe(true)
  })

  it('GET /version failing: management-version fails closed, saying why', async () => {
    const f = await startFake()
    f.gitVersion = undefined // HTTP 500 from the start
    const v = (view = await startInformerView({ kubeConfig: f.kubeConfig(), policy: DEFAULT_POLICY, backoff: FAST_BACKOFF, lifecycle: true }))
    expect(await v.waitForSync(5000)).toBe(true)
    await until('the /version failure', () => v.lifecycle().managementVersionProblem()?.startsWith('GET /version failed') === true)
    const d = evaluate(kcpUpgrade(), v, DEFAULT_POLICY)
    expect(d.denied.map((x) => x.rule)).toEqual(['management-version'])
    expect(d.denied[0]?.message).toContain("the management cluster's version is unknown (GET /version failed")
  })

  it('reads exactly the resources INFORMER_RESOURCES and LIFECYCLE_RESOURCES grant', async () => {
    const { fake: f } = await startSynced()
    const granted = [...INFORMER_RESOURCES, ...LIFECYCLE_RESOURCES]
    const read = new Set<string>()
    for (const r of f.requests) {
      const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)$/.exec(r.path)
      if (m === null) continue // discovery, /version
      const [, group = '', namespace, resource] = m
      const rules = granted.filter((g) => g.group === group && g.resource === resource && (!g.namespaced || g.namespace === namespace))
      expect(rules.length, `${r.path} is not covered`).toBeGreaterThan(0)
      for (const rule of rules) if (rule.resourceNames !== undefined) expect(rule.resourceNames.map((n) => `metadata.name=${n}`)).toContain(r.query.fieldSelector)
      read.add(`${group}/${namespace ?? ''}/${resource}`)
    }
    expect([...read].sort()).toEqual(granted.map((g) => `${g.group}/${g.namespaced ? (g.namespace ?? '') : ''}/${g.resource}`).sort())
  })

  it('listClusterState (one-shot CLI) reads them too, with the version', async () => {
    const server = await startFake()
    const v = await listClusterState({ kubeConfig: server.kubeConfig(), policy: DEFAULT_POLICY, lifecycle: true })
    expect(v.lifecycle().machinesOfCluster(NS, 'bm-lab')).toHaveLength(5)
    expect(v.managementVersion()).toBe('v1.35.6')
  })

  it('a 404 on list (CRD removed after discovery) is "not present", not an error', async () => {
    const server = await startFake()
    server.listNotFound.add('machineinventories')
    const v = await listClusterState({ kubeConfig: server.kubeConfig(), policy: DEFAULT_POLICY, lifecycle: true })
    expect(v.lifecycle().has('MachineInventory')).toBe(false)
    expect(v.lifecycle().has('MachineInventoryPool')).toBe(true)
    expect(v.status().available).toBe(true)
  })

  it('without lifecycle: true nothing changes (the four caches only)', async () => {
    const server = await startFake()
    view = await startInformerView({ kubeConfig: server.kubeConfig(), policy: DEFAULT_POLICY, backoff: FAST_BACKOFF })
    expect(await view.waitForSync(5000)).toBe(true)
    expect(view.lifecycle().isSupplied()).toBe(false)
    expect(server.lists('machines')).toEqual([])
  })
})
