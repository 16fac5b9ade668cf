/**
 * The live-cache state source plugged into the server (`--kubeconfig`), against the local fake
 * Kubernetes API (test/state/fake-apiserver): /readyz is 503 and names the caches until they
 * have listed, then 200, and decisions come from the watched objects.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/log.js'
import { startPolicySource, type PolicySource } from '../../src/server/policy-source.js'
import { startLiveStateSource, type StateSource } from '../../src/server/state-source.js'
import { readManifests } from '../../src/state/manifests.js'
import { FakeApiServer } from '../state/fake-apiserver.js'
import { DEFAULT_POLICY_PATH, deniedRules, parseAnswer, readReview, REFERENCE_STATE, startTestServer, waitFor, type TestServer } from './helpers.js'

let dir: string
let fake: FakeApiServer
let policy: PolicySource
let state: StateSource
let server: TestServer

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ug-live-'))
  fake = await FakeApiServer.start()
  await fake.stop() // the API server is down when the webhook starts
  const kubeconfig = join(dir, 'kubeconfig')
  writeFileSync(kubeconfig, fake.kubeconfigYaml())
  policy = startPolicySource({ file: DEFAULT_POLICY_PATH, logger: silentLogger() })
  state = await startLiveStateSource({ kubeconfig, policy, logger: silentLogger() })
  server = await startTestServer({ policy, state })
})

afterAll(async () => {
  await server?.close()
  await state?.close()
  policy?.close()
  await fake?.close()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

describe('--kubeconfig: live caches behind the StateSource', () => {
  it('not ready while the caches have not listed: 503 naming them', async () => {
    const r = await server.get('/readyz')
    expect(r.status).toBe(503)
    const body = JSON.parse(r.body) as { ready: boolean; missing: string[] }
    expect(body.missing[0]).toMatch(/^state: live caches \(kubeconfig .*\): caches not synced yet: /)
    expect(body.missing[0]).toMatch(/kubeadmcontrolplanes/)
    // Decisions that need the view fail closed, saying why: the current cause, once.
    const answer = parseAnswer(await server.post('/validate', readReview('v1beta1', '038').text))
    expect(answer.response.allowed).toBe(false)
    expect(answer.response.status?.details?.causes).toHaveLength(1)
    expect(answer.response.status?.message).toMatch(/not synced: (fetch failed \(ECONNREFUSED\); retrying|relisting now)/)
    // /readyz says which cache, what it is doing and the last error.
    const caches = (body as unknown as { caches: { cache: string; synced: boolean; behindSince?: string; lastError?: string }[] }).caches
    // The four core caches first, then the lifecycle kinds (Machines, hosts, pools, Deployments).
    expect(caches.map((c) => c.cache).slice(0, 4)).toEqual(['catalog', 'clusters', 'kubeadmcontrolplanes', 'machinedeployments'])
    expect(caches.map((c) => c.cache)).toContain('machines')
    for (const c of caches) {
      expect(c.synced).toBe(false)
      expect(c.behindSince).toMatch(/^\d{4}-/)
    }
    // No age before the first sync (0 would read as "perfectly fresh"); every cache unsynced.
    const metrics = (await server.get('/metrics')).body
    expect(metrics).not.toMatch(/^upgrade_guard_state_view_age_seconds /m)
    expect(metrics).toMatch(/^upgrade_guard_cache_synced\{cache="kubeadmcontrolplanes"\} 0$/m)
  })

  it('ready once the API server is back and every cache has listed; decisions use the watched objects', { timeout: 30_000 }, async () => {
    for (const entry of readManifests([REFERENCE_STATE])) fake.applySilently(entry.object as Record<string, unknown>)
    await fake.restart()
    await waitFor(async () => (await server.get('/readyz')).status === 200, 20_000, 'readiness')
    expect(deniedRules(parseAnswer(await server.post('/validate', readReview('v1beta1', '038').text)))).toEqual(['workers-follow-control-plane'])
    expect(deniedRules(parseAnswer(await server.post('/validate', readReview('v1beta1', '022').text)))).toEqual(['max-surge-zero'])
    // Ready means every cache listed once; a watch re-established after the restart may still
    // hold a cache "behind" for some milliseconds, so the age comes back to 0 rather than is 0.
    await waitFor(async () => state.ageSeconds() === 0, 5_000, 'every cache caught up (age 0)')
    let metrics = ''
    await waitFor(async () => /^upgrade_guard_state_view_age_seconds 0$/m.test((metrics = (await server.get('/metrics')).body)), 5_000, 'age 0 on /metrics')
    for (const c of ['catalog', 'clusters', 'kubeadmcontrolplanes', 'machinedeployments']) {
      expect(metrics).toMatch(new RegExp(`^upgrade_guard_cache_synced\\{cache="${c}"\\} 1$`, 'm'))
      expect(metrics).toMatch(new RegExp(`^upgrade_guard_watch_restarts_total\\{cache="${c}"\\} \\d+$`, 'm'))
    }
  })

  it('API server restart: behind at once (still ready, rules fail closed, /readyz and metrics say which cache since when and why), then back', { timeout: 30_000 }, async () => {
    const restartsBefore = Number(/^upgrade_guard_watch_restarts_total\{cache="clusters"\} (\d+)$/m.exec((await server.get('/metrics')).body)?.[1])
    await fake.stop()
    await waitFor(() => !state.view().status().available, 5000, 'the view to be behind')
    const r = await server.get('/readyz')
    expect(r.status).toBe(200) // synced once: ready, and the rules fail closed
    const body = JSON.parse(r.body) as { checks: { state: { detail: string } }; caches: { cache: string; fresh: boolean; behindSince?: string; lastError?: string }[] }
    expect(body.checks.state.detail).toMatch(/view unavailable, rules fail closed: caches? .* behind since /)
    // The first error is the dropped stream (e.g. `terminated`); the immediate retry is refused.
    // Kinds the fake does not serve have no watch to lose ("not present": rechecked by discovery later).
    const watched = (): ReturnType<NonNullable<typeof state.caches>> => (state.caches?.() ?? []).filter((c) => c.phase !== 'absent')
    await waitFor(() => watched().every((c) => c.lastError?.includes('ECONNREFUSED') === true), 5000, 'a refused retry on every cache')
    const caches = watched()
    for (const c of caches) {
      expect(c.fresh).toBe(false)
      expect(c.behindSince).toMatch(/^\d{4}-/)
      expect(c.lastError).toContain('ECONNREFUSED')
    }
    const answer = parseAnswer(await server.post('/validate', readReview('v1beta1', '038').text))
    expect(answer.response.allowed).toBe(false)
    expect(answer.response.status?.details?.causes).toHaveLength(1)
    expect(answer.response.status?.message.length).toBeLessThan(600)
    const metrics = (await server.get('/metrics')).body
    expect(metrics).toMatch(/^upgrade_guard_cache_synced\{cache="clusters"\} 0$/m)
    expect(Number(/^upgrade_guard_watch_restarts_total\{cache="clusters"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(restartsBefore)
    expect(Number(/^upgrade_guard_state_view_age_seconds (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0)

    await fake.restart()
    await waitFor(() => state.view().status().available, 5000, 'recovery')
    expect(deniedRules(parseAnswer(await server.post('/validate', readReview('v1beta1', '038').text)))).toEqual(['workers-follow-control-plane'])
    expect((await server.get('/metrics')).body).toMatch(/^upgrade_guard_cache_synced\{cache="clusters"\} 1$/m)
  })
})
