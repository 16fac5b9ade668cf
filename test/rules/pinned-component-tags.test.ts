/**
 * pinned-component-tags: on a KCP minor change, pinned dns.imageTag / etcd.local.imageTag left
 * unchanged get a warning; where the policy has a minor → tags table, a mismatch is a violation.
 * ACP: "Where component image tags are pinned (DNS, etcd), update them in the same edit".
 */
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/engine/evaluate.js'
import type { ApiLevel } from '../../src/objects/capi.js'
import { pinnedComponentTags } from '../../src/rules/pinned-component-tags.js'
import { check, kcp, only, outcome, request, TAGS, touch, world, type Obj } from '../helpers/objects.js'

const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const RULE = 'pinned-component-tags'
const DNS = 'spec.kubeadmConfigSpec.clusterConfiguration.dns.imageTag'
const ETCD = 'spec.kubeadmConfigSpec.clusterConfiguration.etcd.local.imageTag'
const TABLE = { componentTags: { 'v1.34': { coredns: [TAGS['v1.34'].dns], etcd: [TAGS['v1.34'].etcd] } } }
const at = (f: string): string => `${RULE}@${f}`
/** Both tags left pinned: ONE warning for the rule (SPEC "Messages"), at the first tag's field, naming both. */
const BOTH = DNS

describe.each(LEVELS)('%s', (level) => {
  const k = (version: string, tags: { dns?: string | null; etcd?: string | null } = {}): Obj =>
    kcp({ level, version, statusVersion: 'v1.33.7-2', dnsTag: tags.dns === undefined ? TAGS['v1.33'].dns : tags.dns, etcdTag: tags.etcd === undefined ? TAGS['v1.33'].etcd : tags.etcd })
  const v134 = { dns: TAGS['v1.34'].dns, etcd: TAGS['v1.34'].etcd }

  describe('without a table (default policy: warn)', () => {
    it.each([
      { name: 'minor upgrade, both tags left pinned', old: k('v1.33.7-2'), new: k('v1.34.5-3'), warnings: [at(BOTH)] },
      { name: 'minor upgrade, both tags updated in the same edit', old: k('v1.33.7-2'), new: k('v1.34.5-3', v134), warnings: [] },
      { name: 'minor upgrade, only etcd updated', old: k('v1.33.7-2'), new: k('v1.34.5-3', { etcd: v134.etcd }), warnings: [at(DNS)] },
      { name: 'minor upgrade, tags unpinned', old: k('v1.33.7-2', { dns: null, etcd: null }), new: k('v1.34.5-3', { dns: null, etcd: null }), warnings: [] },
      { name: 'patch bump, tags left pinned', old: k('v1.33.7-2'), new: k('v1.33.7-3'), warnings: [] },
      { name: 'CREATE with pinned tags', old: null, new: k('v1.34.5-3'), warnings: [] },
      { name: 'finalizer only (ratchet)', old: k('v1.33.7-2'), new: touch(k('v1.33.7-2')), warnings: [] },
    ])('$name', ({ old, new: next, warnings }) => {
      const d = evaluate(request(old === null ? 'CREATE' : 'UPDATE', old, next), world(), only(RULE))
      expect(outcome(d)).toMatchObject({ allowed: true, denied: [], warnings })
    })

    it('unchanged tags are advisory: a warning even when the action is deny', () => {
      const d = evaluate(request('UPDATE', k('v1.33.7-2'), k('v1.34.5-3')), world(), only({ [RULE]: 'deny' }))
      expect(outcome(d)).toMatchObject({ allowed: true, denied: [], warnings: [at(BOTH)] })
    })
  })

  describe('with a minor → tags table', () => {
    it.each([
      { name: 'minor upgrade with the accepted tags', old: k('v1.33.7-2'), new: k('v1.34.5-3', v134), expected: [] },
      { name: 'minor upgrade, tags left at v1.33', old: k('v1.33.7-2'), new: k('v1.34.5-3'), expected: [DNS, ETCD] },
      { name: 'minor upgrade, a wrong etcd tag', old: k('v1.33.7-2'), new: k('v1.34.5-3', { dns: v134.dns, etcd: 'v3.6.0' }), expected: [ETCD] },
      { name: 'CREATE with a wrong tag', old: null, new: k('v1.34.5-3', { dns: v134.dns, etcd: 'v3.6.0' }), expected: [ETCD] },
      { name: 'tag edited to a wrong one without a version change', old: k('v1.34.5-3', v134), new: k('v1.34.5-3', { dns: '1.11.3-v4.1.0', etcd: v134.etcd }), expected: [DNS] },
      { name: 'patch bump, an old wrong tag unchanged (ratchet)', old: k('v1.34.5', { dns: '1.11.3-v4.1.0', etcd: v134.etcd }), new: k('v1.34.5-3', { dns: '1.11.3-v4.1.0', etcd: v134.etcd }), expected: [] },
      { name: 'target minor not in the table: unchanged tags only warn', old: k('v1.33.7-2'), new: k('v1.33.7-3'), expected: [] },
    ])('$name', ({ old, new: next, expected }) => {
      const d = evaluate(request(old === null ? 'CREATE' : 'UPDATE', old, next), world(), only({ [RULE]: 'deny' }, TABLE))
      expect(d.denied.map((v) => v.field)).toEqual(expected)
    })

    it('a table with CoreDNS only: an unchanged etcd tag still warns', () => {
      const p = only({ [RULE]: 'deny' }, { componentTags: { 'v1.34': { coredns: [TAGS['v1.34'].dns] } } })
      const d = evaluate(request('UPDATE', k('v1.33.7-2'), k('v1.34.5-3', { dns: v134.dns })), world(), p)
      expect(outcome(d)).toMatchObject({ allowed: true, denied: [], warnings: [at(ETCD)] })
    })
  })
})

