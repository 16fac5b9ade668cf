/**
 * The live cluster-state view against a local fake of the Kubernetes list/watch API: it
 * converges on add/change/delete, relists after 410 Gone and dropped connections, reads only the
 * catalog ConfigMap, reports what has not synced, and goes unavailable (decisions fail closed)
 * while the API server is down for longer than the staleness limit.
 */
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import type { EngineRequest } from '../../src/engine/decision.js'
import { evaluate } from '../../src/engine/evaluate.js'
import { isUpgradeGuardError } from '../../src/errors.js'
import { DEFAULT_POLICY } from '../../src/policy/load.js'
import type { Policy } from '../../src/policy/types.js'
import { DEFAULT_BACKOFF, INFORMER_RESOURCES, listClusterState, startInformerView, type InformerView, type InformerViewOptions } from '../../src/state/informer-view.js'
import { FakeApiServer, type FakeOptions } from './fake-apiserver.js'

// --- fixtures --------------------------------------------------------------------------------

const NS = 'cpaas-system'
const CLUSTER = 'bm-workload'
const KCP_NAME = 'bm-workload-control-plane'

function policyWith(state: Partial<Policy['state']> = {}): Policy {
  return { ...DEFAULT_POLICY, state: { ...DEFAULT_POLICY.state, ...state } }
}

function catalogConfigMap(keys: readonly string[], name = 'elemental-image-catalog', namespace = NS): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace },
    data: Object.fromEntries(keys.map((k) => [k, `registry.example.com:11443/tkestack/baremetal-base-image:${k}`])),
  }
}

function clusterObject(name = CLUSTER, level: 'v1beta1' | 'v1beta2' = 'v1beta1'): Record<string, unknown> {
  return {
    apiVersion: `cluster.x-k8s.io/${level}`,
    kind: 'Cluster',
    metadata: { name, namespace: NS, annotations: { 'cpaas.io/registry-address': 'registry.example.com:11443' } },
    spec: { controlPlaneRef: { kind: 'KubeadmControlPlane', name: `${name}-control-plane` } },
  }
}

function kcpObject(version: string, level: 'v1beta1' | 'v1beta2' = 'v1beta1', cluster = CLUSTER): Record<string, unknown> {
  const infrastructureRef = { kind: 'BaremetalMachineTemplate', name: `${cluster}-control-plane-template` }
  const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0 } }
  return {
    apiVersion: `controlplane.cluster.x-k8s.io/${level}`,
    kind: 'KubeadmControlPlane',
    metadata: { name: `${cluster}-control-plane`, namespace: NS, labels: { 'cluster.x-k8s.io/cluster-name': cluster } },
    spec:
      level === 'v1beta1'
        ? { replicas: 3, version, rolloutStrategy: strategy, machineTemplate: { infrastructureRef } }
        : { replicas: 3, version, rollout: { strategy }, machineTemplate: { spec: { infrastructureRef } } },
    status: { version },
  }
}

function mdObject(name: string, version: string, level: 'v1beta1' | 'v1beta2' = 'v1beta1', cluster = CLUSTER): Record<string, unknown> {
  const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } }
  return {
    apiVersion: `cluster.x-k8s.io/${level}`,
    kind: 'MachineDeployment',
    metadata: { name, namespace: NS, labels: { 'cluster.x-k8s.io/cluster-name': cluster } },
    spec: {
      clusterName: cluster,
      replicas: 2,
      ...(level === 'v1beta1' ? { strategy } : { rollout: { strategy } }),
      template: { spec: { clusterName: cluster, version, infrastructureRef: { kind: 'BaremetalMachineTemplate', name: `${name}-template` } } },
    },
  }
}

