/**
 * @module versions/version
 * Kubernetes versions as bare-metal catalogs spell them: `v1.33.7`, `v1.33.7-2` (distribution
 * revision 2), `v1.35.6-acp.1`, `v1.28.100-gke.146`.
 *
 * The suffix after the patch number is a *revision*, not a semver pre-release: `v1.33.7-2` is
 * NEWER than `v1.33.7` (ACP ships v1.34.5, then v1.34.5-1, then v1.34.5-3). semver does the
 * major.minor.patch arithmetic; the revision ordering is ours.
 */

export interface Version {
  readonly major: number
  readonly minor: number
  readonly patch: number
  /** Revision parts split on `.` and `-`, numbers as numbers (`acp.1` → ['acp', 1]). */
  readonly revision: readonly (string | number)[]
  /** The canonical spelling, always with the leading `v`. */
  readonly raw: string
}

export type ParseResult =
  | { readonly ok: true; readonly version: Version }
  | { readonly ok: false; readonly reason: string; readonly fixed?: string }

export interface ParseOptions {
  /** Accept `1.33.7` (no leading `v`); catalogs and CAPI never do, a CLI argument may. */
  readonly allowMissingV?: boolean
}

const MAX_LENGTH = 256
const CORE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z]+(?:[.-][0-9A-Za-z]+)*))?$/
const NUMERIC = /^\d+$/

/**
 * Results by input, one map per option. The same few versions (the request's, its cluster's,
 * the catalog keys) are parsed by several rules on every request; a result is immutable, so it
 * is shared. Bounded: a stranger sending made-up versions only ever costs a clear.
 */
const PARSED = { strict: new Map<string, ParseResult>(), lenient: new Map<string, ParseResult>() }
const MAX_CACHED = 2048

/**
 * Parses a version. Without `allowMissingV` a version lacking the leading `v` is refused, and
 * the result names the fixed spelling in `fixed`. The result is frozen (and may be shared).
 */
export function parseVersion(input: unknown, options: ParseOptions = {}): ParseResult {
  if (typeof input !== 'string') return { ok: false, reason: `expected a string, got ${describeType(input)}` }
  const cache = options.allowMissingV === true ? PARSED.lenient : PARSED.strict
  const cached = cache.get(input)
  if (cached !== undefined) return cached
  const result = parseUncached(input, options)
  if (cache.size >= MAX_CACHED) cache.clear()
  cache.set(input, result)
  return result
}

function parseUncached(input: string, options: ParseOptions): ParseResult {
  if (input.length === 0) return Object.freeze({ ok: false, reason: 'is empty' })
  if (input.length > MAX_LENGTH) return Object.freeze({ ok: false, reason: `is longer than ${MAX_LENGTH} characters` })
  const hasV = input.startsWith('v')
  const body = hasV ? input.slice(1) : input
  const match = CORE.exec(body)
  if (match === null) {
    return Object.freeze({ ok: false, reason: 'is not of the form vMAJOR.MINOR.PATCH[-REVISION] (e.g. v1.33.7 or v1.33.7-2)' })
  }
  const [, major, minor, patch, suffix] = match
  const version: Version = Object.freeze({
    major: Number(major),
    minor: Number(minor),
    patch: Number(patch),
    revision: Object.freeze(suffix === undefined ? [] : suffix.split(/[.-]/).map((p) => (NUMERIC.test(p) ? Number(p) : p))),
    raw: `v${body}`,
  })
  if (!Number.isSafeInteger(version.major) || !Number.isSafeInteger(version.minor) || !Number.isSafeInteger(version.patch)) {
    return Object.freeze({ ok: false, reason: 'has a number too large to compare' })
  }
  if (!hasV && options.allowMissingV !== true) {
    return Object.freeze({ ok: false, reason: `lacks the leading "v"; use "v${body}"`, fixed: `v${body}` })
  }
  return Object.freeze({ ok: true, version })
}

/** Parses or returns undefined; for places where a bad version was already reported elsewhere. */
export function tryParseVersion(input: unknown, options: ParseOptions = {}): Version | undefined {
  const result = parseVersion(input, options)
  return result.ok ? result.version : undefined
}

function comparePart(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  // Numbers sort before words, as in semver's identifier rule; words compare as text.
  if (typeof a === 'number') return -1
  if (typeof b === 'number') return 1
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Total order: major.minor.patch (numerically, as semver orders them: the numbers are safe
 * integers, so plain comparison; no SemVer objects on the admission path), then the revision
 * part by part (numbers as numbers); no revision is the oldest build of that patch.
 */
export function compareVersions(a: Version, b: Version): number {
  if (a.major !== b.major) return a.major < b.major ? -1 : 1
  if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1
  if (a.patch !== b.patch) return a.patch < b.patch ? -1 : 1
  const length = Math.min(a.revision.length, b.revision.length)
  for (let i = 0; i < length; i++) {
    const order = comparePart(a.revision[i] as string | number, b.revision[i] as string | number)
    if (order !== 0) return Math.sign(order)
  }
  if (a.revision.length !== b.revision.length) return Math.sign(a.revision.length - b.revision.length)
  // Equal by value but spelled differently (-02 vs -2, -acp.1 vs -acp-1): order by spelling so
  // the order stays total on catalog keys, which match byte for byte.
  return a.raw < b.raw ? -1 : a.raw > b.raw ? 1 : 0
}

export const isNewer = (a: Version, b: Version): boolean => compareVersions(a, b) > 0

export function minVersion(...versions: readonly (Version | undefined)[]): Version | undefined {
  let lowest: Version | undefined
  for (const v of versions) if (v !== undefined && (lowest === undefined || compareVersions(v, lowest) < 0)) lowest = v
  return lowest
}

export function maxVersion(...versions: readonly (Version | undefined)[]): Version | undefined {
  let highest: Version | undefined
  for (const v of versions) if (v !== undefined && (highest === undefined || compareVersions(v, highest) > 0)) highest = v
  return highest
}

/** Minor versions from `from` to `to` (negative when `to` is older); undefined across majors. */
export function minorDistance(from: Version, to: Version): number | undefined {
  return from.major === to.major ? to.minor - from.minor : undefined
}

export const sameMinor = (a: Version, b: Version): boolean => a.major === b.major && a.minor === b.minor

export const minorLabel = (v: Version): string => `v${v.major}.${v.minor}`

export function describeType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}
