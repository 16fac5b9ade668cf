/**
 * @module state/staleness
 * How fresh each live cache is, and the view status that follows from it. Pure bookkeeping (no
 * timers, no I/O) so the rules can be tested with a fake clock:
 * - a cache whose watch is connected, or whose list just completed, is fresh, however idle;
 * - the moment its watch drops (restart, network cut, 410 Gone, etcd restore) it is *behind*,
 *   not fresh: the server may have changed anything since, and only a relist (or a resumed
 *   watch) can tell. A view with any cache behind is unavailable at once; there is no grace
 *   period in which a disconnected cache still counts as current.
 * The reason given to users is one short line (at most REASON_MAX characters) that names the
 * current cause: what the cache is doing now, not an error from an attempt that already ended.
 */
import type { ViewStatus } from './cluster-view.js'

/** Longest reason a denial quotes (the whole reason, all caches together). */
export const REASON_MAX = 300

/** What a cache is doing right now, for the reason and /readyz. */
export type CachePhase = 'starting' | 'listing' | 'watching' | 'resuming' | 'waiting' | 'absent'

/** Freshness of one list+watch cache. Every method takes the current time (epoch ms). */
export class CacheHealth {
  private isSyncedFlag = false
  private isConnectedFlag = false
  private isFreshFlag = false
  private lastFreshAt: number | undefined
  private behindSinceAt: number | undefined
  private lastErrorText: string | undefined
  private lastErrorAt: number | undefined
  private retryAt: number | undefined
  private phaseValue: CachePhase = 'starting'
  private restartCount = 0

  get isSynced(): boolean {
    return this.isSyncedFlag
  }

  get isConnected(): boolean {
    return this.isConnectedFlag
  }

  /** Synced and not known to be behind: the rules may trust it. */
  get isFresh(): boolean {
    return this.isSyncedFlag && this.isFreshFlag
  }

  get lastError(): string | undefined {
    return this.lastErrorText
  }

  /** Epoch ms of the last error, if any. */
  get lastErrorTime(): number | undefined {
    return this.lastErrorAt
  }

  /** Epoch ms since when the cache is behind (or unsynced since start); undefined while fresh. */
  get behindSince(): number | undefined {
    return this.isFresh ? undefined : this.behindSinceAt
  }

  get phase(): CachePhase {
    return this.phaseValue
  }

  /** How many times the watch had to be re-established (relists and resumes). */
  get restarts(): number {
    return this.restartCount
  }

  /** Marks the start (the cache is unsynced, so behind, from now). */
  started(now: number): void {
    this.behindSinceAt ??= now
  }

  /** A list request is in flight. */
  listing(): void {
    this.phaseValue = 'listing'
    this.retryAt = undefined
  }

  /** A list succeeded: the cache holds exactly what the server holds. */
  listed(now: number): void {
    this.isSyncedFlag = true
    this.isFreshFlag = true
    this.lastFreshAt = now
    this.behindSinceAt = undefined
    this.lastErrorText = undefined
    this.lastErrorAt = undefined
    this.retryAt = undefined
    this.phaseValue = 'watching'
  }

  /** The kind is not served by the API server: synced, empty and fresh, with no watch to lose. */
  absent(now: number): void {
    this.listed(now)
    this.connected(now)
    this.phaseValue = 'absent'
  }

  /** A watch event or bookmark arrived. */
  event(now: number): void {
    this.lastFreshAt = now
  }

  /**
   * A watch stream is open (after a list, or resumed from the last resourceVersion, replaying
   * what it missed). The server pushes every change, so a connected watch is as fresh as it gets.
   */
  connected(now: number): void {
    this.isConnectedFlag = true
    this.isFreshFlag = true
    this.lastFreshAt = now
    this.behindSinceAt = undefined
    this.retryAt = undefined
    this.phaseValue = 'watching'
  }

  /** The watch stream ended (cleanly or not): behind from now until a relist or a resumed watch. */
  disconnected(now: number): void {
    if (this.isConnectedFlag || this.isFreshFlag) {
      this.lastFreshAt = now
      this.behindSinceAt = now
    }
    this.behindSinceAt ??= now
    this.isConnectedFlag = false
    this.isFreshFlag = false
  }

