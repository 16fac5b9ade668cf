/**
 * catalog-key: the version a KCP or MD asks for must be a key of elemental-image-catalog.
 * ACP: "If the key is missing when CAPI creates the replacement Machine, the resulting
 * BaremetalMachine enters Failed with ImageResolved=False / Reason=ImageCatalogMiss".
 */
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/engine/evaluate.js'
import type { ApiLevel } from '../../src/objects/capi.js'
import { readCatalog } from '../../src/objects/catalog.js'
import { catalogKey, nearestKeys } from '../../src/rules/catalog-key.js'
import { MemoryView } from '../../src/state/memory-view.js'
import { tryParseVersion } from '../../src/versions/version.js'
import { catalog, check, cluster, deniedFields, kcp, md, only, request, touch, view, world, type Obj } from '../helpers/objects.js'

const LEVELS: readonly ApiLevel[] = ['v1beta1', 'v1beta2']
const RULE = 'catalog-key'

interface Row {
  readonly name: string
  readonly old: Obj | null
  readonly new: Obj
  readonly expected: readonly string[]
}

const rows = (level: ApiLevel): Row[] => {
  const k = (version: unknown, extra: Parameters<typeof kcp>[0] = {}): Obj => kcp({ level, version, statusVersion: 'v1.33.7-2', ...extra })
  const m = (version: unknown): Obj => md({ level, version })
  const KCP = 'spec.version'
  const MD = 'spec.template.spec.version'
  return [
    { name: 'KCP CREATE with a catalog key', old: null, new: k('v1.33.7-2'), expected: [] },
    { name: 'KCP CREATE with a key missing from the catalog', old: null, new: k('v1.33.8'), expected: [KCP] },
    { name: 'KCP UPDATE to a catalog key', old: k('v1.33.7-2'), new: k('v1.33.7-10'), expected: [] },
    { name: 'KCP UPDATE to a missing key', old: k('v1.33.7-2'), new: k('v1.33.9'), expected: [KCP] },
    { name: 'KCP UPDATE without the leading v', old: k('v1.33.7-2'), new: k('1.33.7-3'), expected: [KCP] },
    { name: 'KCP UPDATE to a revision the catalog lacks (v1.34.5-2)', old: k('v1.33.7-2'), new: k('v1.34.5-2'), expected: [KCP] },
    { name: 'KCP UPDATE, version unchanged and already missing: finalizer only (ratchet)', old: k('v1.33.0'), new: touch(k('v1.33.0')), expected: [] },
    { name: 'KCP UPDATE, version unchanged and missing: replicas change (ratchet)', old: k('v1.33.0'), new: k('v1.33.0', { replicas: 5 }), expected: [] },
    { name: 'MD CREATE with a catalog key', old: null, new: m('v1.32.8'), expected: [] },
    { name: 'MD CREATE without a version: nothing to resolve an image from', old: null, new: m(null), expected: [MD] },
    { name: 'MD UPDATE removing the version (rolls every worker)', old: m('v1.32.8'), new: m(null), expected: [MD] },
    { name: 'MD UPDATE, version absent before and after (ratchet)', old: m(null), new: touch(m(null)), expected: [] },
    { name: 'MD CREATE with a missing key', old: null, new: m('v1.32.9'), expected: [MD] },
    { name: 'MD UPDATE to a catalog key', old: m('v1.32.8'), new: m('v1.33.7-2'), expected: [] },
    { name: 'MD UPDATE to a missing key', old: m('v1.32.8'), new: m('v1.33.7'), expected: [MD] },
    { name: 'MD UPDATE without the leading v', old: m('v1.32.8'), new: m('1.33.7-2'), expected: [MD] },
    { name: 'MD UPDATE to a non-string version', old: m('v1.32.8'), new: m(1.33), expected: [MD] },
    { name: 'MD UPDATE, version unchanged and missing: label only (ratchet)', old: m('v1.31.0'), new: touch(m('v1.31.0')), expected: [] },
    { name: 'MD not bare metal, missing key (out of scope)', old: null, new: md({ level, version: 'v1.99.0', infraKind: 'Metal3MachineTemplate' }), expected: [] },
  ]
}

