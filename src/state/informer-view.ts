/**
 * @module state/informer-view
 * The live ClusterView: list+watch caches (client-node `ListWatch`) of the catalog ConfigMap,
 * Clusters, KubeadmControlPlanes and MachineDeployments, all kept in one MemoryView so a
 * decision reads memory and never calls the API server.
 *
 * Each cache is a loop of generations: discover the served CAPI version, list (replacing the
 * cache's objects, so deletions missed during an outage go away), then watch from the list's
 * resourceVersion with bookmarks. Any failure (watch error, 410 Gone, a dropped or refused
 * connection) retires the generation and starts a new one: at once the first time, then after a
 * capped (≤ 5 s), jittered, exponential backoff. While the API server does not answer at all the
 * cap is 1 s, and the first cache that gets through wakes the others, so the view is usable
 * within about a second of the server answering again. From the moment a watch drops until the
 * relist (or the resumed watch) the cache is *behind* and `status()` is unavailable: the rules
 * that need state fail closed instead of deciding on a view known to be out of date.
 */
import {
  ApisApi,
  CoreV1Api,
  CustomObjectsApi,
  ERROR,
  ListWatch,
  Observable,
  Watch,
  type ConfigurationOptions,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObservableMiddleware,
} from '@kubernetes/client-node'
import { UpgradeGuardError } from '../errors.js'
import { CAPI_GROUP, KCP_GROUP, type ClusterInfo, type GuardedObject } from '../objects/capi.js'
import type { Catalog, CatalogRef } from '../objects/catalog.js'
import { getString, isRecord } from '../objects/unstructured.js'
import { DEFAULT_POLICY } from '../policy/load.js'
import type { Policy } from '../policy/types.js'
import type { ClusterView, ViewStatus } from './cluster-view.js'
import type { LifecycleFacts, LifecycleIndex } from './lifecycle-view.js'
import { ABSENT_RECHECK_MS, lifecycleCacheSpecs, readManagementVersion, watchManagementVersion, type LifecycleCacheName } from './lifecycle-caches.js'
import { discoverApiLevel } from './discovery.js'
import { MemoryView, type ObjectKind } from './memory-view.js'
import { CacheHealth, summarizeHealth, type CachePhase } from './staleness.js'

export type CacheName = 'catalog' | 'clusters' | 'kubeadmcontrolplanes' | 'machinedeployments' | LifecycleCacheName

/** One RBAC rule the caches need (compared with manifests/ by the deployment tests). */
export interface InformerResource {
  /** '' for the core group. */
  readonly group: string
  readonly resource: string
  readonly verbs: readonly string[]
  /** True when granted by a Role in `namespace`; false when read across all namespaces (ClusterRole). */
  readonly namespaced: boolean
  readonly namespace?: string
  readonly resourceNames?: readonly string[]
}

const READ_VERBS = ['get', 'list', 'watch'] as const

/**
 * Exactly what the caches read for a given catalog. Only the one catalog ConfigMap: the list
 * and watch carry `fieldSelector=metadata.name=<name>`, which is what lets RBAC authorise a
 * list/watch restricted by resourceNames. Discovery (GET /apis) is a non-resource URL every
 * authenticated user may read (system:discovery), so it is not listed.
 */
export function informerResources(catalog: CatalogRef): readonly InformerResource[] {
  return [
    { group: '', resource: 'configmaps', verbs: READ_VERBS, namespaced: true, namespace: catalog.namespace, resourceNames: [catalog.name] },
    { group: CAPI_GROUP, resource: 'clusters', verbs: READ_VERBS, namespaced: false },
    { group: KCP_GROUP, resource: 'kubeadmcontrolplanes', verbs: READ_VERBS, namespaced: false },
    { group: CAPI_GROUP, resource: 'machinedeployments', verbs: READ_VERBS, namespaced: false },
  ]
}

/** What the caches read with the default policy's catalog (cpaas-system/elemental-image-catalog). */
export const INFORMER_RESOURCES: readonly InformerResource[] = informerResources(DEFAULT_POLICY.catalog)

