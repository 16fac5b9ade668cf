/**
 * Versions as bare-metal catalogs spell them. The revision suffix (`-2`, `-acp.1`, `-gke.146`)
 * makes a version NEWER, unlike a semver pre-release: `v1.33.7-2` > `v1.33.7`.
 */
import fc from 'fast-check'
import semver from 'semver'
import { describe, expect, it } from 'vitest'
import { compareVersions, isNewer, maxVersion, minorDistance, minVersion, parseVersion, sameMinor, tryParseVersion, type Version } from '../../src/versions/version.js'

const v = (raw: string): Version => {
  const r = parseVersion(raw, { allowMissingV: true })
  if (!r.ok) throw new Error(`${raw}: ${r.reason}`)
  return r.version
}

describe('parseVersion', () => {
  it.each([
    { name: 'plain', input: 'v1.33.7', expected: { major: 1, minor: 33, patch: 7, revision: [], raw: 'v1.33.7' } },
    { name: 'numeric distribution revision', input: 'v1.33.7-2', expected: { major: 1, minor: 33, patch: 7, revision: [2], raw: 'v1.33.7-2' } },
    { name: 'ACP named revision', input: 'v1.35.6-acp.1', expected: { major: 1, minor: 35, patch: 6, revision: ['acp', 1], raw: 'v1.35.6-acp.1' } },
    { name: 'GKE build', input: 'v1.28.100-gke.146', expected: { major: 1, minor: 28, patch: 100, revision: ['gke', 146], raw: 'v1.28.100-gke.146' } },
    { name: 'dash-separated revision parts', input: 'v1.34.5-1-rc-2', expected: { major: 1, minor: 34, patch: 5, revision: [1, 'rc', 2], raw: 'v1.34.5-1-rc-2' } },
    { name: 'zeros', input: 'v0.0.0', expected: { major: 0, minor: 0, patch: 0, revision: [], raw: 'v0.0.0' } },
  ])('$name: $input', ({ input, expected }) => {
    const r = parseVersion(input)
    expect(r).toEqual({ ok: true, version: expected })
  })

  it.each([
    { name: 'not a string', input: 1.33, reason: 'expected a string, got a number' },
    { name: 'null', input: null, reason: 'expected a string, got null' },
    { name: 'an object', input: { version: 'v1.33.7' }, reason: 'expected a string, got an object' },
    { name: 'a list', input: ['v1.33.7'], reason: 'expected a string, got a list' },
    { name: 'empty', input: '', reason: 'is empty' },
    { name: 'too long', input: `v1.33.7-${'a'.repeat(300)}`, reason: 'longer than 256' },
    { name: 'two parts', input: 'v1.33', reason: 'vMAJOR.MINOR.PATCH' },
    { name: 'four parts', input: 'v1.33.7.1', reason: 'vMAJOR.MINOR.PATCH' },
    { name: 'leading zero', input: 'v1.034.5', reason: 'vMAJOR.MINOR.PATCH' },
    { name: 'wildcard patch', input: 'v1.33.x', reason: 'vMAJOR.MINOR.PATCH' },
    { name: 'upper-case V', input: 'V1.33.7', reason: 'vMAJOR.MINOR.PATCH' },
    { name: 'surrounding space', input: ' v1.33.7', reason: 'vMAJOR.MINOR.PATCH' },
    { name: 'semver build metadata', input: 'v1.33.7+build.1', reason: 'vMAJOR.MINOR.PATCH' },
    { name: 'empty revision', input: 'v1.33.7-', reason: 'vMAJOR.MINOR.PATCH' },
    { name: 'empty revision part', input: 'v1.33.7-acp..1', reason: 'vMAJOR.MINOR.PATCH' },
    { name: 'underscore', input: 'v1.34.5_x', reason: 'vMAJOR.MINOR.PATCH' },
    { name: 'garbage', input: 'latest', reason: 'vMAJOR.MINOR.PATCH' },
    { name: 'double v', input: 'vv1.33.7', reason: 'vMAJOR.MINOR.PATCH' },
    { name: 'unsafe integer', input: 'v1.99999999999999999999.0', reason: 'too large' },
  ])('refuses $name', ({ input, reason }) => {
    const r = parseVersion(input)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.reason).toContain(reason)
      expect(r.fixed).toBeUndefined()
    }
  })

  it.each([
    { name: 'plain', input: '1.34.5', fixed: 'v1.34.5' },
    { name: 'revision', input: '1.33.7-2', fixed: 'v1.33.7-2' },
    { name: 'ACP suffix', input: '1.35.6-acp.1', fixed: 'v1.35.6-acp.1' },
  ])('missing leading v ($name): error naming "$fixed"', ({ input, fixed }) => {
    const r = parseVersion(input)
    expect(r).toEqual({ ok: false, reason: `lacks the leading "v"; use "${fixed}"`, fixed })
  })

  it.each([
    { name: 'accepted with allowMissingV', input: '1.34.5', raw: 'v1.34.5' },
    { name: 'with a v it is the same', input: 'v1.34.5', raw: 'v1.34.5' },
  ])('$name', ({ input, raw }) => {
    const r = parseVersion(input, { allowMissingV: true })
    expect(r.ok && r.version.raw).toBe(raw)
  })

  it('allowMissingV does not accept garbage', () => {
    expect(parseVersion('1.34', { allowMissingV: true }).ok).toBe(false)
  })

  it('tryParseVersion: a version or undefined', () => {
    expect(tryParseVersion('v1.33.7-2')?.revision).toEqual([2])
    expect(tryParseVersion('1.33.7')).toBeUndefined()
    expect(tryParseVersion(undefined)).toBeUndefined()
  })
})

