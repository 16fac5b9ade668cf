/**
 * Confirmation reads (server/confirm) over real HTTPS, with the live caches against the local
 * fake API server: the fake holds back watch events (a watch that lags a back-to-back write) while
 * its lists already show the truth. A destructive catalog edit is judged against a consistent
 * read, not the stale cache; a catalog-key miss is re-checked once against a fresh catalog.
 * Unit tests of the Confirmer cover the failure paths without any timing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { reviewText, type ReviewOutcome } from '../../src/admission/review.js'
import { silentLogger } from '../../src/log.js'
import { DEFAULT_POLICY } from '../../src/policy/load.js'
import { Confirmer, overlayView, type FreshReader } from '../../src/server/confirm.js'
import { startPolicySource, type PolicySource } from '../../src/server/policy-source.js'
import { startLiveStateSource, type StateSource } from '../../src/server/state-source.js'
import type { FreshRead } from '../../src/state/informer-view.js'
import { catalog, cluster, kcp, KCP_NAME, md, NS, view, type Obj } from '../helpers/objects.js'
import { FakeApiServer } from '../state/fake-apiserver.js'
import { DEFAULT_POLICY_PATH, deniedRules, parseAnswer, startTestServer, waitFor, type TestServer } from './helpers.js'

const KEYS = ['v1.33.7-2', 'v1.34.5-3']
const K = 'v1.34.5-3'
const ADMIN = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] }

let uidCounter = 0
/** An AdmissionReview as the API server sends it for /validate. */
function admissionReview(operation: 'CREATE' | 'UPDATE' | 'DELETE', oldObject: Obj | null, object: Obj | null): string {
  const subject = (object ?? oldObject) as Obj & { apiVersion: string; kind: string; metadata: { name: string; namespace: string } }
  const [group, version] = subject.apiVersion.includes('/') ? subject.apiVersion.split('/') : ['', subject.apiVersion]
  const resource = { ConfigMap: 'configmaps', KubeadmControlPlane: 'kubeadmcontrolplanes', MachineDeployment: 'machinedeployments' }[subject.kind] ?? 'unknown'
  const kind = { group, version, kind: subject.kind }
  const res = { group, version, resource }
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `confirm-${++uidCounter}`,
      kind,
      resource: res,
      requestKind: kind,
      requestResource: res,
      name: subject.metadata.name,
      namespace: subject.metadata.namespace,
      operation,
      userInfo: ADMIN,
      object,
      oldObject,
      dryRun: false,
    },
  })
}

const running = kcp({ version: 'v1.33.7-2', statusVersion: 'v1.33.7-2' })
const seed = (): Obj[] => [catalog(KEYS), cluster(), running, md({ version: 'v1.33.7-2' })]

