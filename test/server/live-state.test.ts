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
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake\n  cluster:\n    server: ${fake.url}\n    insecure-skip-tls-verify: true`,
      'users:',
      `- name: fake-user\n  user:\n    token: ${fake.token}`,
      'contexts:',
      '- name: fake\n  context:\n    cluster: fake\n    user: fake-user',
      'current-context: fake',
      '',
    ].join('\n'),
  )
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
    // Decisions that need the view fail closed, saying why.
    const answer = parseAnswer(await server.post('/validate', readReview('v1beta1', '038').text))
    expect(answer.response.allowed).toBe(false)
  })

  it('ready once the API server is back and every cache has listed; decisions use the watched objects', { timeout: 30_000 }, async () => {
    for (const entry of readManifests([REFERENCE_STATE])) fake.applySilently(entry.object as Record<string, unknown>)
    await fake.restart()
    await waitFor(async () => (await server.get('/readyz')).status === 200, 20_000, 'readiness')
    expect(deniedRules(parseAnswer(await server.post('/validate', readReview('v1beta1', '038').text)))).toEqual(['workers-follow-control-plane'])
    expect(deniedRules(parseAnswer(await server.post('/validate', readReview('v1beta1', '022').text)))).toEqual(['max-surge-zero'])
    expect(state.ageSeconds()).toBe(0)
  })
})
