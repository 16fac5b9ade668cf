/**
 * Freshness bookkeeping of the live caches and the relist backoff, with a fake clock: a
 * connected watch is fresh however idle, a disconnected one ages from the moment it dropped.
 */
import { describe, expect, it } from 'vitest'
import { backoffDelay, describeError } from '../../src/state/informer-view.js'
import { CacheHealth, summarizeHealth } from '../../src/state/staleness.js'

const T0 = 1_700_000_000_000
const s = (n: number): number => n * 1000

type Step = (h: CacheHealth) => void
const listedAt = (t: number): Step => (h) => h.listed(t)
const connectedAt = (t: number): Step => (h) => h.connected(t)
const disconnectedAt = (t: number): Step => (h) => h.disconnected(t)
const eventAt = (t: number): Step => (h) => h.event(t)
const failed = (m: string): Step => (h) => h.failed(m)

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

describe('summarizeHealth', () => {
  const fresh = (): CacheHealth => health(listedAt(T0), connectedAt(T0))
  it.each([
    {
      name: 'all fresh',
      caches: { clusters: fresh(), machinedeployments: fresh() },
      expected: { available: true, updatedAt: T0 + s(500) },
    },
    {
      name: 'one not synced, with its last error',
      caches: { clusters: fresh(), machinedeployments: health(failed('HTTP 403: machinedeployments is forbidden')) },
      expected: { available: false, reason: 'cache machinedeployments not synced: HTTP 403: machinedeployments is forbidden' },
    },
    {
      name: 'one not synced, no error yet',
      caches: { catalog: health(), clusters: fresh() },
      expected: { available: false, reason: 'cache catalog not synced' },
    },
    {
      name: 'one stale',
      caches: { clusters: health(listedAt(T0), connectedAt(T0), disconnectedAt(T0 + s(88))), machinedeployments: fresh() },
      expected: { available: false, reason: 'cache clusters stale for 412s (limit 300s)', updatedAt: T0 + s(88) },
    },
    {
      name: 'aging but within the limit',
      caches: { clusters: health(listedAt(T0), connectedAt(T0), disconnectedAt(T0 + s(300))) },
      expected: { available: true, updatedAt: T0 + s(300) },
    },
    {
      name: 'every problem is named',
      caches: { catalog: health(), clusters: health(listedAt(T0)) },
      expected: { available: false, reason: 'cache catalog not synced; cache clusters stale for 500s (limit 300s)' },
    },
  ])('$name', ({ caches, expected }) => {
    const named = Object.entries(caches).map(([name, h]) => ({ name, health: h }))
    expect(summarizeHealth(named, T0 + s(500), 300)).toEqual(expected)
  })
})

describe('backoffDelay', () => {
  const backoff = { initialMs: 500, maxMs: 30_000 }
  it.each([
    { attempt: 1, random: 0, expected: 250 },
    { attempt: 1, random: 1, expected: 500 },
    { attempt: 2, random: 1, expected: 1000 },
    { attempt: 4, random: 0.5, expected: 3000 },
    { attempt: 7, random: 1, expected: 30_000 }, // 32 s capped
    { attempt: 50, random: 0, expected: 15_000 },
    { attempt: 50, random: 1, expected: 30_000 },
  ])('attempt $attempt, random $random → $expected ms', ({ attempt, random, expected }) => expect(backoffDelay(attempt, backoff, () => random)).toBe(expected))

  it('stays within [cap/2, cap] for any attempt', () => {
    for (let attempt = 1; attempt < 100; attempt++) {
      const d = backoffDelay(attempt, backoff)
      expect(d).toBeGreaterThanOrEqual(Math.min(backoff.maxMs, backoff.initialMs * 2 ** (attempt - 1)) / 2 - 1)
      expect(d).toBeLessThanOrEqual(backoff.maxMs)
    }
  })
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