  /** A clean watch end that is resumed from the last resourceVersion. */
  resuming(now: number): void {
    this.disconnected(now)
    this.restartCount++
    this.phaseValue = 'resuming'
  }

  /** An attempt failed; the next one starts at `retryAt` (epoch ms). */
  failed(message: string, now: number, retryAt?: number): void {
    this.disconnected(now)
    this.lastErrorText = message
    this.lastErrorAt = now
    this.retryAt = retryAt
    this.phaseValue = 'waiting'
    this.restartCount++
  }

  /** Milliseconds since the cache was last known to match the server; undefined before the first sync. */
  ageMs(now: number): number | undefined {
    if (!this.isSyncedFlag || this.lastFreshAt === undefined) return undefined
    return this.isConnectedFlag ? 0 : Math.max(0, now - this.lastFreshAt)
  }

  /** The current cause in a few words: what is happening now, and the last error if it still applies. */
  cause(now: number): string {
    switch (this.phaseValue) {
      case 'listing':
        return 'relisting now'
      case 'resuming':
        return 'watch ended, resuming'
      case 'waiting':
        // No countdown: caches with the same error then read as one, and the line stays short.
        return `${this.lastErrorText ?? 'failed'}; retrying`
      case 'starting':
        return 'starting'
      case 'absent':
        return 'not served by the API server'
      case 'watching':
        return this.isConnectedFlag ? 'watching' : 'watch dropped'
    }
  }
}

export interface NamedHealth {
  readonly name: string
  readonly health: CacheHealth
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')

/** Cuts a reason to REASON_MAX characters. */
export function shortReason(text: string, max = REASON_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

/**
 * Available only when every cache has synced and none is behind. The reason is one short line
 * naming the caches with a problem and the current cause, caches with the same cause grouped:
 * `caches clusters, kubeadmcontrolplanes behind since 2026-12-01T23:40:01Z: fetch failed (ECONNREFUSED); retry in 0.4s`.
 */
/**
 * The names of caches with one cause, cut to about 100 characters ("…, and 9 more"): with the
 * lifecycle caches a full list would push the cause out of the 300 characters a reason may take.
 */
function cacheList(names: readonly string[]): string {
  const all = names.join(', ')
  if (all.length <= 100) return all
  const kept: string[] = []
  for (const n of names) {
    if ([...kept, n].join(', ').length > 80) break
    kept.push(n)
  }
  return `${kept.join(', ')} and ${names.length - kept.length} more`
}

export function summarizeHealth(caches: readonly NamedHealth[], now: number): ViewStatus {
  const groups = new Map<string, { names: string[]; since: number | undefined; unsynced: boolean; cause: string }>()
  let oldest = now
  let isAllSynced = true
  for (const { name, health } of caches) {
    const age = health.ageMs(now)
    if (age === undefined) isAllSynced = false
    else oldest = Math.min(oldest, now - age)
    if (health.isFresh) continue
    const unsynced = !health.isSynced
    const cause = health.cause(now)
    const key = `${unsynced ? 'u' : 'b'}|${cause}`
    const group = groups.get(key)
    const since = health.behindSince
    if (group === undefined) groups.set(key, { names: [name], since, unsynced, cause })
    else {
      group.names.push(name)
      if (since !== undefined) group.since = group.since === undefined ? since : Math.min(group.since, since)
    }
  }
  // updatedAt: when the oldest cache was last known fresh (only meaningful once all have synced).
  const updatedAt = isAllSynced ? { updatedAt: oldest } : {}
  if (groups.size === 0) return { available: true, ...updatedAt }
  const parts = [...groups.values()].map((g) => {
    const names = cacheList(g.names)
    const what = `${g.names.length === 1 ? 'cache' : 'caches'} ${names}`
    const state = g.unsynced ? 'not synced' : `behind since ${g.since === undefined ? '?' : iso(g.since)}`
    return `${what} ${state}: ${g.cause}`
  })
  return { available: false, reason: shortReason(parts.join('; ')), ...updatedAt }
}
