/**
 * Freshness bookkeeping of the live caches and the relist backoff, with a fake clock: a
 * connected watch (or a completed list) is fresh however idle; the moment a watch drops the cache
 * is behind and the view unavailable, with one short current reason. A property test checks that
 * for any sequence of list/watch events.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { backoffDelay, DEFAULT_BACKOFF, describeError, isUnreachable } from '../../src/state/informer-view.js'
import { CacheHealth, REASON_MAX, summarizeHealth } from '../../src/state/staleness.js'

const T0 = 1_700_000_000_000
const s = (n: number): number => n * 1000

type Step = (h: CacheHealth) => void
const listedAt = (t: number): Step => (h) => h.listed(t)
const connectedAt = (t: number): Step => (h) => h.connected(t)
const disconnectedAt = (t: number): Step => (h) => h.disconnected(t)
const eventAt = (t: number): Step => (h) => h.event(t)

function health(...steps: Step[]): CacheHealth {
  const h = new CacheHealth()
  for (const step of steps) step(h)
  return h
}

describe('CacheHealth.ageMs', () => {
  it.each([
    { name: 'never listed', steps: [], now: T0, expected: undefined },
    { name: 'never listed, watch connected', steps: [connectedAt(T0)], now: T0 + s(10), expected: undefined },
    { name: 'just listed', steps: [listedAt(T0)], now: T0 + 500, expected: 500 },
    { name: 'connected and idle for an hour', steps: [listedAt(T0), connectedAt(T0)], now: T0 + s(3600), expected: 0 },
    { name: 'disconnected: ages from the drop', steps: [listedAt(T0), connectedAt(T0), disconnectedAt(T0 + s(100))], now: T0 + s(130), expected: s(30) },
    { name: 'an event while disconnected refreshes', steps: [listedAt(T0), eventAt(T0 + s(5))], now: T0 + s(6), expected: s(1) },
    { name: 'a relist refreshes', steps: [listedAt(T0), connectedAt(T0), disconnectedAt(T0 + s(1)), listedAt(T0 + s(50))], now: T0 + s(51), expected: s(1) },
    { name: 'a second disconnect does not refresh', steps: [listedAt(T0), connectedAt(T0), disconnectedAt(T0 + s(1)), disconnectedAt(T0 + s(40))], now: T0 + s(41), expected: s(40) },
  ])('$name', ({ steps, now, expected }) => expect(health(...steps).ageMs(now)).toBe(expected))
})

describe('CacheHealth: behind at once', () => {
  it('is fresh after a list and while the watch is connected, however idle', () => {
    const h = health(listedAt(T0), connectedAt(T0))
    expect(h.isFresh).toBe(true)
    expect(h.behindSince).toBeUndefined()
  })

  it.each([
    { name: 'a dropped watch', step: disconnectedAt(T0 + s(5)) },
    { name: 'a clean watch end (resumed later)', step: (h: CacheHealth) => h.resuming(T0 + s(5)) },
    { name: 'a failure', step: (h: CacheHealth) => h.failed('fetch failed (ECONNREFUSED)', T0 + s(5), T0 + s(5)) },
  ])('is behind from the moment of $name until a relist or reconnect', ({ step }) => {
    const h = health(listedAt(T0), connectedAt(T0), step)
    expect(h.isFresh).toBe(false)
    expect(h.behindSince).toBe(T0 + s(5))
    h.listed(T0 + s(9))
    expect(h.isFresh).toBe(true)
    h.disconnected(T0 + s(10))
    h.connected(T0 + s(11))
    expect(h.isFresh).toBe(true)
  })

  it('counts restarts and says what it is doing now, not what failed before', () => {
    const h = health(listedAt(T0), connectedAt(T0))
    h.failed('fetch failed (ECONNREFUSED)', T0 + s(1), T0 + s(1) + 400)
    expect(h.cause(T0 + s(1))).toBe('fetch failed (ECONNREFUSED); retrying')
    h.listing()
    expect(h.cause(T0 + s(2))).toBe('relisting now')
    h.resuming(T0 + s(3))
    expect(h.restarts).toBe(2)
  })
})

describe('summarizeHealth', () => {
  const fresh = (): CacheHealth => health(listedAt(T0), connectedAt(T0))
  const down = (at: number, err = 'fetch failed (ECONNREFUSED)'): Step => (h) => h.failed(err, at, at + 400)
  it.each([
    {
      name: 'all fresh',
      caches: { clusters: fresh(), machinedeployments: fresh() },
      expected: { available: true, updatedAt: T0 + s(500) },
    },
    {
      name: 'one not synced, with its last error',
      caches: { clusters: fresh(), machinedeployments: health((h) => h.failed('HTTP 403: machinedeployments is forbidden', T0 + s(500))) },
      expected: { available: false, reason: 'cache machinedeployments not synced: HTTP 403: machinedeployments is forbidden; retrying' },
    },
    {
      name: 'one not synced, no error yet',
      caches: { catalog: health(), clusters: fresh() },
      expected: { available: false, reason: 'cache catalog not synced: starting' },
    },
    {
      name: 'one dropped a second ago: behind at once, no grace period',
      caches: { clusters: health(listedAt(T0), connectedAt(T0), down(T0 + s(499))), machinedeployments: fresh() },
      expected: { available: false, reason: 'cache clusters behind since 2023-11-14T22:21:39Z: fetch failed (ECONNREFUSED); retrying', updatedAt: T0 + s(499) },
    },
    {
      name: 'caches with the same cause are named once, together',
      caches: { clusters: health(listedAt(T0), connectedAt(T0), down(T0 + s(499) + 800)), kubeadmcontrolplanes: health(listedAt(T0), connectedAt(T0), down(T0 + s(499) + 800)) },
      expected: { available: false, reason: 'caches clusters, kubeadmcontrolplanes behind since 2023-11-14T22:21:39Z: fetch failed (ECONNREFUSED); retrying', updatedAt: T0 + s(499) + 800 },
    },
  ])('$name', ({ caches, expected }) => {
    const named = Object.entries(caches).map(([name, h]) => ({ name, health: h }))
    expect(summarizeHealth(named, T0 + s(500))).toEqual(expected)
  })

  it('keeps the reason to one short line, however many caches and however long the error', () => {
    const long = 'HTTP 500: ' + 'x'.repeat(400)
    const named = Array.from({ length: 12 }, (_, i) => ({ name: `cache-${i}`, health: health(listedAt(T0), (h: CacheHealth) => h.failed(`${long}${i}`, T0 + s(1))) }))
    const reason = summarizeHealth(named, T0 + s(2)).reason ?? ''
    expect(reason.length).toBeLessThanOrEqual(REASON_MAX)
    expect(reason).not.toMatch(/\n/)
  })
})

describe('backoffDelay', () => {
  const backoff = { initialMs: 200, maxMs: 5_000, unreachableMaxMs: 1_000 }
  it.each([
    { attempt: 1, random: 1, unreachable: false, expected: 0 },
    { attempt: 2, random: 0, unreachable: false, expected: 100 },
    { attempt: 2, random: 1, unreachable: false, expected: 200 },
    { attempt: 4, random: 0.5, unreachable: false, expected: 600 },
    { attempt: 7, random: 1, unreachable: false, expected: 5_000 }, // 6.4 s capped
    { attempt: 50, random: 0, unreachable: false, expected: 2_500 },
    { attempt: 50, random: 1, unreachable: true, expected: 1_000 },
    { attempt: 50, random: 0, unreachable: true, expected: 500 },
  ])('attempt $attempt, random $random, unreachable $unreachable → $expected ms', ({ attempt, random, unreachable, expected }) =>
    expect(backoffDelay(attempt, backoff, () => random, unreachable)).toBe(expected),
  )

  it('the first retry is immediate; none waits more than 5 s', () => {
    for (let attempt = 1; attempt < 100; attempt++) {
      const d = backoffDelay(attempt, DEFAULT_BACKOFF)
      if (attempt === 1) expect(d).toBe(0)
      expect(d).toBeLessThanOrEqual(5_000)
      expect(backoffDelay(attempt, DEFAULT_BACKOFF, Math.random, true)).toBeLessThanOrEqual(1_000)
    }
  })
})

describe('isUnreachable', () => {
  it.each([
    { name: 'refused', err: new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }), expected: true },
    { name: 'HTTP 503 while the API server starts', err: Object.assign(new Error('x'), { code: 503, body: '' }), expected: true },
    { name: 'HTTP 403', err: Object.assign(new Error('x'), { code: 403, body: '' }), expected: false },
    { name: 'watch refused with 404', err: Object.assign(new Error('Not Found'), { statusCode: 404 }), expected: false },
  ])('$name → $expected', ({ err, expected }) => expect(isUnreachable(err)).toBe(expected))
})

describe('describeError', () => {
  it.each([
    { name: 'API error with a Status body', err: Object.assign(new Error('HTTP-Code: 403 ... Headers: {"audit-id":"x"}'), { code: 403, body: '{"kind":"Status","message":"configmaps is forbidden"}' }), expected: 'HTTP 403: configmaps is forbidden' },
    { name: 'network error', err: new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }), expected: 'fetch failed (ECONNREFUSED)' },
    { name: 'watch HTTP status', err: Object.assign(new Error('Forbidden'), { statusCode: 403 }), expected: 'HTTP 403 Forbidden' },
  ])('$name', ({ err, expected }) => expect(describeError(err)).toBe(expected))

  it('never echoes response headers of an API error', () => {
    const err = Object.assign(new Error('HTTP-Code: 401 Headers: {"www-authenticate":"Bearer secret"}'), { code: 401, body: '' })
    expect(describeError(err)).toBe('HTTP 401')
  })
})

describe('property: a view with any cache behind is never available, and its reason stays short', () => {
  type Ev = { readonly cache: number; readonly kind: 'listed' | 'connected' | 'disconnected' | 'resuming' | 'failed' | 'listing' | 'event'; readonly dt: number; readonly err: string }
  const event = fc.record({
    cache: fc.integer({ min: 0, max: 5 }),
    kind: fc.constantFrom('listed', 'connected', 'disconnected', 'resuming', 'failed', 'listing', 'event'),
    dt: fc.integer({ min: 0, max: 5000 }),
    err: fc.string({ maxLength: 500 }),
  }) as fc.Arbitrary<Ev>

  it('holds for any sequence of list/watch events', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const caches = Array.from({ length: 6 }, (_, i) => ({ name: `cache-${i}`, health: new CacheHealth() }))
        // Whether each cache's last word was "you hold what the server holds".
        const isCurrent = caches.map(() => false)
        const isSynced = caches.map(() => false)
        let now = T0
        for (const e of events) {
          now += e.dt
          const h = caches[e.cache]?.health as CacheHealth
          if (e.kind === 'listed') {
            h.listed(now)
            isCurrent[e.cache] = true
            isSynced[e.cache] = true
          } else if (e.kind === 'connected') {
            h.connected(now)
            isCurrent[e.cache] = true
          } else if (e.kind === 'disconnected' || e.kind === 'resuming' || e.kind === 'failed') {
            if (e.kind === 'disconnected') h.disconnected(now)
            else if (e.kind === 'resuming') h.resuming(now)
            else h.failed(e.err, now, now + 100)
            isCurrent[e.cache] = false
          } else if (e.kind === 'listing') h.listing()
          else h.event(now)
          const status = summarizeHealth(caches, now)
          const expected = isCurrent.every((c, i) => c && isSynced[i])
          expect(status.available).toBe(expected)
          if (!status.available) {
            expect((status.reason ?? '').length).toBeGreaterThan(0)
            expect((status.reason ?? '').length).toBeLessThanOrEqual(REASON_MAX)
          }
        }
      }),
      { numRuns: 300 },
    )
  })
})
