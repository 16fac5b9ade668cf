/**
 * Hot reload without restart: edits of the state files and of the policy file are picked up; a
 * bad edit is rejected with one clear log line and the last good view / policy stays in force.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/log.js'
import { startPolicySource, type PolicySource } from '../../src/server/policy-source.js'
import { startFileStateSource, type FileStateSource } from '../../src/server/state-source.js'
import { DEFAULT_POLICY_PATH, deniedRules, parseAnswer, readReview, REFERENCE_STATE, startTestServer, waitFor, warnedRules, type TestServer } from './helpers.js'

const lines: Array<Record<string, unknown>> = []
const logger = createLogger({
  level: 'debug',
  destination: new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter((x) => x.trim() !== '')) lines.push(JSON.parse(l) as Record<string, unknown>)
      done()
    },
  }),
})

let dir: string
let policy: PolicySource
let state: FileStateSource
let server: TestServer
const reloads: string[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ug-reload-'))
  cpSync(REFERENCE_STATE, join(dir, 'state'), { recursive: true })
  cpSync(DEFAULT_POLICY_PATH, join(dir, 'policy.yaml'))
  policy = startPolicySource({ file: join(dir, 'policy.yaml'), logger, intervalMs: 100, onReload: (ok) => reloads.push(`policy:${ok}`) })
  state = startFileStateSource({ paths: [join(dir, 'state')], catalog: () => policy.current().catalog, logger, intervalMs: 100, onReload: (ok) => reloads.push(`state:${ok}`) })
  server = await startTestServer({ policy, state, logger })
})

afterAll(async () => {
  await server?.close()
  policy?.close()
  await state?.close()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

const mdAhead = readReview('v1beta1', '038').text // MD v1.33.7-2 -> v1.34.5-3
const kcpSurge = readReview('v1beta1', '022').text // KCP maxSurge 0 -> 1
const validate = async (text: string) => parseAnswer(await server.post('/validate?timeout=10s', text))

describe('--state files are watched', () => {
  it('an edit is picked up without a restart', async () => {
    expect(deniedRules(await validate(mdAhead))).toEqual(['workers-follow-control-plane'])
    const file = join(dir, 'state', 'control-plane.yaml')
    // The control plane finished its rollout to v1.34.5-3: workers may follow now.
    writeFileSync(file, readFileSync(file, 'utf8').replaceAll('version: v1.33.7-2', 'version: v1.34.5-3'))
    await waitFor(async () => (await validate(mdAhead)).response.allowed, 10_000, 'the new state')
    expect(reloads).toContain('state:true')
  })

  it('a bad edit keeps the last good view and says why', async () => {
    const file = join(dir, 'state', 'cluster.yaml')
    writeFileSync(file, 'apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata: [this is: not valid\n')
    await waitFor(() => state.lastError() !== undefined, 10_000, 'the rejected reload')
    expect(state.lastError()).toContain('cluster.yaml')
    const line = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('state reload rejected, keeping the last good view: '))
    expect(line?.level).toBe('error')
    expect(reloads).toContain('state:false')
    // Still the last good view: the control plane runs v1.34.5-3, the MD may follow.
    expect((await validate(mdAhead)).response.allowed).toBe(true)
    const ready = JSON.parse((await server.get('/readyz')).body) as { ready: boolean; checks: { state: { detail: string } } }
    expect(ready.ready).toBe(true)
    expect(ready.checks.state.detail).toMatch(/last reload rejected/)
    expect(state.ageSeconds()).toBeGreaterThanOrEqual(0)
  })
})

describe('--policy is watched', () => {
  it('an edit is picked up without a restart', async () => {
    expect(deniedRules(await validate(kcpSurge))).toEqual(['max-surge-zero'])
    const file = join(dir, 'policy.yaml')
    writeFileSync(file, readFileSync(file, 'utf8').replace('max-surge-zero: deny', 'max-surge-zero: warn'))
    await waitFor(async () => (await validate(kcpSurge)).response.allowed, 10_000, 'the new policy')
    expect(warnedRules(await validate(kcpSurge))).toEqual(['max-surge-zero'])
    expect(lines.some((l) => l.msg === 'policy reloaded')).toBe(true)
  })

  it('a bad policy is rejected with a clear log line and the last good one kept', async () => {
    const file = join(dir, 'policy.yaml')
    writeFileSync(file, readFileSync(file, 'utf8').replace('max-surge-zero: warn', 'max-surge-zero: maybe'))
    await waitFor(() => policy.lastError() !== undefined, 10_000, 'the rejected policy')
    const line = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('policy reload rejected, keeping the last good policy: '))
    expect(line?.level).toBe('error')
    expect(line?.msg).toMatch(/policy\.yaml: rules\.max-surge-zero: must be one of deny, warn, audit, off/)
    expect(policy.current().rules['max-surge-zero']).toBe('warn')
    expect((await validate(kcpSurge)).response.allowed).toBe(true)
    expect(reloads).toContain('policy:false')
  })
})
