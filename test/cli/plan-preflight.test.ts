/**
 * `plan` uses the preflight facts: a plan for a cluster that fails a preflight rule starts with
 * what to fix first (the same rule code the webhook runs, against the same state), and a healthy
 * cluster's plan is unchanged.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseAllDocuments, stringify } from 'yaml'
import { runCli } from '../helpers/cli.js'

const HEALTHY = 'examples/lifecycle/01-healthy-start'
const dir = mkdtempSync(join(tmpdir(), 'ug-plan-preflight-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** One control-plane Machine of the healthy moment, NotReady (a later file replaces it). */
function notReadyOverlay(): string {
  const docs = parseAllDocuments(readFileSync(`${HEALTHY}/machines.yaml`, 'utf8')).map((d) => d.toJS() as { metadata: { name: string }; status: { conditions: unknown[] } })
  const m = docs.find((d) => d.metadata.name === 'bm-lab-control-plane-b')
  if (m === undefined) throw new Error('fixture changed')
  m.status.conditions[0] = { type: 'Ready', status: 'False', reason: 'NodeNotReady' }
  const file = join(dir, 'zz-notready.yaml')
  writeFileSync(file, stringify(m))
  return file
}

const plan = (...args: string[]): ReturnType<typeof runCli> => runCli(['plan', '--cluster', 'cpaas-system/bm-lab', '--to', 'v1.33.7-2', ...args])
const stepTitles = (stdout: string): string[] => stdout.split('\n').filter((l) => /^ {0,2}\d+\. /.test(l)).map((l) => l.trim())

describe('plan with preflight facts', () => {
  it('a healthy cluster: no "fix first" step', async () => {
    const r = await plan('--state', HEALTHY, '--management-version', 'v1.34.5')
    expect(r.code).toBe(0)
    expect(stepTitles(r.stdout)[0]).toBe('1. Check that the image catalog has v1.33.7-2')
    expect(r.stdout).not.toContain('Fix first')
  })

  it('a control-plane Machine not Ready: step 1 says what to fix, naming it, with the command', async () => {
    const r = await plan('--state', HEALTHY, notReadyOverlay())
    expect(r.code).toBe(0)
    expect(stepTitles(r.stdout)[0]).toBe('1. Fix first (control-plane-healthy): the rollout would be denied')
    expect(r.stdout).toContain('      kubectl -n cpaas-system get machines -l cluster.x-k8s.io/control-plane,cluster.x-k8s.io/cluster-name=bm-lab\n      upgrade-guard status --cluster cpaas-system/bm-lab\n')
    expect(r.stdout).toContain('bm-lab-control-plane-b (Ready=False (NodeNotReady))')
    expect(stepTitles(r.stdout)[1]).toBe('2. Check that the image catalog has v1.33.7-2')
  })

  it('a management cluster below the target minor: management-version comes first', async () => {
    const r = await plan('--state', HEALTHY, '--management-version', 'v1.32.9', '-o', 'json')
    expect(r.code).toBe(0)
    const body = JSON.parse(r.stdout) as { steps: { number: number; title: string; notes: string[] }[] }
    expect(body.steps[0]).toMatchObject({ number: 1, title: 'Fix first (management-version): the rollout would be denied' })
    expect(body.steps[0]?.notes[0]).toBe('the management cluster runs v1.32.9 (v1.32); a workload control plane may not move to v1.33, above it')
  })

  it('a pool that only warns (a host preparing) adds a note, not a step', async () => {
    const docs = parseAllDocuments(readFileSync(`${HEALTHY}/hosts.yaml`, 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string }; status: Record<string, number> })
    const pool = docs.find((d) => d.kind === 'MachineInventoryPool' && d.metadata.name === 'bm-lab-control-plane-pool')
    if (pool === undefined) throw new Error('fixture changed')
    pool.status = { available: 0, allocated: 3, preparing: 1, reprovisioning: 0, unavailable: 0, total: 4 }
    const file = join(dir, 'zz-pool.yaml')
    writeFileSync(file, stringify(pool))
    const r = await plan('--state', HEALTHY, file)
    expect(r.code).toBe(0)
    expect(r.stdout).not.toContain('Fix first')
    expect(r.stdout).toContain('* Preflight (pool-capacity): pool cpaas-system/bm-lab-control-plane-pool has hosts in flight or unavailable (available 0, allocated 3, preparing 1, reprovisioning 0, unavailable 0, total 4); the rollout may wait for them')
  })
})
