/**
 * `serve --state DIR --management-version V`: files carry no GET /version, so the flag stands in
 * for it, for the management-version rule as for the audit — the same verdicts as
 * `validate --management-version` (test/cli/validate-preflight.test.ts), and kept across reloads.
 */
import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { evaluate } from '../../src/engine/evaluate.js'
import { silentLogger } from '../../src/log.js'
import { DEFAULT_POLICY } from '../../src/policy/load.js'
import { startFileStateSource, type FileStateSource } from '../../src/server/state-source.js'
import { request, type Obj } from '../helpers/objects.js'

const HEALTHY = 'examples/lifecycle/01-healthy-start'
const stored = parseAllDocuments(readFileSync(`${HEALTHY}/cluster.yaml`, 'utf8'))
  .map((d) => d.toJS() as Obj & { kind: string; spec: Obj })
  .find((d) => d.kind === 'KubeadmControlPlane') as Obj & { spec: Obj }
const upgrade = { ...stored, spec: { ...stored.spec, version: 'v1.33.7-2' } }

let source: FileStateSource | undefined
afterEach(() => source?.close())

const start = (managementVersion?: string): FileStateSource =>
  (source = startFileStateSource({ paths: [HEALTHY], catalog: () => DEFAULT_POLICY.catalog, logger: silentLogger(), ...(managementVersion === undefined ? {} : { managementVersion }) }))

describe('file state with --management-version', () => {
  it.each([
    { name: 'management on v1.34: the upgrade to v1.33 is allowed', version: 'v1.34.5', denied: [] },
    { name: 'management on v1.32: denied under management-version', version: 'v1.32.9', denied: ['management-version'] },
  ])('$name', ({ version, denied }) => {
    const state = start(version)
    expect(state.view().managementVersion()).toBe(version)
    expect(evaluate(request('UPDATE', stored, upgrade), state.view(), DEFAULT_POLICY).denied.map((v) => v.rule)).toEqual(denied)
  })

  it('kept across a reload of the files', async () => {
    const state = start('v1.32.9')
    await state.reload()
    expect(state.view().managementVersion()).toBe('v1.32.9')
  })

  it('without the flag the files say nothing about the management cluster', () => {
    expect(start().view().managementVersion()).toBeUndefined()
  })
})
