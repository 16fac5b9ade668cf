/**
 * management-version: a workload control plane may not move to a minor above the management
 * cluster's own. GKE Version skew: "the admin cluster can be at most one minor version ahead of
 * its managed clusters."
 */
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/engine/evaluate.js'
import type { ApiLevel } from '../../src/objects/capi.js'
import { managementVersion } from '../../src/rules/management-version.js'
import type { MemoryView } from '../../src/state/memory-view.js'
import { catalog, check, cluster, deniedFields, kcp, md, only, request, touch, view, type Obj } from '../helpers/objects.js'

const RULE = 'management-version'
const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const withManagement = (version: string | undefined, problem?: string): MemoryView => {
  const v = view([cluster(), catalog()])
  if (version !== undefined || problem !== undefined) v.lifecycleIndex.setManagementVersion(version, problem)
  return v
}

describe.each(LEVELS)('%s', (level) => {
  const k = (v: string): Obj => kcp({ level, version: v, statusVersion: 'v1.33.7-2' })
  it.each([
    { name: 'target minor = management minor', mgmt: 'v1.34.2', old: k('v1.33.7-2'), next: k('v1.34.5-3'), expected: [] },
    { name: 'target below the management minor', mgmt: 'v1.35.0', old: k('v1.33.7-2'), next: k('v1.34.5-3'), expected: [] },
    { name: 'target one minor above', mgmt: 'v1.33.9', old: k('v1.33.7-2'), next: k('v1.34.5-3'), expected: ['spec.version'] },
    { name: 'gitVersion with a build suffix', mgmt: 'v1.33.9+k3s1', old: k('v1.33.7-2'), next: k('v1.34.5-3'), expected: ['spec.version'] },
    { name: 'patch bump within the management minor', mgmt: 'v1.33.1', old: k('v1.33.7-2'), next: k('v1.33.7-3'), expected: [] },
    { name: 'already above, metadata-only UPDATE (ratchet)', mgmt: 'v1.32.0', old: k('v1.33.7-2'), next: touch(k('v1.33.7-2')), expected: [] },
  ])('$name', ({ mgmt, old, next, expected }) => {
    expect(deniedFields(RULE, request('UPDATE', old, next), withManagement(mgmt))).toEqual(expected)
  })
})

describe('unknown management version', () => {
  const up = { old: kcp({ version: 'v1.33.7-2' }), next: kcp({ version: 'v1.34.5-3' }) }
  it('live, GET /version failed: fails closed, saying why', () => {
    const [v] = check(managementVersion, { ...up, view: withManagement(undefined, 'GET /version failed: HTTP 500') })
    expect(v).toMatchObject({ type: 'NotFound', message: "cannot check: the management cluster's version is unknown (GET /version failed: HTTP 500)" })
  })
  it('files without --management-version: nothing to compare with, no finding', () => {
    expect(check(managementVersion, { ...up, view: withManagement(undefined) })).toEqual([])
  })
  it('the message names both minors and the order to upgrade in', () => {
    const [v] = check(managementVersion, { ...up, view: withManagement('v1.33.9') })
    expect(v?.message).toBe('the management cluster runs v1.33.9 (v1.33); a workload control plane may not move to v1.34, above it')
    expect(v?.hint).toBe('upgrade the management (global) cluster to v1.34 first, or set spec.version to a v1.33 version or older')
  })
  it('MD edits are not judged', () => {
    expect(deniedFields(RULE, request('UPDATE', md({ version: 'v1.32.8' }), md({ version: 'v1.33.7-2' })), withManagement('v1.30.0'))).toEqual([])
  })
  it('state unavailable: fails closed', () => {
    const v = withManagement('v1.35.0')
    v.setStatus({ available: false, reason: 'x' })
    expect(evaluate(request('UPDATE', up.old, up.next), v, only(RULE)).allowed).toBe(false)
  })
})
