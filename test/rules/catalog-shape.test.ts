/**
 * catalog-shape: every catalog key a version with the leading `v`, every value an image
 * reference. ACP: "The key must include the leading v (for example v1.34.5)."
 */
import { describe, expect, it } from 'vitest'
import { evaluate } from '../../src/engine/evaluate.js'
import { catalogShape, imageReferenceProblem } from '../../src/rules/catalog-shape.js'
import { catalog, check, deniedFields, image, only, REFERENCE_KEYS, request, view, world, type Obj } from '../helpers/objects.js'

const RULE = 'catalog-shape'
const reference = Object.fromEntries(REFERENCE_KEYS.map((k) => [k, image(k)]))
const withKeys = (extra: Record<string, string>, base: Record<string, string> = reference): Obj => catalog({ ...base, ...extra })
const GOOD = 'registry.example.com:11443/tkestack/baremetal-base-image:v4.3.2-1-1.34.5-3'
const DIGEST = `registry.example.com:11443/tkestack/baremetal-base-image@sha256:${'a'.repeat(64)}`

describe('catalog edits', () => {
  it.each([
    { name: 'CREATE the reference catalog', old: null, new: catalog(), expected: [] },
    { name: 'CREATE with a key lacking the v', old: null, new: withKeys({ '1.34.6': GOOD }), expected: ['data[1.34.6]'] },
    { name: 'UPDATE adds a good key (Option B patch)', old: catalog(), new: withKeys({ 'v1.34.6': GOOD }), expected: [] },
    { name: 'UPDATE adds a digest-pinned image', old: catalog(), new: withKeys({ 'v1.34.6': DIGEST }), expected: [] },
    { name: 'UPDATE adds a key lacking the v', old: catalog(), new: withKeys({ '1.34.6': GOOD }), expected: ['data[1.34.6]'] },
    { name: 'UPDATE adds a key that is no version', old: catalog(), new: withKeys({ 'v1.34': GOOD }), expected: ['data[v1.34]'] },
    { name: 'UPDATE adds an image without tag or digest', old: catalog(), new: withKeys({ 'v1.34.6': 'registry.example.com:11443/tkestack/baremetal-base-image' }), expected: ['data[v1.34.6]'] },
    { name: 'UPDATE adds an image that is not a reference', old: catalog(), new: withKeys({ 'v1.34.6': 'not an image' }), expected: ['data[v1.34.6]'] },
    { name: 'UPDATE adds an upper-case repository', old: catalog(), new: withKeys({ 'v1.34.6': 'registry.example.com/TKEStack/base:v1' }), expected: ['data[v1.34.6]'] },
    { name: 'UPDATE adds a bad key with a bad value: both reported', old: catalog(), new: withKeys({ '1.34.6': '' }), expected: ['data[1.34.6]', 'data[1.34.6]'] },
    { name: 'UPDATE changes a value to a bad one', old: catalog(), new: withKeys({ 'v1.34.5': 'registry.example.com/x' }), expected: ['data[v1.34.5]'] },
    { name: 'UPDATE leaves an old bad key alone, adds a good one (ratchet)', old: withKeys({ '1.30.0': GOOD }), new: withKeys({ '1.30.0': GOOD, 'v1.34.6': GOOD }), expected: [] },
    { name: 'UPDATE fixes an old bad key (rename)', old: withKeys({ '1.30.0': GOOD }), new: withKeys({ 'v1.30.0': GOOD }), expected: [] },
    { name: 'UPDATE removes keys only', old: catalog(), new: catalog(['v1.33.7-2', 'v1.32.8']), expected: [] },
  ])('$name', ({ old, new: next, expected }) => {
    // catalog-in-use is off here: only this rule's view of the edit.
    expect(deniedFields(RULE, request(old === null ? 'CREATE' : 'UPDATE', old, next), view([]))).toEqual(expected)
  })

  it('DELETE is not this rule\'s business', () => {
    expect(deniedFields(RULE, request('DELETE', withKeys({ '1.30.0': 'x' }), null), view([]))).toEqual([])
  })

  it('another ConfigMap with bad keys is skipped', () => {
    const other = catalog({ '1.34.6': 'x' }, { name: 'something-else' })
    const d = evaluate(request('CREATE', null, other), view([]), only(RULE))
    expect(d).toMatchObject({ allowed: true, skipped: 'other-configmap' })
  })

  it('a same-named ConfigMap in another namespace is skipped', () => {
    const other = catalog({ '1.34.6': 'x' }, { namespace: 'default' })
    const d = evaluate(request('CREATE', null, other), world(), only(RULE))
    expect(d).toMatchObject({ allowed: true, skipped: 'other-configmap' })
  })
})