describe('ordering', () => {
  it.each([
    { name: 'a revision is NEWER than none (semver says older)', older: 'v1.33.7', newer: 'v1.33.7-2' },
    { name: 'revisions compare as numbers: -10 > -9', older: 'v1.33.7-9', newer: 'v1.33.7-10' },
    { name: 'revisions compare as numbers: -10 > -3', older: 'v1.33.7-3', newer: 'v1.33.7-10' },
    { name: 'ACP shipping order v1.34.5 → -1 → -3', older: 'v1.34.5-1', newer: 'v1.34.5-3' },
    { name: 'patch beats revision', older: 'v1.33.7-10', newer: 'v1.33.8' },
    { name: 'minor beats patch', older: 'v1.33.100', newer: 'v1.34.0' },
    { name: 'minors as numbers', older: 'v1.9.0', newer: 'v1.10.0' },
    { name: 'GKE builds as numbers', older: 'v1.28.100-gke.99', newer: 'v1.28.100-gke.146' },
    { name: 'named revision newer than the plain patch', older: 'v1.35.6', newer: 'v1.35.6-acp.1' },
    { name: 'longer revision is newer', older: 'v1.35.6-acp', newer: 'v1.35.6-acp.1' },
    { name: 'numbers before words (semver identifier rule)', older: 'v1.35.6-2', newer: 'v1.35.6-acp.1' },
    { name: 'words as text', older: 'v1.35.6-acp.1', newer: 'v1.35.6-bcp.1' },
  ])('$name: $older < $newer', ({ older, newer }) => {
    expect(compareVersions(v(older), v(newer))).toBeLessThan(0)
    expect(compareVersions(v(newer), v(older))).toBeGreaterThan(0)
    expect(isNewer(v(newer), v(older))).toBe(true)
    expect(isNewer(v(older), v(newer))).toBe(false)
  })

  it('semver itself gets the revision rule wrong (why version.ts exists)', () => {
    expect(semver.lt('1.33.7-2', '1.33.7')).toBe(true)
    expect(compareVersions(v('v1.33.7-2'), v('v1.33.7'))).toBeGreaterThan(0)
  })

  it('sorts the reference catalog in ACP shipping order', () => {
    const keys = ['v1.34.5-3', 'v1.33.7-10', 'v1.32.7', 'v1.35.6-acp.1', 'v1.33.7-2', 'v1.34.5', 'v1.33.7-3', 'v1.32.8', 'v1.34.5-1']
    const sorted = keys.map(v).sort(compareVersions).map((x) => x.raw)
    expect(sorted).toEqual(['v1.32.7', 'v1.32.8', 'v1.33.7-2', 'v1.33.7-3', 'v1.33.7-10', 'v1.34.5', 'v1.34.5-1', 'v1.34.5-3', 'v1.35.6-acp.1'])
  })

  it('minVersion / maxVersion skip unknowns', () => {
    expect(minVersion(v('v1.33.7-2'), undefined, v('v1.32.8'))?.raw).toBe('v1.32.8')
    expect(maxVersion(undefined, v('v1.33.7'), v('v1.33.7-2'))?.raw).toBe('v1.33.7-2')
    expect(minVersion()).toBeUndefined()
    expect(maxVersion(undefined)).toBeUndefined()
  })
})

describe('minorDistance', () => {
  it.each([
    { name: 'one minor up', from: 'v1.32.8', to: 'v1.33.7-2', expected: 1 },
    { name: 'two minors up', from: 'v1.32.8', to: 'v1.34.5-3', expected: 2 },
    { name: 'same minor, patch and revision ignored', from: 'v1.33.7', to: 'v1.33.9-10', expected: 0 },
    { name: 'down', from: 'v1.34.5', to: 'v1.32.7', expected: -2 },
    { name: 'GKE: 1.16.3 → 1.28.100-gke.146 is far', from: 'v1.16.3', to: 'v1.28.100-gke.146', expected: 12 },
    { name: 'across majors: undefined', from: 'v1.34.5', to: 'v2.0.0', expected: undefined },
  ])('$name', ({ from, to, expected }) => {
    expect(minorDistance(v(from), v(to))).toBe(expected)
  })

  it('sameMinor ignores patch and revision', () => {
    expect(sameMinor(v('v1.33.7'), v('v1.33.7-10'))).toBe(true)
    expect(sameMinor(v('v1.33.7'), v('v1.34.7'))).toBe(false)
    expect(sameMinor(v('v1.33.7'), v('v2.33.7'))).toBe(false)
  })
})