/** The pino methods the view uses; a pino Logger fits. */
export interface ViewLogger {
  info(obj: Readonly<Record<string, unknown>>, msg: string): void
  warn(obj: Readonly<Record<string, unknown>>, msg: string): void
  error(obj: Readonly<Record<string, unknown>>, msg: string): void
  debug(obj: Readonly<Record<string, unknown>>, msg: string): void
}

export interface Backoff {
  readonly initialMs: number
  /** Cap of the delay after the API server answered with an error (403, 404, …). */
  readonly maxMs: number
  /** Cap while the API server does not answer at all (refused, reset, timed out, 5xx); default min(1000, maxMs). */
  readonly unreachableMaxMs?: number
}

export interface InformerViewOptions {
  readonly kubeConfig: KubeConfig
  readonly policy: Policy
  readonly logger?: ViewLogger
  /** Clock for freshness (epoch ms); timers always use real time. */
  readonly now?: () => number
  /** Relist backoff after a failure; default: at once, then 200 ms doubling up to 5 s (1 s while unreachable), jittered. */
  readonly backoff?: Backoff
  /** Also cache the lifecycle kinds and read GET /version (state/lifecycle-caches); the webhook and `status` do. */
  readonly lifecycle?: boolean
}

export interface Readiness {
  readonly ready: boolean
  /** Caches that have not completed their first list yet. */
  readonly missing: readonly CacheName[]
}

/** One cache as /readyz and the metrics show it. */
export interface CacheReport {
  readonly cache: CacheName
  readonly synced: boolean
  /** Synced and not behind: the rules may use it. */
  readonly fresh: boolean
  readonly phase: CachePhase
  /** ISO time since when the cache is behind (or unsynced); absent while fresh. */
  readonly behindSince?: string
  readonly lastError?: string
  readonly lastErrorAt?: string
  /** Watch re-establishments (relists and resumes) since this view started. */
  readonly restarts: number
}

/** Objects read fresh from the API server (a list without resourceVersion: a consistent read from etcd). */
export interface FreshRead {
  /** The fresh objects of the caches read, in a view of their own (other kinds are empty). */
  readonly view: MemoryView
  readonly caches: readonly CacheName[]
  /** resourceVersion of each list. */
  readonly resourceVersions: Readonly<Partial<Record<CacheName, string>>>
}

export interface InformerView extends ClusterView {
  /** Ready once every cache has listed once; `missing` is what /readyz prints. */
  readiness(): Readiness
  /** Seconds since the oldest cache was last known fresh (0 while its watch is connected); undefined before every cache has synced. */
  ageSeconds(): number | undefined
  /** Resolves true once ready, false after timeoutMs. */
  waitForSync(timeoutMs: number): Promise<boolean>
  /** Per-cache freshness, for /readyz and the metrics. */
  caches(): readonly CacheReport[]
  /**
   * Lists the named caches now, without resourceVersion (a consistent read from etcd), into a
   * view of their own. Bounded by timeoutMs; rejects on any failure. Never touches the caches.
   */
  readFresh(caches: readonly CacheName[], timeoutMs: number): Promise<FreshRead>
  /** Stops every list and watch. The view keeps its last objects but is behind (unavailable) from now on. */
  stop(): Promise<void>
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 200, maxMs: 5_000, unreachableMaxMs: 1_000 }
/** A watch that ended cleanly after running at least this long is resumed at once. */
const HEALTHY_WATCH_MS = 10_000
/** Client-side bound on one list or discovery call. */
const REQUEST_TIMEOUT_MS = 60_000
const SILENT_LOGGER: ViewLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} }

/**
 * Delay before retry number `attempt` (1-based): the first retry at once (a dropped watch is
 * usually one blip), then exponential from initialMs with equal jitter, capped at maxMs, or at
 * unreachableMaxMs when the API server did not answer (a refused connection costs it nothing,
 * and the sooner we notice it is back, the sooner decisions stop failing closed).
 */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random, isUnreachable = false): number {
  if (attempt <= 1) return 0
  const cap = isUnreachable ? Math.min(backoff.unreachableMaxMs ?? 1_000, backoff.maxMs) : backoff.maxMs
  const base = Math.min(cap, backoff.initialMs * 2 ** Math.max(0, attempt - 2))
  return Math.round(base / 2 + (random() * base) / 2)
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED'])

/** True when the failure says the API server did not answer (or answered 5xx while starting), not that it refused us. */
export function isUnreachable(err: unknown): boolean {
  const status = err instanceof WatchStatusError ? err.status : isRecord(err) && typeof err.code === 'number' ? err.code : isRecord(err) && typeof err.statusCode === 'number' ? err.statusCode : undefined
  if (status !== undefined) return status >= 500
  for (let e: unknown = err, depth = 0; isRecord(e) && depth < 4; e = e.cause, depth++) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return true
  }
  return err instanceof Error && /fetch failed|socket hang up|terminated|other side closed/i.test(err.message)
}