describe('messages and hints', () => {
  it('a key without v: suggest the fix', () => {
    const [v] = check(catalogShape, { old: catalog(), next: withKeys({ '1.34.5': GOOD }) })
    expect(v).toMatchObject({ rule: RULE, field: 'data[1.34.5]', type: 'Invalid', value: '1.34.5' })
    expect(v?.message).toContain('lacks the leading "v"')
    expect(v?.hint).toBe('rename the key to "v1.34.5"')
  })

  it('a key that is no version: example keys', () => {
    const [v] = check(catalogShape, { old: catalog(), next: withKeys({ latest: GOOD }) })
    expect(v?.message).toContain('catalog key is not of the form vMAJOR.MINOR.PATCH')
    expect(v?.hint).toContain('"v1.34.5"')
  })

  it('an image without tag explains :latest', () => {
    const [v] = check(catalogShape, { old: catalog(), next: withKeys({ 'v1.34.6': 'registry.example.com/base' }) })
    expect(v).toMatchObject({ field: 'data[v1.34.6]', value: 'registry.example.com/base' })
    expect(v?.message).toContain('no tag or digest')
  })
})

describe('imageReferenceProblem', () => {
  it.each([
    { name: 'registry with port, tag', value: GOOD, ok: true },
    { name: 'digest', value: DIGEST, ok: true },
    { name: 'tag and digest', value: `registry.example.com/base:v1@sha256:${'0'.repeat(64)}`, ok: true },
    { name: 'docker hub short name with tag', value: 'busybox:1.36', ok: true },
    { name: 'IPv6 registry', value: '[fd00::1]:5000/base:v1', ok: true },
    { name: 'no tag', value: 'registry.example.com/base', ok: false },
    { name: 'empty', value: '', ok: false },
    { name: 'spaces', value: 'registry.example.com/base: v1', ok: false },
    { name: 'short digest', value: 'registry.example.com/base@sha256:abc', ok: false },
    { name: 'too long', value: `r.example.com/${'a'.repeat(1100)}:v1`, ok: false },
    // OCI image-spec digest grammar: algorithm ":" encoded; sha256 = 64 hex, sha512 = 128 hex.
    { name: 'sha512 digest', value: `registry.example.com/base@sha512:${'b'.repeat(128)}`, ok: true },
    { name: 'tag and sha512 digest', value: `registry.example.com:11443/base:v1@sha512:${'0123456789abcdef'.repeat(8)}`, ok: true },
    { name: 'sha512 digest of 64 hex', value: `registry.example.com/base@sha512:${'b'.repeat(64)}`, ok: false },
    { name: 'sha256 digest of 128 hex', value: `registry.example.com/base@sha256:${'b'.repeat(128)}`, ok: false },
    { name: 'sha256 digest in upper case', value: `registry.example.com/base@sha256:${'A'.repeat(64)}`, ok: false },
    { name: 'unregistered algorithm (grammar ok)', value: `registry.example.com/base@blake3:${'c'.repeat(64)}`, ok: false },
    { name: 'algorithm with a separator but unregistered', value: `registry.example.com/base@sha256+b64u:${'c'.repeat(43)}`, ok: false },
    { name: 'digest algorithm in upper case (grammar)', value: `registry.example.com/base@SHA256:${'a'.repeat(64)}`, ok: false },
  ])('$name', ({ value, ok }) => expect(imageReferenceProblem(value) === undefined).toBe(ok))

  it('names the problem with a digest', () => {
    expect(imageReferenceProblem(`r.example.com/base@sha512:${'b'.repeat(64)}`)).toBe('pins a sha512 digest that is not 128 lowercase hex characters')
    expect(imageReferenceProblem(`r.example.com/base@blake3:${'c'.repeat(64)}`)).toContain('algorithm "blake3", which registries do not serve (use sha256 or sha512)')
  })
})
