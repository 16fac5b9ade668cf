/**
 * control-plane-minor-step: KCP spec.version rises at most one minor per step, counted from the
 * lowest version running (old spec.version and status.version); no downgrades or major changes.
 * ACP: "Kubernetes only supports single-minor upgrades for the control plane (skew policy)."
 */
import { describe, expect, it } from 'vitest'
import type { ApiLevel } from '../../src/objects/capi.js'
import { readCatalog } from '../../src/objects/catalog.js'
import { controlPlaneMinorStep, newestOfMinor } from '../../src/rules/control-plane-minor-step.js'
import { catalog, check, deniedFields, edit, kcp, policy, request, touch, view, world, type Obj } from '../helpers/objects.js'

const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const RULE = 'control-plane-minor-step'

interface Row {
  readonly name: string
  readonly old: Obj | null
  readonly new: Obj
  readonly expected: readonly string[]
}

const rows = (level: ApiLevel): Row[] => {
  /** A KCP with spec.version `spec` and status.version `status` (omitted when undefined). */
  const k = (spec: unknown, status?: string): Obj => kcp({ level, version: spec, ...(status === undefined ? {} : { statusVersion: status }) })
  const F = ['spec.version']
  return [
    { name: 'CREATE at any version (nothing runs yet)', old: null, new: k('v1.34.5-3'), expected: [] },
    { name: 'one minor up v1.32.8 → v1.33.7-2', old: k('v1.32.8', 'v1.32.8'), new: k('v1.33.7-2', 'v1.32.8'), expected: [] },
    { name: 'patch bump v1.32.7 → v1.32.8', old: k('v1.32.7', 'v1.32.7'), new: k('v1.32.8', 'v1.32.7'), expected: [] },
    { name: 'revision bump v1.33.7-2 → v1.33.7-10', old: k('v1.33.7-2', 'v1.33.7-2'), new: k('v1.33.7-10', 'v1.33.7-2'), expected: [] },
    { name: 'one minor up, any patch: v1.33.7-2 → v1.34.5-3', old: k('v1.33.7-2', 'v1.33.7-2'), new: k('v1.34.5-3', 'v1.33.7-2'), expected: [] },
    { name: 'no status reported yet: one minor from spec', old: k('v1.32.8'), new: k('v1.33.7-2'), expected: [] },
    { name: 'skips a minor v1.32.8 → v1.34.5-3', old: k('v1.32.8', 'v1.32.8'), new: k('v1.34.5-3', 'v1.32.8'), expected: F },
    { name: 'skips two minors v1.32.8 → v1.35.6-acp.1', old: k('v1.32.8', 'v1.32.8'), new: k('v1.35.6-acp.1', 'v1.32.8'), expected: F },
    { name: 'second bump mid-rollout (status v1.32.8, spec v1.33.7-2 → v1.34.5-3)', old: k('v1.33.7-2', 'v1.32.8'), new: k('v1.34.5-3', 'v1.32.8'), expected: F },
    { name: 'patch bump mid-rollout stays within one minor of status', old: k('v1.33.7-2', 'v1.32.8'), new: k('v1.33.7-3', 'v1.32.8'), expected: [] },
    { name: 'second bump once status caught up', old: k('v1.33.7-2', 'v1.33.7-2'), new: k('v1.34.5', 'v1.33.7-2'), expected: [] },
    { name: 'minor downgrade v1.33.7-2 → v1.32.8', old: k('v1.33.7-2', 'v1.33.7-2'), new: k('v1.32.8', 'v1.33.7-2'), expected: F },
    { name: 'revision downgrade v1.33.7-2 → v1.33.7 (revision-aware)', old: k('v1.33.7-2', 'v1.33.7-2'), new: k('v1.33.7', 'v1.33.7-2'), expected: F },
    { name: 'numeric revision downgrade v1.33.7-10 → v1.33.7-3', old: k('v1.33.7-10', 'v1.33.7-10'), new: k('v1.33.7-3', 'v1.33.7-10'), expected: F },
    { name: 'rollback mid-rollout to the running version is still a downgrade', old: k('v1.33.7-2', 'v1.32.8'), new: k('v1.32.8', 'v1.32.8'), expected: F },
    { name: 'major change v1.33.7-2 → v2.0.0', old: k('v1.33.7-2', 'v1.33.7-2'), new: k('v2.0.0', 'v1.33.7-2'), expected: F },
    { name: 'unparseable new version', old: k('v1.33.7-2', 'v1.33.7-2'), new: k('1.34.5', 'v1.33.7-2'), expected: F },
    // SPEC Round 2 "Request identity": the running version is the lowest PARSEABLE one.
    { name: 'neither old version parseable: the change is denied', old: k('garbage', 'garbage'), new: k('v1.34.5'), expected: F },
    { name: 'old spec unparseable, status two minors below: denied', old: k('garbage', 'v1.32.8'), new: k('v1.34.5', 'v1.32.8'), expected: F },
    { name: 'old spec unparseable, status one minor below: allowed', old: k('garbage', 'v1.33.7-2'), new: k('v1.34.5', 'v1.33.7-2'), expected: [] },
    { name: 'old spec without v (stored before the webhook), skips a minor: denied', old: k('1.32.8', 'v1.32.8'), new: k('v1.34.5', 'v1.32.8'), expected: F },
    { name: 'old status unparseable, spec two minors below: denied', old: k('v1.32.8', 'bogus'), new: k('v1.34.5', 'bogus'), expected: F },
    { name: 'old spec without v, no status, one minor: allowed', old: kcp({ level, version: '1.33.7-2' }), new: kcp({ level, version: 'v1.34.5' }), expected: [] },
    { name: 'old spec without v, downgrade: denied', old: kcp({ level, version: '1.33.7-2' }), new: kcp({ level, version: 'v1.32.8' }), expected: F },
    { name: 'already two minors apart, finalizer only (ratchet)', old: k('v1.34.5', 'v1.32.8'), new: touch(k('v1.34.5', 'v1.32.8')), expected: [] },
    { name: 'already two minors apart, replicas change (ratchet)', old: k('v1.34.5', 'v1.32.8'), new: edit(k('v1.34.5', 'v1.32.8'), (o) => ((o.spec as Obj).replicas = 5)), expected: [] },
    { name: 'not bare metal (out of scope)', old: kcp({ level, version: 'v1.32.8', infraKind: 'DockerMachineTemplate' }), new: kcp({ level, version: 'v1.34.5', infraKind: 'DockerMachineTemplate' }), expected: [] },
  ]
}