/** A short, secret-free description of a failure (status code and server message, or the network error code). */
export function describeError(err: unknown): string {
  // One line (a credential plugin's stderr ends in a newline), at most 300 characters.
  const truncate = (text: string): string => {
    const s = text.replace(/\s+/g, ' ').trim()
    return s.length > 300 ? `${s.slice(0, 297)}...` : s
  }
  if (err instanceof WatchStatusError) return truncate(err.message)
  if (isRecord(err) && typeof err.code === 'number' && 'body' in err) return truncate(`HTTP ${err.code}${statusMessage(err.body)}`)
  if (isRecord(err) && typeof err.statusCode === 'number') return truncate(`HTTP ${err.statusCode} ${String(err.message ?? '')}`.trim())
  if (err instanceof Error) {
    const cause = err.cause
    const code = isRecord(cause) && typeof cause.code === 'string' ? cause.code : undefined
    return truncate(code === undefined ? err.message : `${err.message} (${code})`)
  }
  return truncate(String(err))
}

function statusMessage(body: unknown): string {
  let parsed = body
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body)
    } catch {
      return body === '' ? '' : `: ${body}`
    }
  }
  const message = getString(parsed, ['message'])
  return message === undefined ? '' : `: ${message}`
}

/** A watch that ended with an ERROR event or HTTP error the view handles by relisting. */
class WatchStatusError extends Error {
  readonly status: number | undefined
  constructor(status: number | undefined, message: string) {
    super(message)
    this.name = 'WatchStatusError'
    this.status = status
  }
}

/** Where and how one generation of a cache lists and watches. */
export interface Target {
  readonly path: string
  readonly fieldSelector?: string
  /** The kind is not served: nothing to list or watch; discovery is asked again later. */
  readonly absent?: boolean
  list(signal: AbortSignal): Promise<KubernetesListObject<KubernetesObject>>
}

export interface CacheSpec {
  readonly name: CacheName
  readonly kind: ObjectKind
  /** What a relist replaces, when not every object of `kind` (one named Deployment). */
  readonly clear?: () => void
  resolve(signal: AbortSignal): Promise<Target>
}

/** Per-call options that make a generated-client request abortable (stop) and bounded (timeout). */
function withSignal(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (ctx) => {
      ctx.setSignal(AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]))
      return new Observable(Promise.resolve(ctx))
    },
    post: (rsp) => new Observable(Promise.resolve(rsp)),
  }
  return { middleware: [middleware], middlewareMergeStrategy: 'append' }
}

/**
 * Items of a list as the view stores them. A typed list (ConfigMapList) leaves apiVersion and
 * kind off its items; the view needs them to tell objects apart.
 */
function normalizeList(list: unknown, apiVersion: string, kind: string): KubernetesListObject<KubernetesObject> {
  const items = isRecord(list) && Array.isArray(list.items) ? list.items : []
  const resourceVersion = getString(list, ['metadata', 'resourceVersion'])
  return {
    apiVersion,
    kind: `${kind}List`,
    metadata: resourceVersion === undefined ? {} : { resourceVersion },
    items: items.filter((i): i is Record<string, unknown> => isRecord(i) && isRecord(i.metadata)).map(
      (i) =>
        // Safe: metadata was checked above; every other KubernetesObject field is optional.
        ({ ...i, apiVersion: typeof i.apiVersion === 'string' ? i.apiVersion : apiVersion, kind: typeof i.kind === 'string' ? i.kind : kind }) as KubernetesObject,
    ),
  }
}