describe.each(LEVELS)('%s', (level) => {
  it.each(rows(level))('$name', ({ old, new: next, expected }) => {
    expect(deniedFields(RULE, request(old === null ? 'CREATE' : 'UPDATE', old, next), world())).toEqual(expected)
  })
})

describe('messages and hints', () => {
  it('a missing key names the nearest keys (same minor first, numeric revisions) and the patch command', () => {
    const [v] = check(catalogKey, { old: kcp(), next: kcp({ version: 'v1.33.8' }), view: world() })
    expect(v).toMatchObject({ rule: RULE, field: 'spec.version', type: 'NotFound', value: 'v1.33.8' })
    expect(v?.message).toContain('ImageCatalogMiss')
    expect(v?.message).toContain('cpaas-system/elemental-image-catalog')
    expect(v?.message).toContain('nearest keys: v1.33.7-10, v1.33.7-3, v1.33.7-2')
    expect(v?.hint).toContain('kubectl -n cpaas-system patch configmap elemental-image-catalog')
    expect(v?.hint).toContain('"path":"/data/v1.33.8"')
  })

  it('a version without the leading v says so and names the fixed spelling', () => {
    const [v] = check(catalogKey, { next: md({ version: '1.34.5' }), view: world() })
    expect(v).toMatchObject({ rule: RULE, field: 'spec.template.spec.version', type: 'Invalid', value: '1.34.5' })
    expect(v?.message).toContain('lacks the leading "v"')
    expect(v?.hint).toContain('"v1.34.5"')
  })

  it('an empty catalog says so', () => {
    const [v] = check(catalogKey, { next: kcp(), view: view([catalog([])]) })
    expect(v?.message).toContain('the catalog is empty')
  })

  it('a missing catalog ConfigMap is named, with the key to add', () => {
    const [v] = check(catalogKey, { next: kcp({ version: 'v1.34.5' }), view: view([cluster()]) })
    expect(v).toMatchObject({ rule: RULE, field: 'spec.version', type: 'Forbidden' })
    expect(v?.message).toContain('cpaas-system/elemental-image-catalog does not exist')
    expect(v?.hint).toContain('"v1.34.5"')
  })

  it('a catalog moved by the policy is the one consulted and named', () => {
    const ref = { namespace: 'baremetal', name: 'images' }
    const moved = new MemoryView(ref)
    moved.upsert(catalog(['v1.33.7-2'], ref))
    const policy = only(RULE, { catalog: ref })
    expect(evaluate(request('CREATE', null, kcp({ version: 'v1.33.7-2' })), moved, policy).allowed).toBe(true)
    const d = evaluate(request('CREATE', null, kcp({ version: 'v1.34.5' })), moved, policy)
    expect(d.denied[0]?.message).toContain('not a key of baremetal/images')
    expect(d.denied[0]?.message).toContain('nearest keys: v1.33.7-2')
  })
})

describe('nearestKeys', () => {
  const ref = readCatalog(catalog())
  it.each([
    { name: 'same minor, newest first, -10 above -3', wanted: 'v1.33.8', expected: ['v1.33.7-10', 'v1.33.7-3', 'v1.33.7-2'] },
    { name: 'same minor v1.34', wanted: 'v1.34.6', expected: ['v1.34.5-3', 'v1.34.5-1', 'v1.34.5'] },
    { name: 'no key of that minor: neighbours', wanted: 'v1.36.0', expected: ['v1.35.6-acp.1', 'v1.34.5-3', 'v1.34.5-1'] },
    { name: 'older minor: neighbours', wanted: 'v1.31.0', expected: ['v1.32.8', 'v1.32.7', 'v1.33.7-10'] },
    { name: 'unknown wanted: newest keys', wanted: 'garbage', expected: ['v1.35.6-acp.1', 'v1.34.5-3', 'v1.34.5-1'] },
  ])('$name', ({ wanted, expected }) => expect(nearestKeys(ref, tryParseVersion(wanted))).toEqual(expected))

  it('skips keys that are not versions', () => {
    const odd = readCatalog(catalog({ '1.33.9': 'x:1', 'latest': 'x:1', 'v1.33.1': 'x:1' }))
    expect(nearestKeys(odd, tryParseVersion('v1.33.8'))).toEqual(['v1.33.1'])
  })
})