describe('live caches behind a lagging watch (HTTPS, fake API server)', () => {
  let dir: string
  let fake: FakeApiServer
  let policy: PolicySource
  let state: StateSource
  let server: TestServer

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ug-confirm-'))
    // No lifecycle kinds: the preflight rules only warn "not present", so catalog-key alone denies.
    fake = await FakeApiServer.start({ absentResources: ['machines', 'deployments'] })
    for (const o of seed()) fake.apply(o)
    const kubeconfig = join(dir, 'kubeconfig')
    writeFileSync(
      kubeconfig,
      fake.kubeconfigYaml(),
    )
    policy = startPolicySource({ file: DEFAULT_POLICY_PATH, logger: silentLogger() })
    state = await startLiveStateSource({ kubeconfig, policy, logger: silentLogger() })
    server = await startTestServer({ policy, state })
    await waitFor(async () => (await server.get('/readyz')).status === 200, 10_000, 'readiness')
  })

  afterAll(async () => {
    await server?.close()
    await state?.close()
    policy?.close()
    await fake?.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  afterEach(async () => {
    // Back to the seed, with every event delivered.
    for (const r of ['configmaps', 'kubeadmcontrolplanes', 'machinedeployments', 'clusters']) fake.releaseEvents(r)
    for (const o of seed()) fake.apply(o)
    await waitFor(() => state.view().controlPlane(NS, KCP_NAME)?.version === 'v1.33.7-2' && state.view().catalog()?.entries.size === KEYS.length && state.view().cluster(NS, 'bm-workload')?.annotations['cpaas.io/registry-address'] !== undefined, 5000, 'the seed')
  })

  const cachedVerdict = (text: string): ReviewOutcome => reviewText(text, 'validate', { policy: policy.current(), view: state.view() })
  const allowedOf = (o: ReviewOutcome): boolean | undefined => (o.kind === 'response' ? o.body.response.allowed : undefined)
  const lists = (resource: string): number => fake.lists(resource).length

  it('race: the KCP moved to K, its watch event is late, a catalog edit removing K arrives first → denied by the consistent read', async () => {
    fake.holdEvents('kubeadmcontrolplanes')
    fake.apply(kcp({ version: K, statusVersion: 'v1.33.7-2' }))
    const removeK = admissionReview('UPDATE', catalog(KEYS), catalog(['v1.33.7-2']))
    // The cache has not seen the move: on its own it would allow the edit.
    expect(state.view().usersOfVersion(K)).toEqual([])
    expect(allowedOf(cachedVerdict(removeK))).toBe(true)

    const before = { kcps: lists('kubeadmcontrolplanes'), mds: lists('machinedeployments') }
    const answer = parseAnswer(await server.post('/validate', removeK))
    expect(answer.response.allowed).toBe(false)
    expect(deniedRules(answer)).toEqual(['catalog-in-use'])
    expect(answer.response.status?.message).toContain(`cannot remove key ${K}: it is used by KubeadmControlPlane ${NS}/${KCP_NAME}`)
    // One consistent list of each (no resourceVersion: a quorum read from etcd).
    expect(lists('kubeadmcontrolplanes') - before.kcps).toBe(1)
    expect(lists('machinedeployments') - before.mds).toBe(1)
    for (const r of [...fake.lists('kubeadmcontrolplanes'), ...fake.lists('machinedeployments')].slice(-2)) expect(r.query.resourceVersion).toBeUndefined()
  })

  it('race: deleting the catalog while the cache has not yet seen the KCP that uses it → denied', async () => {
    fake.delete('KubeadmControlPlane', NS, KCP_NAME)
    fake.delete('MachineDeployment', NS, 'bm-workload-workers')
    await waitFor(() => state.view().guardedObjects().length === 0, 5000, 'the deletes')
    // A KCP is created; its watch event is late. The cache says "nothing uses the catalog".
    fake.holdEvents('kubeadmcontrolplanes')
    fake.apply(running)
    const del = admissionReview('DELETE', catalog(KEYS), null)
    expect(allowedOf(cachedVerdict(del))).toBe(true)
    const answer = parseAnswer(await server.post('/validate', del))
    expect(answer.response.allowed).toBe(false)
    expect(answer.response.status?.message).toContain('cannot delete the catalog while bare-metal objects resolve images from it')
  })

  it('add a key, then use it: the catalog event is late, the KCP edit to the new key is allowed after one fresh GET', async () => {
    fake.holdEvents('configmaps')
    fake.apply(catalog([...KEYS, 'v1.34.5']))
    const bump = admissionReview('UPDATE', running, kcp({ version: 'v1.34.5', statusVersion: 'v1.33.7-2' }))
    const cached = cachedVerdict(bump)
    expect(allowedOf(cached)).toBe(false)
    expect(cached.kind === 'response' && cached.decision?.denied.map((v) => v.rule)).toEqual(['catalog-key'])
    const before = lists('configmaps')
    const answer = parseAnswer(await server.post('/validate', bump))
    expect(answer.response.allowed).toBe(true)
    expect(lists('configmaps') - before).toBe(1)
  })

  it('a key that is really missing stays denied (the fresh GET agrees)', async () => {
    const bump = admissionReview('UPDATE', running, kcp({ version: 'v1.34.9', statusVersion: 'v1.33.7-2' }))
    const answer = parseAnswer(await server.post('/validate', bump))
    expect(answer.response.allowed).toBe(false)
    expect(deniedRules(answer)).toEqual(['catalog-key'])
  })

  it('race: the Cluster lost cpaas.io/registry-address, its watch event is late, a KCP bump arrives → denied by the consistent read of the Clusters', async () => {
    fake.holdEvents('clusters')
    fake.apply(cluster({ annotations: {} }))
    const bump = admissionReview('UPDATE', running, kcp({ version: K, statusVersion: 'v1.33.7-2' }))
    // The cache still has the annotation: on its own it would allow the bump.
    expect(allowedOf(cachedVerdict(bump))).toBe(true)
    const before = lists('clusters')
    const answer = parseAnswer(await server.post('/validate', bump))
    expect(answer.response.allowed).toBe(false)
    expect(deniedRules(answer)).toEqual(['registry-address'])
    expect(lists('clusters') - before).toBe(1)
    expect(fake.lists('clusters').at(-1)?.query.resourceVersion).toBeUndefined()
  })

  it('an allowed bump with the annotation in place: one Cluster list, still allowed', async () => {
    const before = lists('clusters')
    const answer = parseAnswer(await server.post('/validate', admissionReview('UPDATE', running, kcp({ version: K, statusVersion: 'v1.33.7-2' }))))
    expect(answer.response.allowed).toBe(true)
    expect(lists('clusters') - before).toBe(1)
  })

  it('no read for anything else: an allowed KCP edit, a denial that is not only catalog-key, a catalog edit that only adds keys', async () => {
    const before = { cm: lists('configmaps'), kcps: lists('kubeadmcontrolplanes'), clusters: lists('clusters') }
    expect(parseAnswer(await server.post('/validate', admissionReview('UPDATE', running, kcp({ version: 'v1.33.7-2', statusVersion: 'v1.33.7-2', replicas: 5 })))).response.allowed).toBe(true)
    const skip = parseAnswer(await server.post('/validate', admissionReview('UPDATE', running, kcp({ version: 'v1.35.6', statusVersion: 'v1.33.7-2' }))))
    expect(deniedRules(skip)).toContain('control-plane-minor-step')
    expect(parseAnswer(await server.post('/validate', admissionReview('UPDATE', catalog(KEYS), catalog([...KEYS, 'v1.35.6'])))).response.allowed).toBe(true)
    expect({ cm: lists('configmaps'), kcps: lists('kubeadmcontrolplanes'), clusters: lists('clusters') }).toEqual(before)
  })
})