function cacheSpecs(kubeConfig: KubeConfig, catalog: CatalogRef, lifecycle?: { readonly policy: Policy; readonly index: LifecycleIndex }): readonly CacheSpec[] {
  const core = kubeConfig.makeApiClient(CoreV1Api)
  const custom = kubeConfig.makeApiClient(CustomObjectsApi)
  const apis = kubeConfig.makeApiClient(ApisApi)
  const fieldSelector = `metadata.name=${catalog.name}`
  const capi = (name: CacheName, kind: ObjectKind, group: string): CacheSpec => ({
    name,
    kind,
    resolve: async (signal) => {
      const found = await discoverApiLevel(apis, group, withSignal(signal))
      if (!found.ok) throw new Error(found.reason)
      const version = found.level
      return {
        path: `/apis/${group}/${version}/${name}`,
        list: async (s) => normalizeList(await custom.listClusterCustomObject({ group, version, plural: name }, withSignal(s)), `${group}/${version}`, kind),
      }
    },
  })
  return [
    {
      name: 'catalog',
      kind: 'Catalog',
      resolve: async () => ({
        path: `/api/v1/namespaces/${encodeURIComponent(catalog.namespace)}/configmaps`,
        fieldSelector,
        list: async (s) => normalizeList(await core.listNamespacedConfigMap({ namespace: catalog.namespace, fieldSelector }, withSignal(s)), 'v1', 'ConfigMap'),
      }),
    },
    capi('clusters', 'Cluster', CAPI_GROUP),
    capi('kubeadmcontrolplanes', 'KubeadmControlPlane', KCP_GROUP),
    capi('machinedeployments', 'MachineDeployment', CAPI_GROUP),
    ...(lifecycle === undefined ? [] : lifecycleCacheSpecs(kubeConfig, lifecycle.policy, lifecycle.index, { withSignal, normalizeList })),
  ]
}

/** One list+watch attempt. Retiring it silences everything it still has in flight. */
class Generation {
  private readonly abort = new AbortController()
  informer: ListWatch<KubernetesObject> | undefined
  /** Real time (ms) the watch connected; for resetting the backoff after a healthy run. */
  connectedAt: number | undefined
  hadEvent = false

  get signal(): AbortSignal {
    return this.abort.signal
  }

  get isRetired(): boolean {
    return this.abort.signal.aborted
  }

  async retire(): Promise<void> {
    if (this.isRetired) return
    this.abort.abort()
    await this.informer?.stop()
  }

  /** ListWatch's reconnect delay; ends early (without rejecting) when retired. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.isRetired) return resolve()
      const done = (): void => {
        clearTimeout(timer)
        this.abort.signal.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.abort.signal.addEventListener('abort', done)
    })
  }
}

interface WatchHooks {
  readonly generation: Generation
  onConnect(): void
  onEvent(phase: string, obj: unknown): void
  /** clean: the stream just ended (or timed out idle) and ListWatch resumes it from the last resourceVersion. */
  onDisconnect(clean: boolean): void
}

/**
 * client-node's Watch with what ListWatch lacks: it asks for bookmarks, reports connect /
 * event / disconnect for freshness, and turns an ERROR event or an HTTP error (410 included)
 * into a failure, so the generation ends and the cache relists after a backoff instead of
 * ListWatch relisting at once or stopping for good.
 */
class TrackedWatch extends Watch {
  private readonly hooks: WatchHooks