describe('messages', () => {
  it('unchanged tag across a minor: names the component and the target minor', () => {
    const [v, ...rest] = check(pinnedComponentTags, { old: kcp({ version: 'v1.33.7-2', etcdTag: null }), next: kcp({ version: 'v1.34.5-3', etcdTag: null }) })
    expect(rest).toEqual([])
    expect(v).toMatchObject({ rule: RULE, field: DNS, type: 'Invalid', value: TAGS['v1.33'].dns, advisory: true })
    expect(v?.message).toContain('pinned CoreDNS tag left unchanged across a minor upgrade to v1.34.5-3')
    expect(v?.hint).toContain('matches v1.34')
  })

  it('CoreDNS and etcd both left pinned: one finding naming both', () => {
    const vs = check(pinnedComponentTags, { old: kcp({ version: 'v1.33.7-2' }), next: kcp({ version: 'v1.34.5-3' }) })
    expect(vs).toHaveLength(1)
    expect(vs[0]).toMatchObject({ rule: RULE, field: BOTH, advisory: true, value: [TAGS['v1.33'].dns, TAGS['v1.33'].etcd] })
    expect(vs[0]?.message).toContain(`pinned CoreDNS and etcd tags left unchanged across a minor upgrade to v1.34.5-3 (dns.imageTag "${TAGS['v1.33'].dns}", etcd.local.imageTag "${TAGS['v1.33'].etcd}")`)
  })

  it('table mismatch: lists the accepted tags and sets the first', () => {
    const vs = check(pinnedComponentTags, { old: kcp({ version: 'v1.33.7-2' }), next: kcp({ version: 'v1.34.5-3' }), policy: only(RULE, TABLE) })
    const etcd = vs.find((v) => v.field === ETCD)
    expect(etcd?.advisory).toBeUndefined()
    expect(etcd?.message).toContain(`etcd tag is not one the policy accepts for v1.34 (${TAGS['v1.34'].etcd})`)
    expect(etcd?.hint).toBe(`set ${ETCD} to ${TAGS['v1.34'].etcd}`)
  })
})
