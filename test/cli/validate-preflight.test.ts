/**
 * `validate` in CI against a lifecycle snapshot judges an upgrade the way the webhook would,
 * preflight rules included: the control-plane upgrade of examples/lifecycle/01-healthy-start is
 * allowed with a management cluster on v1.34, denied under management-version with one on v1.32,
 * and denied under control-plane-healthy (naming the Machine) when a node is down.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseAllDocuments, stringify } from 'yaml'
import { runCli } from '../helpers/cli.js'

const HEALTHY = 'examples/lifecycle/01-healthy-start'
const dir = mkdtempSync(join(tmpdir(), 'ug-validate-preflight-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

type Doc = { kind: string; metadata: { name: string }; spec: Record<string, unknown>; status: { conditions: unknown[] } }
const docsOf = (file: string): Doc[] => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Doc)

function write(name: string, obj: unknown): string {
  const file = join(dir, name)
  writeFileSync(file, stringify(obj))
  return file
}

const kcp = docsOf(`${HEALTHY}/cluster.yaml`).find((d) => d.kind === 'KubeadmControlPlane') as Doc
const upgrade = write('kcp-upgrade.yaml', { ...kcp, spec: { ...kcp.spec, version: 'v1.33.7-2' }, status: undefined })
const notReady = (() => {
  const m = docsOf(`${HEALTHY}/machines.yaml`).find((d) => d.metadata.name === 'bm-lab-control-plane-c') as Doc
  m.status.conditions[0] = { type: 'Ready', status: 'False', reason: 'NodeNotReady' }
  return write('zz-notready.yaml', m)
})()

type Report = { objects: { violations: { rule: string; message: string }[]; warnings: { rule: string }[] }[] }
const validate = (state: readonly string[], ...args: string[]): ReturnType<typeof runCli> => runCli(['validate', ...state.flatMap((s) => ['--state', s]), '-f', upgrade, '-o', 'json', ...args])

describe('validate with lifecycle state', () => {
  it.each([
    { name: 'healthy, management on v1.34', state: [HEALTHY], args: ['--management-version', 'v1.34.5'], code: 0, denied: [] },
    { name: 'healthy, management on v1.32', state: [HEALTHY], args: ['--management-version', 'v1.32.9'], code: 1, denied: ['management-version'] },
    { name: 'a control-plane node down', state: [HEALTHY, notReady], args: [], code: 1, denied: ['control-plane-healthy'] },
  ])('$name', async ({ state, args, code, denied }) => {
    // validate takes one --state path: the snapshot and the overlay go into one folder.
    const r = state.length === 1 ? await validate(state, ...args) : await runCli(['validate', '--state', combine(state), '-f', upgrade, '-o', 'json', ...args])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(code)
    const report = JSON.parse(r.stdout) as Report
    expect(report.objects.flatMap((o) => o.violations.map((v) => v.rule))).toEqual(denied)
    if (denied.includes('control-plane-healthy')) expect(report.objects[0]?.violations[0]?.message).toContain('bm-lab-control-plane-c (Ready=False (NodeNotReady))')
  })
})

/** A folder holding the snapshot and the overlay (files load in name order: the overlay last). */
function combine(paths: readonly string[]): string {
  const folder = mkdtempSync(join(dir, 'state-'))
  for (const p of paths) {
    const files = p.endsWith('.yaml') ? [p] : ['catalog.yaml', 'cluster.yaml', 'hosts.yaml', 'machines.yaml', 'management.yaml'].map((f) => join(p, f))
    for (const f of files) writeFileSync(join(folder, f.endsWith('zz-notready.yaml') ? 'zz-notready.yaml' : f.split('/').pop() ?? 'x.yaml'), readFileSync(f))
  }
  return folder
}
