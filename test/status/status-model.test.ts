/**
 * The status model and its text rendering as units: progress bars, aligned columns, colour only
 * when asked, and diagnoses the example moments do not cover (a v1beta2 MD with maxSurge > 0, a
 * node down with no rollout to explain it, a catalog key added after the miss).
 */
import { describe, expect, it } from 'vitest'
import { DEFAULT_POLICY } from '../../src/policy/load.js'
import { loadFileView } from '../../src/state/file-view.js'
import { readManifests } from '../../src/state/manifests.js'
import { formatStatusText, progressBar, table } from '../../src/status/format.js'
import { clusterStatus, type ClusterStatus } from '../../src/status/model.js'
import type { Obj } from '../helpers/objects.js'

const M = 'examples/lifecycle'
const objectOf = (file: string, name: string): Obj => structuredClone(readManifests([file]).find((e) => (e.object.metadata as Obj).name === name)?.object as Obj)

function statusOf(moment: string, changes: readonly Obj[] = []): ClusterStatus {
  const { view } = loadFileView([`${M}/${moment}`], DEFAULT_POLICY.catalog)
  for (const c of changes) view.upsert(c)
  const r = clusterStatus(view, DEFAULT_POLICY, 'cpaas-system', 'bm-lab')
  if (!r.ok) throw new Error(r.reason)
  return r.status
}

describe('format', () => {
  it.each([
    { replaced: 0, total: 3, bar: '[....................]' },
    { replaced: 1, total: 3, bar: '[#######.............]' },
    { replaced: 3, total: 3, bar: '[####################]' },
    { replaced: 0, total: 0, bar: '[####################]' },
  ])('progress $replaced/$total', ({ replaced, total, bar }) => expect(progressBar(replaced, total)).toBe(bar))

  it('aligns columns and trims trailing space', () => {
    expect(table([['a', 'bb', 'c'], ['aaa', 'b', '']])).toEqual(['a    bb  c', 'aaa  b'])
  })

  it('colour only when asked (the CLI asks on a TTY), with the same columns', () => {
    const s = statusOf('03-image-catalog-miss')
    const plain = formatStatusText(s, { colour: false })
    const coloured = formatStatusText(s, { colour: true })
    expect(plain).not.toContain('\u001b[')
    expect(coloured).toContain('\u001b[31mblocked\u001b[0m')
    // eslint-disable-next-line no-control-regex
    expect(coloured.replace(/\u001b\[\d+m/g, '')).toBe(plain)
  })
})

describe('diagnoses beyond the example moments', () => {
  it('a v1beta2 MD with maxSurge 1: the fix patches spec.rollout.strategy', () => {
    const md = objectOf(`${M}/05-done/cluster.yaml`, 'bm-lab-workers')
    const spec = md.spec as Obj
    md.apiVersion = 'cluster.x-k8s.io/v1beta2'
    spec.rollout = { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }
    delete spec.strategy
    const s = statusOf('05-done', [md])
    expect(s.diagnoses.map((d) => d.fix)).toEqual([`kubectl -n cpaas-system patch machinedeployment bm-lab-workers --type=merge -p '{"spec":{"rollout":{"strategy":{"rollingUpdate":{"maxSurge":0,"maxUnavailable":1}}}}}'  (raise maxUnavailable for more parallel replacements)`])
    expect(s.exitCode).toBe(1)
  })

  it('a node down with no rollout in progress blocks (exit 1), naming the Machine', () => {
    const m = objectOf(`${M}/05-done/machines.yaml`, 'bm-lab-control-plane-e')
    ;((m.status as Obj).conditions as Obj[])[0] = { type: 'Ready', status: 'False', reason: 'NodeNotReady' }
    const s = statusOf('05-done', [m])
    expect(s.phase).toBe('blocked')
    expect(s.diagnoses).toEqual([{ id: 'MachineNotHealthy', message: 'Machine bm-lab-control-plane-e of bm-lab-control-plane: Ready=False (NodeNotReady)', fix: 'kubectl -n cpaas-system describe machine bm-lab-control-plane-e' }])
  })

  it('ImageCatalogMiss once the key was added: no diagnosis (the provider retries by itself)', () => {
    const catalog = objectOf(`${M}/03-image-catalog-miss/catalog.yaml`, 'elemental-image-catalog')
    ;(catalog.data as Obj)['v1.33.8'] = 'registry.example.com:11443/tkestack/baremetal-base-image:v0.0.0-beta-1.33.8'
    const s = statusOf('03-image-catalog-miss', [catalog])
    expect(s.diagnoses.map((d) => d.id)).toEqual([])
    expect(s.phase).toBe('progressing')
  })

  it('a pool whose counters do not add up fails the pool check', () => {
    const pool = objectOf(`${M}/05-done/hosts.yaml`, 'bm-lab-worker-pool')
    pool.status = { available: 1, allocated: 2, preparing: 0, reprovisioning: 0, unavailable: 0, total: 4 }
    const s = statusOf('05-done', [pool])
    expect(s.checks.find((c) => c.id === 'pools-settled')).toEqual({ id: 'pools-settled', text: expect.any(String), ok: false, detail: 'bm-lab-worker-pool counters sum to 3, total 4' })
  })
})
