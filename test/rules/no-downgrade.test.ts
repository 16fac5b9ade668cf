/**
 * no-downgrade: MachineDeployment versions may not go down (revision-aware); the policy may
 * relax it. GKE: "Clusters can't be downgraded to a lower version."
 */
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/engine/evaluate.js'
import type { ApiLevel } from '../../src/objects/capi.js'
import { noDowngrade } from '../../src/rules/no-downgrade.js'
import { check, deniedFields, md, only, outcome, request, touch, world, type Obj } from '../helpers/objects.js'

const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const RULE = 'no-downgrade'
const F = ['spec.template.spec.version']

describe.each(LEVELS)('%s', (level) => {
  const m = (version: unknown): Obj => md({ level, version })
  it.each([
    { name: 'up a minor', old: m('v1.32.8'), new: m('v1.33.7-2'), expected: [] },
    { name: 'up a revision', old: m('v1.33.7-2'), new: m('v1.33.7-3'), expected: [] },
    { name: 'up a numeric revision -3 → -10', old: m('v1.33.7-3'), new: m('v1.33.7-10'), expected: [] },
    { name: 'unchanged', old: m('v1.33.7-2'), new: touch(m('v1.33.7-2')), expected: [] },
    { name: 'down a minor', old: m('v1.33.7-2'), new: m('v1.32.8'), expected: F },
    { name: 'down a patch', old: m('v1.32.8'), new: m('v1.32.7'), expected: F },
    { name: 'revision dropped v1.33.7-2 → v1.33.7 (semver would call it an upgrade)', old: m('v1.33.7-2'), new: m('v1.33.7'), expected: F },
    { name: 'numeric revision -10 → -3 (text order would call it an upgrade)', old: m('v1.33.7-10'), new: m('v1.33.7-3'), expected: F },
    { name: 'CREATE at an old version', old: null, new: m('v1.30.0'), expected: [] },
    { name: 'version removed', old: m('v1.33.7-2'), new: m(null), expected: [] },
    { name: 'old version unparseable: the change is denied', old: m('garbage'), new: m('v1.32.8'), expected: F },
    { name: 'old version without v (stored before the webhook), downgrade', old: m('1.33.7-2'), new: m('v1.32.8'), expected: F },
    { name: 'old version without v, upgrade', old: m('1.32.8'), new: m('v1.33.7-2'), expected: [] },
    { name: 'no old version (optional), any version set', old: m(null), new: m('v1.32.8'), expected: [] },
    { name: 'new version unparseable', old: m('v1.33.7-2'), new: m('1.32.8'), expected: F },
  ])('$name', ({ old, new: next, expected }) => {
    expect(deniedFields(RULE, request(old === null ? 'CREATE' : 'UPDATE', old, next), world())).toEqual(expected)
  })
})

it('message and hint', () => {
  const [v] = check(noDowngrade, { old: md({ version: 'v1.33.7-10' }), next: md({ version: 'v1.33.7-3' }) })
  expect(v).toMatchObject({ rule: RULE, field: 'spec.template.spec.version', type: 'Forbidden', value: 'v1.33.7-3' })
  expect(v?.message).toBe('cannot downgrade workers from v1.33.7-10 to v1.33.7-3')
  expect(v?.hint).toContain('keep spec.template.spec.version at v1.33.7-10 or newer')
})

it('the policy may relax it to warn', () => {
  const d = evaluate(request('UPDATE', md({ version: 'v1.33.7-2' }), md({ version: 'v1.32.8' })), world(), only({ [RULE]: 'warn' }))
  expect(outcome(d)).toMatchObject({ allowed: true, denied: [], warnings: [`${RULE}@spec.template.spec.version`] })
})