describe('Confirmer (unit)', () => {
  const world = view(seed())
  const deps = { policy: DEFAULT_POLICY, view: world }
  const response = (text: string): Extract<ReviewOutcome, { kind: 'response' }> => {
    const o = reviewText(text, 'validate', deps)
    if (o.kind !== 'response') throw new Error('expected a response')
    return o
  }
  const failing: FreshReader = { readFresh: async () => Promise.reject(new Error('no answer within 3000 ms')) }

  it('a destructive edit whose consistent read fails is denied, saying why (fail closed)', async () => {
    const text = admissionReview('UPDATE', catalog(KEYS), catalog(['v1.33.7-2']))
    expect(response(text).body.response.allowed).toBe(true)
    const result = await new Confirmer({ reader: failing, logger: silentLogger() }).confirm(response(text), text, 'validate', deps)
    expect(result.confirmation).toBe('consistent-read-failed')
    expect(result.outcome.body.response.allowed).toBe(false)
    expect(result.outcome.body.response.status?.message).toMatch(/\[catalog-in-use\].*could not confirm with a consistent read of the KCPs and MDs: .*no answer within 3000 ms/)
  })

  it('... unless the policy fails open on purpose (state.onUnavailable: allow)', async () => {
    const text = admissionReview('DELETE', catalog(KEYS), null)
    const open = { ...deps, policy: { ...DEFAULT_POLICY, state: { ...DEFAULT_POLICY.state, onUnavailable: 'allow' as const } }, view: view([catalog(KEYS)]) }
    const first = reviewText(text, 'validate', open)
    if (first.kind !== 'response') throw new Error('expected a response')
    const result = await new Confirmer({ reader: failing, logger: silentLogger() }).confirm(first, text, 'validate', open)
    expect(result.outcome.body.response.allowed).toBe(true)
  })

  it('a catalog-key re-check that fails keeps the cached denial', async () => {
    const text = admissionReview('UPDATE', running, kcp({ version: 'v1.34.5', statusVersion: 'v1.33.7-2' }))
    const result = await new Confirmer({ reader: failing, logger: silentLogger() }).confirm(response(text), text, 'validate', deps)
    expect(result.confirmation).toBe('fresh-catalog-failed')
    expect(result.outcome.body.response.allowed).toBe(false)
  })

  it('requests that arrive while a catalog read is in flight share the NEXT read (the earlier one may miss their write)', async () => {
    const reads: number[] = []
    const without = view([catalog(KEYS)])
    const withKey = view([catalog([...KEYS, 'v1.34.5'])])
    const reader: FreshReader = {
      readFresh: async (caches): Promise<FreshRead> => {
        if (caches.includes('clusters')) return { view: view([cluster()]), caches, resourceVersions: {} }
        reads.push(reads.length + 1)
        const n = reads.length
        await new Promise((r) => setTimeout(r, 20))
        // The key was added while read 1 was in flight: only read 2 sees it.
        return { view: n === 1 ? without : withKey, caches, resourceVersions: {} }
      },
    }
    const confirmer = new Confirmer({ reader, logger: silentLogger() })
    const text = admissionReview('UPDATE', running, kcp({ version: 'v1.34.5', statusVersion: 'v1.33.7-2' }))
    const first = confirmer.confirm(response(text), text, 'validate', deps)
    const later = [2, 3, 4].map(() => confirmer.confirm(response(text), text, 'validate', deps))
    const results = await Promise.all([first, ...later])
    expect(results.map((r) => r.outcome.body.response.allowed)).toEqual([false, true, true, true])
    expect(reads).toEqual([1, 2])
  })

  it('past the read budget a catalog-key denial is sent as cached, a destructive edit is denied', async () => {
    let calls = 0
    const reader: FreshReader = {
      readFresh: async (caches): Promise<FreshRead> => {
        if (caches.includes('clusters')) return { view: view([cluster()]), caches, resourceVersions: {} }
        calls++
        return { view: view([catalog([...KEYS, 'v1.34.5'])]), caches, resourceVersions: {} }
      },
    }
    const clock = 1_000_000
    const confirmer = new Confirmer({ reader, logger: silentLogger(), readsPerSecond: { catalog: 2, guarded: 1 }, now: () => clock })
    const bump = admissionReview('UPDATE', running, kcp({ version: 'v1.34.5', statusVersion: 'v1.33.7-2' }))
    const verdicts: (boolean | undefined)[] = []
    for (let i = 0; i < 3; i++) verdicts.push((await confirmer.confirm(response(bump), bump, 'validate', deps)).outcome.body.response.allowed)
    expect(verdicts).toEqual([true, true, false])
    expect(calls).toBe(2)
    const removeKey = admissionReview('UPDATE', catalog(KEYS), catalog(['v1.33.7-2']))
    const first = await confirmer.confirm(response(removeKey), removeKey, 'validate', deps)
    expect(first.confirmation).toBe('consistent-read')
    const second = await confirmer.confirm(response(removeKey), removeKey, 'validate', deps)
    expect(second.confirmation).toBe('consistent-read-failed')
    expect(second.outcome.body.response.status?.message).toContain('too many destructive catalog edits to confirm at once')
  })

  it('overlayView answers catalog or KCP/MD questions from the fresh view and everything else from the base', () => {
    const fresh = view([kcp({ version: K })])
    const o = overlayView(world, fresh, { guarded: true })
    expect(o.controlPlane(NS, KCP_NAME)?.version).toBe(K)
    expect(o.usersOfVersion(K).map((x) => x.name)).toEqual([KCP_NAME])
    expect(o.catalog()?.entries.size).toBe(KEYS.length)
    expect(o.cluster(NS, 'bm-workload')).toBeDefined()
  })
})