  constructor(kubeConfig: KubeConfig, hooks: WatchHooks) {
    super(kubeConfig)
    this.hooks = hooks
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const gen = this.hooks.generation
    if (gen.isRetired) {
      // ListWatch may still reconnect after stop(); give it a dead request.
      const dead = new AbortController()
      dead.abort()
      return dead
    }
    let isFinished = false
    let errorEvent: unknown
    let controller: AbortController | undefined
    const onEvent = (phase: string, obj: unknown, watchObj?: unknown): void => {
      if (gen.isRetired) return
      if (phase === 'ERROR') {
        errorEvent = obj
        controller?.abort()
        return
      }
      this.hooks.onEvent(phase, obj)
      // The view holds the objects; ListWatch only needs the resourceVersion to resume from.
      // Handing it the objects would keep a second, unslimmed copy of every one (managedFields,
      // last-applied) in its own cache.
      const resourceVersion = getString(obj, ['metadata', 'resourceVersion'])
      callback('BOOKMARK', { metadata: resourceVersion === undefined ? {} : { resourceVersion } }, watchObj)
    }
    const onDone = (err: unknown): void => {
      isFinished = true
      if (gen.isRetired) return
      const isClean = errorEvent === undefined && (err === null || err === undefined || (isRecord(err) && err.name === 'TimeoutError'))
      this.hooks.onDisconnect(isClean)
      if (errorEvent !== undefined) {
        const code = isRecord(errorEvent) && typeof errorEvent.code === 'number' ? errorEvent.code : undefined
        const reason = getString(errorEvent, ['reason']) ?? 'Error'
        const message = getString(errorEvent, ['message'])
        done(new WatchStatusError(code, `watch ended with ${code ?? 'an'} ${reason}${message === undefined ? '' : `: ${message}`}`))
      } else if (isRecord(err) && typeof err.statusCode === 'number') {
        done(new WatchStatusError(err.statusCode, `watch refused with HTTP ${err.statusCode}${typeof err.message === 'string' ? ` ${err.message}` : ''}`))
      } else {
        done(err)
      }
    }
    try {
      controller = await super.watch(path, { ...queryParams, allowWatchBookmarks: true }, onEvent, onDone)
    } catch (err) {
      // Nobody awaits a re-watch (ListWatch starts it from a done callback): a failure here, such
      // as a credential plugin that cannot refresh a token, must fail this generation (relist
      // after backoff), never become an unhandled rejection that ends the process.
      onDone(err)
      const dead = new AbortController()
      dead.abort()
      return dead
    }
    if (errorEvent !== undefined) controller.abort()
    if (!isFinished && !gen.isRetired) this.hooks.onConnect()
    return controller
  }
}

interface ReflectorDeps {
  readonly view: MemoryView
  readonly kubeConfig: KubeConfig
  readonly now: () => number
  readonly backoff: Backoff
  readonly logger: ViewLogger
  readonly onSynced: () => void
  /** The API server answered this cache (a list or a watch got through): wake the caches waiting to retry. */
  readonly onReachable: (from: Reflector) => void
}

/** Keeps one cache current: generation after generation until stopped. */
class Reflector {
  readonly health = new CacheHealth()
  readonly name: CacheName
  readonly spec: CacheSpec
  private readonly deps: ReflectorDeps
  private attempt = 0
  private current: Generation | undefined
  private retryTimer: NodeJS.Timeout | undefined
  /** The pending retry waits for the API server to answer again (not for an error to clear). */
  private isWaitingForServer = false
  private isStopped = false
  /** Where the last generation listed (for fresh reads without a second discovery call). */
  lastTarget: Target | undefined

  constructor(spec: CacheSpec, deps: ReflectorDeps) {
    this.spec = spec
    this.name = spec.name
    this.deps = deps
    this.health.started(deps.now())
  }

  start(): void {
    void this.run()
  }

  async stop(): Promise<void> {
    this.isStopped = true
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    await this.current?.retire()
    this.health.disconnected(this.deps.now())
  }

  /** Another cache reached the API server: if this one waits for it to answer, retry now. */
  wake(): void {
    if (this.retryTimer === undefined || !this.isWaitingForServer || this.isStopped) return
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    this.deps.logger.debug({ cache: this.name }, 'API server answering again: retrying now')
    void this.run()
  }

  private async run(): Promise<void> {
    if (this.isStopped) return
    const gen = new Generation()
    this.current = gen
    this.health.listing()
    let target: Target
    try {
      target = await this.spec.resolve(gen.signal)
    } catch (err) {
      this.fail(gen, err)
      return
    }
    if (gen.isRetired) return
    this.lastTarget = target
    if (target.absent === true) return this.markAbsent(gen)
    const watch = new TrackedWatch(this.deps.kubeConfig, {
      generation: gen,
      onConnect: () => {
        gen.connectedAt = Date.now()
        this.health.connected(this.deps.now())
        this.deps.logger.debug({ cache: this.name }, 'watch connected')
        this.deps.onReachable(this)
      },
      onEvent: (phase, obj) => this.apply(gen, phase, obj),
      onDisconnect: (isClean) => {
        if (isClean) this.health.resuming(this.deps.now())
        else this.health.disconnected(this.deps.now())
      },
    })
    // ListWatch's delay before resuming a watch that ended cleanly: none after a watch that ran
    // a while (the server's own timeout); short and growing only when watches end at once.
    const informer = new ListWatch<KubernetesObject>(target.path, watch, () => this.list(gen, target), false, undefined, target.fieldSelector, {
      delayFn: (ms) => gen.sleep(gen.connectedAt !== undefined && Date.now() - gen.connectedAt >= HEALTHY_WATCH_MS ? 0 : Math.min(ms, this.deps.backoff.unreachableMaxMs ?? 1_000, this.deps.backoff.maxMs)),
    })
    informer.on(ERROR, (err) => this.fail(gen, err))
    gen.informer = informer
    informer.start().catch((err: unknown) => this.fail(gen, err))
  }