describe('properties (fast-check)', () => {
  const word = fc.constantFrom('acp', 'gke', 'rc', 'x')
  const revisionPart = fc.oneof(fc.nat({ max: 1_000_000 }), word)
  /** Canonical spellings: numbers without leading zeros, parts joined with '.' only. */
  const versionText = fc
    .record({
      major: fc.nat({ max: 3 }),
      minor: fc.nat({ max: 40 }),
      patch: fc.nat({ max: 200 }),
      revision: fc.array(revisionPart, { maxLength: 3 }),
    })
    .map(({ major, minor, patch, revision }) => `v${major}.${minor}.${patch}${revision.length > 0 ? `-${revision.join('.')}` : ''}`)
  const version = versionText.map(v)
  const sign = (n: number): number => (n > 0 ? 1 : n < 0 ? -1 : 0)

  it('every generated spelling parses and keeps its raw text', () => {
    fc.assert(fc.property(versionText, (text) => parseVersion(text).ok && v(text).raw === text))
  })

  it('reflexive, and 0 exactly when the raw spellings are equal', () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(compareVersions(a, a)).toBe(0)
        expect(compareVersions(a, b) === 0).toBe(a.raw === b.raw)
      }),
    )
  })

  it('antisymmetric', () => {
    fc.assert(fc.property(version, version, (a, b) => sign(compareVersions(a, b)) === -sign(compareVersions(b, a))))
  })

  it('transitive', () => {
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        const [x, y, z] = [a, b, c].sort(compareVersions) as [Version, Version, Version]
        expect(compareVersions(x, y)).toBeLessThanOrEqual(0)
        expect(compareVersions(y, z)).toBeLessThanOrEqual(0)
        expect(compareVersions(x, z)).toBeLessThanOrEqual(0)
      }),
    )
  })

  it('transitive on chains: a ≤ b and b ≤ c imply a ≤ c', () => {
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        fc.pre(compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0)
        return compareVersions(a, c) <= 0
      }),
      { numRuns: 2000 },
    )
  })

  it('appending a revision makes a version newer', () => {
    fc.assert(
      fc.property(versionText, fc.array(revisionPart, { minLength: 1, maxLength: 3 }), (base, extra) => {
        const sep = base.includes('-') ? '.' : '-'
        return compareVersions(v(`${base}${sep}${extra.join('.')}`), v(base)) > 0
      }),
    )
  })

  it('numeric revisions order numerically (not as text)', () => {
    fc.assert(
      fc.property(version.filter((x) => x.revision.length === 0), fc.nat({ max: 100_000 }), fc.nat({ max: 100_000 }), (base, r1, r2) => {
        const a = v(`${base.raw}-${r1}`)
        const b = v(`${base.raw}-${r2}`)
        return sign(compareVersions(a, b)) === sign(r1 - r2)
      }),
    )
  })

  it('agrees with semver on major.minor.patch', () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        const core = semver.compare(`${a.major}.${a.minor}.${a.patch}`, `${b.major}.${b.minor}.${b.patch}`)
        if (core !== 0) return sign(compareVersions(a, b)) === core
        return true
      }),
    )
  })

  it('equals semver exactly for versions without a revision', () => {
    fc.assert(
      fc.property(version.filter((x) => x.revision.length === 0), version.filter((x) => x.revision.length === 0), (a, b) => sign(compareVersions(a, b)) === semver.compare(a.raw, b.raw)),
    )
  })

  it('minorDistance is antisymmetric within a major', () => {
    fc.assert(fc.property(version, version, (a, b) => (a.major === b.major ? minorDistance(a, b) === -(minorDistance(b, a) ?? NaN) : minorDistance(a, b) === undefined)))
  })

  it('never throws on arbitrary input', () => {
    fc.assert(fc.property(fc.anything(), (input) => typeof parseVersion(input).ok === 'boolean'))
    fc.assert(fc.property(fc.string(), (input) => typeof parseVersion(input).ok === 'boolean'))
  })

  /*
   * Known gap (reported to the lead, version.ts is not ours to change): spellings that differ
   * only in leading zeros of a revision number or in the separator ('.' vs '-') compare EQUAL,
   * so compareVersions is a total preorder, not a total order on raw versions. Catalog keys are
   * matched byte for byte, so two such keys are distinct entries that sort as ties. This test
   * fails today and documents it; when version.ts is fixed, vitest reports it and `.fails` goes.
   */
  it('0 only for equal raws, also for -02 vs -2 and -a.1 vs -a-1', () => {
    expect(compareVersions(v('v1.33.7-02'), v('v1.33.7-2'))).not.toBe(0)
    expect(compareVersions(v('v1.35.6-acp-1'), v('v1.35.6-acp.1'))).not.toBe(0)
  })
})