describe.each(LEVELS)('%s', (level) => {
  it.each(rows(level))('$name', ({ old, new: next, expected }) => {
    expect(deniedFields(RULE, request(old === null ? 'CREATE' : 'UPDATE', old, next), world())).toEqual(expected)
  })
})

describe('messages and hints', () => {
  it('a skipped minor names the intermediate version (newest catalog key of that minor)', () => {
    const [v] = check(controlPlaneMinorStep, { old: kcp({ version: 'v1.32.8', statusVersion: 'v1.32.8' }), next: kcp({ version: 'v1.34.5-3', statusVersion: 'v1.32.8' }), view: world() })
    expect(v).toMatchObject({ rule: RULE, field: 'spec.version', type: 'Forbidden', value: 'v1.34.5-3' })
    expect(v?.message).toContain('cannot go from v1.32.8 to v1.34.5-3 in one step')
    expect(v?.message).toContain('one minor at a time')
    expect(v?.hint).toContain('set spec.version to v1.33.7-10 first')
    expect(v?.hint).toContain('wait until status.version reaches it')
  })

  it('mid-rollout: says a rollout is in progress and shows what runs', () => {
    const [v] = check(controlPlaneMinorStep, { old: kcp({ level: 'v1beta2', version: 'v1.33.7-2', statusVersion: 'v1.32.8' }), next: kcp({ level: 'v1beta2', version: 'v1.34.5-3', statusVersion: 'v1.32.8' }), view: world() })
    expect(v?.message).toContain('while a rollout is still in progress')
    expect(v?.message).toContain('status.version v1.32.8, spec.version v1.33.7-2')
    // Not "set spec.version to v1.33.7-10": retargeting a running rollout is not the fix.
    expect(v?.hint).toBe('wait until status.version reaches v1.33.7-2 (the rollout in progress), then set spec.version to v1.34.5-3')
  })

  it('mid-rollout, three minors from what runs: wait, then one minor at a time', () => {
    const [v] = check(controlPlaneMinorStep, { old: kcp({ version: 'v1.33.7-2', statusVersion: 'v1.32.8' }), next: kcp({ version: 'v1.35.6-acp.1', statusVersion: 'v1.32.8' }), view: world() })
    expect(v?.hint).toBe('wait until status.version reaches v1.33.7-2 (the rollout in progress), then go on one minor at a time')
  })

  it('without a key of the intermediate minor the hint says to add one (never "set v1.33.x")', () => {
    const [v] = check(controlPlaneMinorStep, { old: kcp({ version: 'v1.32.8' }), next: kcp({ version: 'v1.34.5' }), view: view([]) })
    expect(v?.hint).toContain('the catalog has no v1.33 key')
    expect(v?.hint).toContain('kubectl -n cpaas-system patch configmap elemental-image-catalog')
    expect(v?.hint).not.toContain('v1.33.x')
  })

  it('neither running version readable: the message names the field to fix', () => {
    const [v] = check(controlPlaneMinorStep, { old: kcp({ version: 'garbage', statusVersion: 'junk' }), next: kcp({ version: 'v1.34.5' }) })
    expect(v).toMatchObject({ rule: 'control-plane-minor-step', field: 'spec.version', type: 'Forbidden' })
    expect(v?.message).toContain('spec.version garbage and status.version junk is not a version')
    expect(v?.hint).toContain('fix spec.version of cpaas-system/bm-workload-control-plane')
  })

  it('a downgrade says it is no rollback path', () => {
    const [v] = check(controlPlaneMinorStep, { old: kcp({ version: 'v1.33.7-2' }), next: kcp({ version: 'v1.32.8' }) })
    expect(v?.message).toContain('cannot downgrade the control plane from v1.33.7-2 to v1.32.8')
    expect(v?.hint).toContain('repair forward')
  })

  it('a major change names the major to keep', () => {
    const [v] = check(controlPlaneMinorStep, { old: kcp({ version: 'v1.33.7-2' }), next: kcp({ version: 'v2.0.0' }) })
    expect(v?.message).toContain('cannot change the major version')
    expect(v?.hint).toBe('keep major version 1')
  })

  it('a version without v names the fixed spelling (when catalog-key does not already deny it)', () => {
    const noCatalogKey = policy({ rules: { 'catalog-key': 'off' } })
    const [v] = check(controlPlaneMinorStep, { old: kcp(), next: kcp({ version: '1.33.7-3' }), policy: noCatalogKey })
    expect(v).toMatchObject({ type: 'Invalid', value: '1.33.7-3' })
    expect(v?.message).toBe('the version lacks the leading "v"')
    expect(v?.hint).toBe('use "v1.33.7-3"')
  })

  it('marks a bad spelling as a copy of catalog-key\'s finding (the engine reports it once)', () => {
    const [v] = check(controlPlaneMinorStep, { old: kcp(), next: kcp({ version: '1.33.7-3' }) })
    expect(v?.duplicateOf).toBe('catalog-key')
  })
})

describe('newestOfMinor', () => {
  const c = readCatalog(catalog())
  it.each([
    { name: 'numeric revisions: -10 is newest', minor: 33, expected: 'v1.33.7-10' },
    { name: 'v1.34.5-3 after v1.34.5-1', minor: 34, expected: 'v1.34.5-3' },
    { name: 'named revision', minor: 35, expected: 'v1.35.6-acp.1' },
    { name: 'no key of that minor', minor: 36, expected: 'v1.36.x' },
  ])('$name', ({ minor, expected }) => expect(newestOfMinor(c, 1, minor)).toBe(expected))
})