  /** A kind the cluster does not serve: synced and fresh with no objects; ask discovery again later. */
  private markAbsent(gen: Generation): void {
    const wasSynced = this.health.isSynced
    if (this.spec.clear === undefined) this.deps.view.clear(this.spec.kind)
    else this.spec.clear()
    this.health.absent(this.deps.now())
    if (!wasSynced) {
      this.deps.logger.info({ cache: this.name }, 'kind not served by the cluster: not present')
      this.deps.onSynced()
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      if (gen === this.current) void this.run()
    }, ABSENT_RECHECK_MS)
  }

  /** The list of a generation: replaces every object of this cache's kind. */
  private async list(gen: Generation, target: Target): Promise<KubernetesListObject<KubernetesObject>> {
    this.health.listing()
    const list = await target.list(gen.signal)
    if (gen.isRetired) return list
    const { view } = this.deps
    if (this.spec.clear === undefined) view.clear(this.spec.kind)
    else this.spec.clear()
    let ignored = 0
    for (const item of list.items) if (view.upsert(item) === undefined) ignored++
    view.settle()
    const wasSynced = this.health.isSynced
    this.health.listed(this.deps.now())
    const fields = { cache: this.name, objects: list.items.length, resourceVersion: list.metadata?.resourceVersion }
    // ListWatch gets the resourceVersion only: the view already holds the (slimmed) objects.
    const forListWatch = { ...list, items: [] }
    if (ignored > 0) this.deps.logger.warn({ cache: this.name, ignored }, 'objects of an unreadable apiVersion were left out of the view')
    if (wasSynced) {
      this.deps.logger.info(fields, 'cache relisted')
    } else {
      this.deps.logger.info(fields, 'cache synced')
      this.deps.onSynced()
    }
    this.deps.onReachable(this)
    return forListWatch
  }

  private apply(gen: Generation, phase: string, obj: unknown): void {
    gen.hadEvent = true
    this.health.event(this.deps.now())
    if (phase === 'ADDED' || phase === 'MODIFIED') this.deps.view.upsert(obj)
    else if (phase === 'DELETED') this.deps.view.remove(obj)
  }

  /** Ends the generation and schedules the next one (which relists): at once the first time, then after a backoff. */
  private fail(gen: Generation, err: unknown): void {
    if (gen.isRetired || this.isStopped || gen !== this.current) return
    void gen.retire()
    const message = describeError(err)
    // A generation that delivered events (or stayed connected a while) was healthy: start the
    // backoff over (the next attempt is immediate). One that fails at once keeps growing it, so
    // a broken watch cannot turn into a relist loop.
    const ranHealthily = gen.hadEvent || (gen.connectedAt !== undefined && Date.now() - gen.connectedAt >= HEALTHY_WATCH_MS)
    this.attempt = ranHealthily ? 1 : this.attempt + 1
    const unreachable = isUnreachable(err)
    const delay = backoffDelay(this.attempt, this.deps.backoff, Math.random, unreachable)
    this.health.failed(message, this.deps.now(), this.deps.now() + delay)
    this.isWaitingForServer = unreachable
    this.deps.logger.warn({ cache: this.name, err: message, attempt: this.attempt, retryInMs: delay }, 'list/watch failed; relisting after backoff')
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined
      void this.run()
    }, delay)
  }
}

class LiveView implements InformerView {
  private readonly memory: MemoryView
  private readonly reflectors: readonly Reflector[]
  private readonly policy: Policy
  private readonly now: () => number
  private readonly syncWaiters = new Set<() => void>()

