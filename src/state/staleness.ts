/**
 * @module state/staleness
 * How fresh each live cache is, and the view status that follows from it. Pure bookkeeping (no
 * timers, no I/O) so the rules "a connected watch is fresh, a disconnected one ages from the
 * moment it dropped" can be tested with a fake clock.
 */
import type { ViewStatus } from './cluster-view.js'

/** Freshness of one list+watch cache. Every method takes the current time (epoch ms). */
export class CacheHealth {
  private isSyncedFlag = false
  private isConnectedFlag = false
  private lastFreshAt: number | undefined
  private lastErrorText: string | undefined

  get isSynced(): boolean {
    return this.isSyncedFlag
  }

  get isConnected(): boolean {
    return this.isConnectedFlag
  }

  get lastError(): string | undefined {
    return this.lastErrorText
  }

  /** A list succeeded: the cache holds exactly what the server holds. */
  listed(now: number): void {
    this.isSyncedFlag = true
    this.lastFreshAt = now
    this.lastErrorText = undefined
  }

  /** A watch event or bookmark arrived. */
  event(now: number): void {
    this.lastFreshAt = now
  }

  /**
   * A watch stream is open. The server pushes every change (and bookmarks), so an idle but
   * connected watch is as fresh as it gets.
   */
  connected(now: number): void {
    this.isConnectedFlag = true
    this.lastFreshAt = now
  }

  /** The watch stream ended: the cache was fresh until now and ages from here. */
  disconnected(now: number): void {
    if (this.isConnectedFlag) this.lastFreshAt = now
    this.isConnectedFlag = false
  }

  failed(message: string): void {
    this.lastErrorText = message
  }

  /** Milliseconds since the cache was last known to match the server; undefined before the first sync. */
  ageMs(now: number): number | undefined {
    if (!this.isSyncedFlag || this.lastFreshAt === undefined) return undefined
    return this.isConnectedFlag ? 0 : Math.max(0, now - this.lastFreshAt)
  }
}

export interface NamedHealth {
  readonly name: string
  readonly health: CacheHealth
}

/**
 * Available only when every cache has synced and none is older than the limit. The reason names
 * each cache that is missing or stale, e.g. `cache clusters stale for 412s (limit 300s)`.
 */
export function summarizeHealth(caches: readonly NamedHealth[], now: number, maxStalenessSeconds: number): ViewStatus {
  const problems: string[] = []
  let oldest = now
  let isAllSynced = true
  for (const { name, health } of caches) {
    const age = health.ageMs(now)
    if (age === undefined) {
      isAllSynced = false
      problems.push(`cache ${name} not synced${health.lastError === undefined ? '' : `: ${health.lastError}`}`)
      continue
    }
    oldest = Math.min(oldest, now - age)
    if (age > maxStalenessSeconds * 1000) problems.push(`cache ${name} stale for ${Math.floor(age / 1000)}s (limit ${maxStalenessSeconds}s)`)
  }
  // updatedAt: when the oldest cache was last known fresh (only meaningful once all have synced).
  const updatedAt = isAllSynced ? { updatedAt: oldest } : {}
  if (problems.length > 0) return { available: false, reason: problems.join('; '), ...updatedAt }
  return { available: true, ...updatedAt }
}