/** `kubectl edit` of an MD that bumps spec.template.spec.version. */
function mdVersionBump(name: string, from: string, to: string): EngineRequest {
  return {
    operation: 'UPDATE',
    kind: { group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineDeployment' },
    resource: 'machinedeployments',
    namespace: NS,
    name,
    oldObject: mdObject(name, from),
    object: mdObject(name, to),
    userInfo: { username: 'alice', groups: ['system:authenticated'] },
  }
}

/** Polls until cond() holds; fails the test (never hangs) after timeoutMs. */
async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

// --- harness ---------------------------------------------------------------------------------

const FAST_BACKOFF = { initialMs: 20, maxMs: 200 }
let fake: FakeApiServer | undefined
let view: InformerView | undefined

afterEach(async () => {
  await view?.stop()
  await fake?.close()
  view = undefined
  fake = undefined
})

async function startFake(options: FakeOptions = {}, seed: readonly Record<string, unknown>[] = defaultSeed()): Promise<FakeApiServer> {
  fake = await FakeApiServer.start(options)
  for (const o of seed) fake.apply(o)
  return fake
}

function defaultSeed(): Record<string, unknown>[] {
  return [catalogConfigMap(['v1.32.8', 'v1.33.7-2']), clusterObject(), kcpObject('v1.33.7-2'), mdObject('workers', 'v1.32.8'), mdObject('storage', 'v1.32.8')]
}

async function startView(server: FakeApiServer, options: Partial<InformerViewOptions> = {}): Promise<InformerView> {
  view = await startInformerView({ kubeConfig: server.kubeConfig(), policy: policyWith(), backoff: FAST_BACKOFF, ...options })
  return view
}

async function startSynced(options: Partial<InformerViewOptions> = {}, fakeOptions: FakeOptions = {}): Promise<{ fake: FakeApiServer; view: InformerView }> {
  const server = await startFake(fakeOptions)
  const v = await startView(server, options)
  expect(await v.waitForSync(5000)).toBe(true)
  await until('all four watches to connect', () => server.openWatches() === 4)
  return { fake: server, view: v }
}

const versionOf = (v: InformerView, md: string): unknown => v.machineDeployment(NS, md)?.version

// --- tests -----------------------------------------------------------------------------------

describe('startInformerView', () => {
  it('syncs all four caches from lists', async () => {
    const { view: v } = await startSynced()
    expect(v.readiness()).toEqual({ ready: true, missing: [] })
    expect(v.status().available).toBe(true)
    expect(v.counts()).toEqual({ clusters: 1, controlPlanes: 1, machineDeployments: 2, catalogEntries: 2 })
    expect(v.controlPlaneOfCluster(NS, CLUSTER)?.version).toBe('v1.33.7-2')
    expect(v.machineDeploymentsOfCluster(NS, CLUSTER).map((m) => m.name)).toEqual(['storage', 'workers'])
    expect(v.catalog()?.entries.has('v1.33.7-2')).toBe(true)
    await until('every watch to count as connected', () => v.ageSeconds() === 0)
  })

  it('converges when objects are added, changed and deleted', async () => {
    const { fake: f, view: v } = await startSynced()
    f.apply(mdObject('gpu', 'v1.32.8'))
    await until('the added MD', () => v.machineDeployment(NS, 'gpu') !== undefined)
    f.apply(mdObject('gpu', 'v1.33.7-2'))
    await until('the changed MD', () => versionOf(v, 'gpu') === 'v1.33.7-2')
    expect(v.usersOfVersion('v1.33.7-2').map((o) => o.name).sort()).toEqual(['bm-workload-control-plane', 'gpu'])
    f.delete('MachineDeployment', NS, 'gpu')
    await until('the deleted MD', () => v.machineDeployment(NS, 'gpu') === undefined)
    expect(v.usersOfVersion('v1.33.7-2').map((o) => o.name)).toEqual(['bm-workload-control-plane'])

    f.apply(kcpObject('v1.34.5'))
    await until('the changed KCP', () => v.controlPlane(NS, KCP_NAME)?.version === 'v1.34.5')
    f.apply({ ...clusterObject(), metadata: { name: CLUSTER, namespace: NS, annotations: { team: 'infra' } } })
    await until('the changed Cluster', () => v.cluster(NS, CLUSTER)?.annotations.team === 'infra')
    f.apply(catalogConfigMap(['v1.32.8', 'v1.33.7-2', 'v1.34.5']))
    await until('the changed catalog', () => v.catalog()?.entries.has('v1.34.5') === true)
    f.delete('Cluster', NS, CLUSTER)
    await until('the deleted Cluster', () => v.cluster(NS, CLUSTER) === undefined)
  })

  it('reads only the catalog ConfigMap, by field selector, in its namespace', async () => {
    const { fake: f, view: v } = await startSynced()
    f.apply(catalogConfigMap(['v9.9.9'], 'some-other-config'))
    f.apply(catalogConfigMap(['v9.9.9'], 'elemental-image-catalog', 'default'))
    f.apply(mdObject('after', 'v1.32.8'))
    await until('a later event', () => v.machineDeployment(NS, 'after') !== undefined)
    expect(v.catalog()?.entries.has('v9.9.9')).toBe(false)

    const configMapRequests = f.requests.filter((r) => r.path.endsWith('/configmaps'))
    expect(configMapRequests.length).toBeGreaterThanOrEqual(2) // a list and a watch
    for (const r of configMapRequests) {
      expect(r.path).toBe('/api/v1/namespaces/cpaas-system/configmaps')
      expect(r.url).toContain('fieldSelector=metadata.name%3Delemental-image-catalog')
    }
    expect(f.requests.some((r) => r.path === '/api/v1/configmaps')).toBe(false)
    expect(f.lists('configmaps').length).toBe(1)
    expect(f.watches('configmaps').length).toBeGreaterThanOrEqual(1)
  })

  it('asks for bookmarks and resumes a watch from the bookmark resourceVersion', async () => {
    const { fake: f, view: v } = await startSynced()
    for (const w of f.requests.filter((r) => r.isWatch)) expect(w.query.allowWatchBookmarks).toBe('true')
    const listedRv = Number(f.resourceVersion)
    f.applySilently(mdObject('unseen', 'v1.32.8')) // moves the resourceVersion without an event
    f.bookmark()
    const bookmarkRv = Number(f.resourceVersion)
    expect(bookmarkRv).toBeGreaterThan(listedRv)
    await sleep(50) // let the bookmark arrive
    const before = f.watches('machinedeployments').length
    f.endWatches()
    await until('a re-watch', () => f.watches('machinedeployments').length > before)
    expect(Number(f.watches('machinedeployments').at(-1)?.query.resourceVersion)).toBe(bookmarkRv)
    expect(f.lists('machinedeployments').length).toBe(1) // a clean end re-watches; it does not relist
    // The re-watch request is seen by the fake a moment before its response reports it connected.
    await until('the resumed watch to report connected', () => v.status().available, 1000)
    expect(f.lists('machinedeployments').length).toBe(1)
  })

  it.each([
    { mode: 'event' as const, how: 'an ERROR event with code 410' },
    { mode: 'http' as const, how: 'HTTP 410 on the re-watch' },
  ])('relists after 410 Gone ($how) and drops objects deleted meanwhile', async ({ mode }) => {
    const { fake: f, view: v } = await startSynced()
    expect(f.lists('machinedeployments').length).toBe(1)
    // Changes the watch never reports: only the relist can show them.
    f.deleteSilently('MachineDeployment', NS, 'storage')
    f.applySilently(mdObject('late', 'v1.32.8'))
    f.applySilently(mdObject('workers', 'v1.33.7-2'))
    f.expireHistory(mode)
    await until('a relist of machinedeployments', () => f.lists('machinedeployments').length >= 2)
    await until('the relisted objects', () => v.machineDeployment(NS, 'late') !== undefined && v.machineDeployment(NS, 'storage') === undefined)
    expect(versionOf(v, 'workers')).toBe('v1.33.7-2')
    expect(v.machineDeploymentsOfCluster(NS, CLUSTER).map((m) => m.name)).toEqual(['late', 'workers'])
    await until('the watches to reconnect', () => v.status().available && f.openWatches() === 4)
    f.apply(mdObject('after-relist', 'v1.32.8'))
    await until('events after the relist', () => v.machineDeployment(NS, 'after-relist') !== undefined)
  })

  it('relists after a dropped connection', async () => {
    const { fake: f, view: v } = await startSynced()
    f.dropConnections()
    f.deleteSilently('MachineDeployment', NS, 'workers')
    await until('a relist', () => f.lists('machinedeployments').length >= 2)
    await until('the deletion to show', () => v.machineDeployment(NS, 'workers') === undefined)
    await until('the watches to reconnect', () => f.openWatches() === 4)
    f.apply(mdObject('new', 'v1.32.8'))
    await until('a later event', () => v.machineDeployment(NS, 'new') !== undefined)
  })

  it('lists which caches have not synced, and why', async () => {
    const f = await startFake({ servedVersions: { 'controlplane.cluster.x-k8s.io': [] } })
    await f.stop()
    const v = await startView(f)
    expect(v.readiness()).toEqual({ ready: false, missing: ['catalog', 'clusters', 'kubeadmcontrolplanes', 'machinedeployments'] })
    expect(v.status()).toMatchObject({ available: false })
    expect(v.status().reason).toMatch(/^caches catalog, clusters, kubeadmcontrolplanes, machinedeployments not synced: /)
    expect(v.ageSeconds()).toBeUndefined()
    expect(evaluate(mdVersionBump('workers', 'v1.32.8', 'v1.33.7-2'), v, policyWith()).allowed).toBe(false)

    await f.restart()
    await until('three caches to sync', () => v.readiness().missing.length === 1)
    expect(v.readiness()).toEqual({ ready: false, missing: ['kubeadmcontrolplanes'] })
    expect(v.status().reason).toMatch(/^cache kubeadmcontrolplanes not synced: (relisting now|API group controlplane\.cluster\.x-k8s\.io is not served \(are the Cluster API CRDs installed\?\); retrying)/)
    expect(await v.waitForSync(100)).toBe(false)
  })

  it('the moment a watch drops the view is behind and decisions fail closed with one short reason; it recovers by itself', async () => {
    const policy = policyWith()
    const { fake: f, view: v } = await startSynced({ policy })
    const request = mdVersionBump('workers', 'v1.32.8', 'v1.33.7-2')
    expect(evaluate(request, v, policy)).toMatchObject({ allowed: true, denied: [] })

    await f.stop()
    await until('the view to be behind', () => !v.status().available, 2000)
    expect(v.status().reason).toMatch(/^caches? [a-z, ]+ behind since \d{4}-\d\d-\d\dT[\d:]+Z: /)
    expect(v.readiness().ready).toBe(true) // synced once; being behind is status(), not readiness
    // The data is still there, but a rule that needs it must not trust it.
    expect(v.machineDeployment(NS, 'workers')).toBeDefined()
    const decision = evaluate(request, v, policy)
    expect(decision.allowed).toBe(false)
    // One denial for all the rules that could not run, not one copy of the reason per rule.
    expect(decision.denied).toHaveLength(1)
    const [denial] = decision.denied
    expect(denial?.message).toMatch(/^cannot check [a-z-]+(, [a-z-]+)+: the cluster-state view is unavailable \(caches? [a-z, ]+ behind since [^)]+ECONNREFUSED/)
    expect(denial?.message.length).toBeLessThanOrEqual(420)
    // Failing open is the policy's choice, not the view's.
    expect(evaluate(request, v, policyWith({ onUnavailable: 'allow' })).allowed).toBe(true)

    await f.restart()
    await until('the view to recover', () => v.status().available, 5000)
    expect(evaluate(request, v, policy)).toMatchObject({ allowed: true, denied: [] })
  })

  it('API server restart: denied with the current reason until the relist; usable again within 2 s of it answering', { timeout: 20_000 }, async () => {
    const policy = policyWith()
    // The default backoff, as the server runs it.
    const { fake: f, view: v } = await startSynced({ policy, backoff: DEFAULT_BACKOFF })
    const request = mdVersionBump('workers', 'v1.32.8', 'v1.33.7-2')
    await f.stop()
    await until('the first refused watch', () => !v.status().available, 2000)
    // Down for a while: the caches back off (up to the 1 s cap while the server does not answer).
    const reasons = new Set<string>()
    const downUntil = Date.now() + 3000
    while (Date.now() < downUntil) {
      const d = evaluate(request, v, policy)
      if (v.status().available) throw new Error('the view claimed to be current while the API server was down')
      expect(d.allowed).toBe(false)
      reasons.add(d.denied[0]?.message ?? '')
      await sleep(20)
    }
    expect([...reasons].some((r) => r.includes('ECONNREFUSED'))).toBe(true)
    // Every reason names what is going on: the refused or dropped connection, or the attempt in flight.
    for (const r of reasons) expect(r).toMatch(/behind since \S+: (.*(ECONNREFUSED|UND_ERR_SOCKET|terminated).*; retrying|relisting now|watch ended, resuming)/)
    const backAt = Date.now()
    await f.restart()
    let sawRelisting = false
    while (!v.status().available) {
      const reason = v.status().reason ?? ''
      if (reason.includes('relisting now')) sawRelisting = true
      expect(evaluate(request, v, policy).allowed).toBe(false)
      if (Date.now() - backAt > 10_000) throw new Error('no recovery within 10 s')
      await sleep(5)
    }
    const recoveryMs = Date.now() - backAt
    console.info(`recovery after the API server answered again: ${recoveryMs} ms (sawRelisting=${sawRelisting})`)
    expect(recoveryMs).toBeLessThanOrEqual(2000)
    expect(evaluate(request, v, policy)).toMatchObject({ allowed: true, denied: [] })
    // Each cache listed again (the outage may have hidden changes).
    for (const r of ['configmaps', 'clusters', 'kubeadmcontrolplanes', 'machinedeployments']) expect(f.lists(r).length).toBeGreaterThanOrEqual(2)
  })

  it('started before the API server: ready within 2 s of it answering, and the reason follows what happens now', { timeout: 20_000 }, async () => {
    const f = await startFake()
    await f.stop()
    const v = await startView(f, { backoff: DEFAULT_BACKOFF })
    await until('a refused attempt', () => (v.status().reason ?? '').includes('ECONNREFUSED'))
    await sleep(2500) // long enough for the backoff to reach its cap
    const backAt = Date.now()
    await f.restart()
    expect(await v.waitForSync(10_000)).toBe(true)
    const readyMs = Date.now() - backAt
    console.info(`started before the API server: ready ${readyMs} ms after it answered`)
    expect(readyMs).toBeLessThanOrEqual(2000)
    expect(v.status()).toMatchObject({ available: true })
  })

  it('etcd restore (new resourceVersions, 410 on the old ones, different objects): no decision is ever made on the old objects', { timeout: 20_000 }, async () => {
    const policy = policyWith()
    const { fake: f, view: v } = await startSynced({ policy, backoff: DEFAULT_BACKOFF })
    const request = mdVersionBump('workers', 'v1.32.8', 'v1.33.7-2')
    // Old objects: control plane at v1.33.7-2, so the bump is allowed.
    expect(evaluate(request, v, policy).allowed).toBe(true)
    await f.stop()
    await until('the view to be behind', () => !v.status().available, 2000)
    // Restored objects: the control plane runs v1.32.8, so the same bump must be denied.
    f.resetStore([catalogConfigMap(['v1.32.8', 'v1.33.7-2']), clusterObject(), kcpObject('v1.32.8'), mdObject('workers', 'v1.32.8')])
    const oldRv = f.watches('machinedeployments').at(-1)?.query.resourceVersion
    await f.restart()
    const verdicts: string[] = []
    const started = Date.now()
    for (;;) {
      const d = evaluate(request, v, policy)
      // Never allowed: before the relist the view is behind, after it the new objects deny.
      expect(d.allowed).toBe(false)
      const rules = [...new Set(d.denied.map((x) => x.rule))].join(',')
      verdicts.push(v.status().available ? rules : 'behind')
      if (v.status().available) break
      if (Date.now() - started > 10_000) throw new Error('no recovery within 10 s')
      await sleep(2)
    }
    expect(verdicts.at(-1)).toBe('workers-follow-control-plane')
    expect(v.controlPlane(NS, KCP_NAME)?.version).toBe('v1.32.8')
    expect(v.machineDeployment(NS, 'storage')).toBeUndefined()
    // The watches do not resume from a resourceVersion of the old store.
    await until('the new watches', () => f.openWatches() === 4)
    const rvs = f.watches('machinedeployments').map((w) => w.query.resourceVersion)
    expect(Number(rvs.at(-1))).toBeGreaterThan(Number(oldRv))
    console.info(`etcd restore: ${verdicts.length} decisions while recovering, ${verdicts.filter((x) => x === 'behind').length} denied as behind, none allowed on the old objects`)
  })

  it('etcd restore under a running API server (its watches answer 410): relists, and never decides on the old objects meanwhile', { timeout: 20_000 }, async () => {
    const policy = policyWith()
    const { fake: f, view: v } = await startSynced({ policy, backoff: DEFAULT_BACKOFF })
    const request = mdVersionBump('workers', 'v1.32.8', 'v1.33.7-2')
    expect(evaluate(request, v, policy).allowed).toBe(true)
    f.resetStore([catalogConfigMap(['v1.32.8', 'v1.33.7-2']), clusterObject(), kcpObject('v1.32.8'), mdObject('workers', 'v1.32.8')])
    f.expireHistory('event')
    const started = Date.now()
    // From the moment the client reads the 410 (the first sign it has), the view is behind.
    await until('the 410 to arrive', () => !v.status().available || v.controlPlane(NS, KCP_NAME)?.version === 'v1.32.8', 5000)
    let behind = 0
    for (;;) {
      expect(evaluate(request, v, policy).allowed).toBe(false)
      if (v.status().available) break
      behind++
      if (Date.now() - started > 10_000) throw new Error('no recovery within 10 s')
      await sleep(2)
    }
    expect([...new Set(evaluate(request, v, policy).denied.map((d) => d.rule))]).toEqual(['workers-follow-control-plane'])
    expect(v.machineDeployment(NS, 'storage')).toBeUndefined()
    console.info(`etcd restore under a running server: recovered in ${Date.now() - started} ms, ${behind} checks denied as behind`)
  })

  it('treats a missing catalog ConfigMap as a state, not a failure', async () => {
    const f = await startFake({}, [clusterObject(), kcpObject('v1.33.7-2'), mdObject('workers', 'v1.32.8')])
    const v = await startView(f)
    expect(await v.waitForSync(5000)).toBe(true)
    expect(v.catalog()).toBeUndefined()
    expect(v.status().available).toBe(true)
    const decision = evaluate(mdVersionBump('workers', 'v1.32.8', 'v1.33.7-2'), v, policyWith())
    expect(decision.allowed).toBe(false)
    expect(decision.denied.find((d) => d.rule === 'catalog-key')?.message).toContain('cpaas-system/elemental-image-catalog does not exist')

    f.apply(catalogConfigMap(['v1.33.7-2']))
    await until('the catalog to appear', () => v.catalog() !== undefined)
    f.delete('ConfigMap', NS, 'elemental-image-catalog')
    await until('the catalog to go', () => v.catalog() === undefined)
    expect(v.status().available).toBe(true)
  })

  it('watches v1beta2 when the cluster serves it', async () => {
    const served = { 'cluster.x-k8s.io': ['v1beta1', 'v1beta2'], 'controlplane.cluster.x-k8s.io': ['v1beta1', 'v1beta2'] }
    const f = await startFake({ servedVersions: served }, [clusterObject(CLUSTER, 'v1beta2'), kcpObject('v1.33.7-2', 'v1beta2'), mdObject('workers', 'v1.32.8', 'v1beta2')])
    const v = await startView(f)
    expect(await v.waitForSync(5000)).toBe(true)
    for (const r of f.requests.filter((q) => q.path.includes('cluster.x-k8s.io/v1'))) expect(r.path).toContain('/v1beta2/')
    expect(v.machineDeployment(NS, 'workers')).toMatchObject({ level: 'v1beta2', maxSurge: 0, maxUnavailable: 1, version: 'v1.32.8' })
    expect(v.controlPlaneOfCluster(NS, CLUSTER)).toMatchObject({ level: 'v1beta2', maxSurge: 0, infrastructureKind: 'BaremetalMachineTemplate' })
  })

  it('watches v1beta1 when only v1beta1 is served', async () => {
    const { fake: f } = await startSynced()
    const capi = f.requests.filter((q) => q.path.startsWith('/apis/') && q.path.split('/').length > 4)
    expect(capi.length).toBeGreaterThan(0)
    for (const r of capi) expect(r.path).toMatch(/^\/apis\/[a-z0-9.-]+\/v1beta1\//)
  })

  it('reads exactly the resources INFORMER_RESOURCES grants', async () => {
    const { fake: f } = await startSynced()
    const read = new Set<string>()
    for (const r of f.requests) {
      const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)(?:\/namespaces\/([^/]+))?\/([^/]+)$/.exec(r.path)
      if (m === null) continue // discovery
      const [, group = '', namespace, resource] = m
      const rule = INFORMER_RESOURCES.find((g) => g.group === group && g.resource === resource)
      expect(rule, `${r.path} is not covered`).toBeDefined()
      if (rule?.namespaced === true) expect(namespace).toBe(rule.namespace)
      if (rule?.resourceNames !== undefined) expect(rule.resourceNames.map((n) => `metadata.name=${n}`)).toContain(r.query.fieldSelector)
      expect(rule?.verbs).toContain(r.isWatch ? 'watch' : 'list')
      read.add(`${group}/${resource}`)
    }
    expect([...read].sort()).toEqual(INFORMER_RESOURCES.map((g) => `${g.group}/${g.resource}`).sort())
  })

  it('stop() closes every watch and makes no more requests', async () => {
    const { fake: f, view: v } = await startSynced()
    await v.stop()
    await until('the watches to close', () => f.openWatches() === 0)
    const count = f.requests.length
    await sleep(300)
    expect(f.requests.length).toBe(count)
    expect(v.status().available).toBe(false) // stopped: nothing keeps it current any more
  })

  it('stop() during an outage cancels the pending relist', async () => {
    const f = await startFake()
    await f.stop()
    const v = await startView(f)
    await until('a failed attempt', () => (v.status().reason ?? '').includes('ECONNREFUSED'))
    await v.stop()
    await f.restart()
    const count = f.requests.length
    await sleep(FAST_BACKOFF.maxMs * 2)
    expect(f.requests.length).toBe(count)
  })

  it('stop() aborts a list that the API server never answers', async () => {
    const f = await startFake()
    f.stallLists = true
    const v = await startView(f)
    await until('four stalled lists', () => f.requests.filter((r) => !r.isWatch && r.path.split('/').length > 4).length === 4)
    expect(v.readiness().ready).toBe(false)
    await v.stop()
    await until('the client to give up the stalled lists', () => f.closedStalls === 4)
  })

  it('logs progress through pino but never the token', async () => {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString())
        cb()
      },
    })
    const logger = pino({ level: 'debug' }, sink)
    const { fake: f } = await startSynced({ logger })
    f.dropConnections()
    await until('a relist', () => f.lists('clusters').length >= 2)
    await until('the relist to be logged', () => lines.some((l) => l.includes('cache relisted')))
    const text = lines.join('')
    expect(text).toContain('cache synced')
    expect(text).toContain('list/watch failed; relisting after backoff')
    expect(f.requests.every((r) => r.authorization === `Bearer ${f.token}`)).toBe(true)
    expect(text).not.toContain(f.token)
  })
})

describe('listClusterState', () => {
  it('lists once, without watching', async () => {
    const f = await startFake()
    const state = await listClusterState({ kubeConfig: f.kubeConfig(), policy: policyWith() })
    expect(state.counts()).toEqual({ clusters: 1, controlPlanes: 1, machineDeployments: 2, catalogEntries: 2 })
    expect(state.status().available).toBe(true)
    expect(f.requests.some((r) => r.isWatch)).toBe(false)
    expect(f.lists('configmaps').every((r) => r.url.includes('fieldSelector=metadata.name%3Delemental-image-catalog'))).toBe(true)
  })

  it('fails with UG_ERR_STATE_READ naming the source when the server is unreachable', async () => {
    const f = await startFake()
    await f.stop()
    const err: unknown = await listClusterState({ kubeConfig: f.kubeConfig(), policy: policyWith() }).catch((e: unknown) => e)
    expect(isUpgradeGuardError(err) && err.code).toBe('UG_ERR_STATE_READ')
    expect(String((err as Error).message)).toMatch(/^cannot list (catalog|clusters|kubeadmcontrolplanes|machinedeployments): /)
  })
})