  constructor(memory: MemoryView, reflectors: (view: LiveView) => readonly Reflector[], policy: Policy, now: () => number) {
    this.memory = memory
    this.policy = policy
    this.now = now
    this.reflectors = reflectors(this)
  }

  status(): ViewStatus {
    return summarizeHealth(this.reflectors, this.now())
  }

  caches(): readonly CacheReport[] {
    const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString())
    return this.reflectors.map((r) => {
      const h = r.health
      const behindSince = iso(h.behindSince)
      const lastErrorAt = iso(h.lastErrorTime)
      return {
        cache: r.name,
        synced: h.isSynced,
        fresh: h.isFresh,
        phase: h.phase,
        ...(behindSince === undefined ? {} : { behindSince }),
        ...(h.lastError === undefined ? {} : { lastError: h.lastError }),
        ...(lastErrorAt === undefined ? {} : { lastErrorAt }),
        restarts: h.restarts,
      }
    })
  }

  async readFresh(names: readonly CacheName[], timeoutMs: number): Promise<FreshRead> {
    const signal = AbortSignal.timeout(timeoutMs)
    const chosen = names.map((name) => {
      const r = this.reflectors.find((x) => x.name === name)
      if (r === undefined) throw new UpgradeGuardError('UG_ERR_STATE_READ', `no cache named ${name}`)
      return r
    })
    const lists = await Promise.all(
      chosen.map(async (r) => {
        try {
          const target = r.lastTarget ?? (await r.spec.resolve(signal))
          return { name: r.name, list: await target.list(signal) }
        } catch (err) {
          throw new UpgradeGuardError('UG_ERR_STATE_READ', `cannot read ${r.name}: ${signal.aborted ? `no answer within ${timeoutMs} ms` : describeError(err)}`, { cause: err })
        }
      }),
    )
    const view = new MemoryView(this.policy.catalog, { available: true, updatedAt: this.now() })
    const resourceVersions: Partial<Record<CacheName, string>> = {}
    for (const { name, list } of lists) {
      for (const item of list.items) view.upsert(item)
      const rv = list.metadata?.resourceVersion
      if (rv !== undefined) resourceVersions[name] = rv
    }
    return { view, caches: [...names], resourceVersions }
  }

  readiness(): Readiness {
    const missing = this.reflectors.filter((r) => !r.health.isSynced).map((r) => r.name)
    return { ready: missing.length === 0, missing }
  }

  ageSeconds(): number | undefined {
    const now = this.now()
    let oldest = 0
    for (const r of this.reflectors) {
      const age = r.health.ageMs(now)
      if (age === undefined) return undefined
      oldest = Math.max(oldest, age)
    }
    return oldest / 1000
  }

  waitForSync(timeoutMs: number): Promise<boolean> {
    if (this.readiness().ready) return Promise.resolve(true)
    return new Promise((resolve) => {
      const finish = (ready: boolean): void => {
        clearTimeout(timer)
        this.syncWaiters.delete(check)
        resolve(ready)
      }
      const check = (): void => {
        if (this.readiness().ready) finish(true)
      }
      const timer = setTimeout(() => finish(false), timeoutMs)
      this.syncWaiters.add(check)
    })
  }

  start(): void {
    for (const r of this.reflectors) r.start()
  }

  /** Called by a reflector after its first list. */
  notifySynced(): void {
    for (const check of [...this.syncWaiters]) check()
  }

  /** A cache got through to the API server: the others waiting for it to answer retry now. */
  notifyReachable(from: Reflector): void {
    for (const r of this.reflectors) if (r !== from) r.wake()
  }

  /** Also stopped by stop() (the management-version poller). */
  readonly stoppers: (() => void)[] = []

  async stop(): Promise<void> {
    for (const stop of this.stoppers) stop()
    await Promise.all(this.reflectors.map((r) => r.stop()))
  }

  catalog(): Catalog | undefined {
    return this.memory.catalog()
  }

  cluster(namespace: string, name: string): ClusterInfo | undefined {
    return this.memory.cluster(namespace, name)
  }

  controlPlane(namespace: string, name: string): GuardedObject | undefined {
    return this.memory.controlPlane(namespace, name)
  }

  machineDeployment(namespace: string, name: string): GuardedObject | undefined {
    return this.memory.machineDeployment(namespace, name)
  }

  controlPlaneOfCluster(namespace: string, clusterName: string): GuardedObject | undefined {
    return this.memory.controlPlaneOfCluster(namespace, clusterName)
  }

  machineDeploymentsOfCluster(namespace: string, clusterName: string): readonly GuardedObject[] {
    return this.memory.machineDeploymentsOfCluster(namespace, clusterName)
  }

  usersOfVersion(version: string): readonly GuardedObject[] {
    return this.memory.usersOfVersion(version)
  }

  guardedObjects(): readonly GuardedObject[] {
    return this.memory.guardedObjects()
  }

  clusterOfControlPlane(namespace: string, name: string): ClusterInfo | undefined {
    return this.memory.clusterOfControlPlane(namespace, name)
  }

  lifecycle(): LifecycleFacts {
    return this.memory.lifecycle()
  }

  managementVersion(): string | undefined {
    return this.memory.managementVersion()
  }

  counts(): { readonly clusters: number; readonly controlPlanes: number; readonly machineDeployments: number; readonly catalogEntries: number } {
    return this.memory.counts()
  }

  revision(): number {
    return this.memory.revision()
  }
}

function requireCluster(kubeConfig: KubeConfig): void {
  if (kubeConfig.getCurrentCluster() === null) {
    throw new UpgradeGuardError('UG_ERR_STATE_READ', 'the kubeconfig has no current cluster (set a current-context, or run in a pod with a service account)')
  }
}

/**
 * Starts the caches and returns at once; the view reports not ready (and unavailable) until
 * every cache has listed. Connection problems never throw: they show in readiness() / status()
 * and are retried. Throws UpgradeGuardError only for a kubeconfig without a cluster.
 */
export async function startInformerView(options: InformerViewOptions): Promise<InformerView> {
  const { kubeConfig, policy } = options
  requireCluster(kubeConfig)
  const logger = options.logger ?? SILENT_LOGGER
  const now = options.now ?? Date.now
  const backoff = options.backoff ?? DEFAULT_BACKOFF
  const memory = new MemoryView(policy.catalog, { available: false, reason: 'not synced' })
  const specs = cacheSpecs(kubeConfig, policy.catalog, options.lifecycle === true ? { policy, index: memory.lifecycleIndex } : undefined)
  const view = new LiveView(
    memory,
    (live) => specs.map((spec) => new Reflector(spec, { view: memory, kubeConfig, now, backoff, logger, onSynced: () => live.notifySynced(), onReachable: (from) => live.notifyReachable(from) })),
    policy,
    now,
  )
  logger.info({ caches: specs.map((s) => s.name), catalog: `${policy.catalog.namespace}/${policy.catalog.name}` }, 'starting cluster-state caches')
  view.start()
  if (options.lifecycle === true) view.stoppers.push(watchManagementVersion(kubeConfig, memory.lifecycleIndex))
  return view
}

/**
 * Lists the four sources once (no watch) into a MemoryView: for `validate --kubeconfig` in CI.
 * Throws UpgradeGuardError UG_ERR_STATE_READ naming the source that could not be read.
 */
export async function listClusterState(options: { readonly kubeConfig: KubeConfig; readonly policy: Policy; readonly lifecycle?: boolean }): Promise<MemoryView> {
  requireCluster(options.kubeConfig)
  const view = new MemoryView(options.policy.catalog, { available: false, reason: 'not listed' })
  const signal = new AbortController().signal
  const lists = await Promise.all(
    cacheSpecs(options.kubeConfig, options.policy.catalog, options.lifecycle === true ? { policy: options.policy, index: view.lifecycleIndex } : undefined).map(async (spec) => {
      try {
        const target = await spec.resolve(signal)
        return await target.list(signal)
      } catch (err) {
        throw new UpgradeGuardError('UG_ERR_STATE_READ', `cannot list ${spec.name}: ${describeError(err)}`, { cause: err })
      }
    }),
  )
  for (const list of lists) for (const item of list.items) view.upsert(item)
  if (options.lifecycle === true) await readManagementVersion(options.kubeConfig, view.lifecycleIndex)
  view.settle()
  view.setStatus({ available: true, updatedAt: Date.now() })
  return view
}
