/**
 * @module server/state-source
 * Where the server's cluster-state view comes from, behind one small interface: manifest files
 * (`--state PATH`, re-read on change; a bad edit keeps the last good view), the live list+watch
 * caches (`--kubeconfig FILE` / `--in-cluster`, state/informer-view), or a fixed view (tests).
 * The server reads `view()` per request, so a reload is an atomic swap.
 */
import { isDeepStrictEqual } from 'node:util'
import { UpgradeGuardError } from '../errors.js'
import type { Logger } from '../log.js'
import type { CatalogRef } from '../objects/catalog.js'
import type { Policy } from '../policy/types.js'
import type { ClusterView } from '../state/cluster-view.js'
import { loadFileView } from '../state/file-view.js'
import type { CacheName, CacheReport, FreshRead, InformerView } from '../state/informer-view.js'
import { errorLine, type PolicySource, type ReloadListener } from './policy-source.js'
import { watchPaths, type Watch } from './watch.js'

export interface StateReadiness {
  readonly ready: boolean
  /** What is missing when not ready (shown by /readyz). */
  readonly reason?: string
}

export interface StateSource {
  readonly kind: 'files' | 'live' | 'static'
  /** For logs and /readyz, e.g. `files examples/state`. */
  readonly description: string
  /** The view to decide with. Read it per request: a reload swaps it. */
  view(): ClusterView
  /** Ready to serve: files loaded, or every live cache listed once. */
  readiness(): StateReadiness
  /** Seconds since the view last matched its source (0 while it does); undefined before the first sync. */
  ageSeconds(): number | undefined
  /** Why the last reload was rejected while the last good view is kept. */
  lastError(): string | undefined
  /** Live caches only: each cache's freshness (for /readyz and the metrics). */
  caches?(): readonly CacheReport[]
  /** Live caches only: a consistent read of some caches, for server/confirm. Files need none: they are the truth. */
  readFresh?(caches: readonly CacheName[], timeoutMs: number): Promise<FreshRead>
  close(): Promise<void>
}

/** A fixed view (tests, embedding). */
export function staticState(view: ClusterView, description = 'static view'): StateSource {
  return {
    kind: 'static',
    description,
    view: () => view,
    readiness: () => {
      const status = view.status()
      return status.available ? { ready: true } : { ready: false, reason: status.reason ?? 'view unavailable' }
    },
    ageSeconds: () => {
      const at = view.status().updatedAt
      return at === undefined ? undefined : Math.max(0, (Date.now() - at) / 1000)
    },
    lastError: () => undefined,
    close: async () => undefined,
  }
}

export interface FileStateOptions {
  readonly paths: readonly string[]
  /** The catalog the policy names (read at every load: a policy reload may move it). */
  readonly catalog: () => CatalogRef
  readonly logger: Logger
  readonly intervalMs?: number
  readonly onReload?: ReloadListener
  readonly now?: () => number
  /** `--management-version`: files carry no GET /version, so the flag stands in for it. */
  readonly managementVersion?: string
}

export interface FileStateSource extends StateSource {
  readonly kind: 'files'
  /** Re-reads the files now (after a policy change that moved the catalog). */
  reload(): Promise<void>
}

/** Loads the files (throws UpgradeGuardError naming file and document when they are bad) and watches them. */
export function startFileStateSource(options: FileStateOptions): FileStateSource {
  const { paths, logger } = options
  const now = options.now ?? Date.now
  const log = logger.child({ source: 'state', paths })
  const load = (): ClusterView => {
    const loaded = loadFileView(paths, options.catalog()).view
    if (options.managementVersion !== undefined) loaded.lifecycleIndex.setManagementVersion(options.managementVersion)
    return loaded
  }
  let view: ClusterView = load()
  let lastError: string | undefined
  let staleSince: number | undefined
  logCounts(log, view, 'cluster-state view loaded from files')

  const reload = (): void => {
    try {
      view = load()
    } catch (e) {
      lastError = errorLine(e)
      staleSince ??= now()
      options.onReload?.(false)
      log.error(`state reload rejected, keeping the last good view: ${lastError}`)
      return
    }
    lastError = undefined
    staleSince = undefined
    options.onReload?.(true)
    logCounts(log, view, 'cluster-state view reloaded from files')
  }
  const watch: Watch = watchPaths(paths, reload, options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs })
  return {
    kind: 'files',
    description: `files ${paths.join(', ')}`,
    view: () => view,
    readiness: () => ({ ready: true }),
    ageSeconds: () => (staleSince === undefined ? 0 : Math.max(0, (now() - staleSince) / 1000)),
    lastError: () => lastError,
    reload: async () => reload(),
    close: async () => watch.close(),
  }
}

function logCounts(log: Logger, view: ClusterView, message: string): void {
  const c = view.counts()
  log.info({ clusters: c.clusters, controlPlanes: c.controlPlanes, machineDeployments: c.machineDeployments, catalogEntries: c.catalogEntries }, message)
}

export interface LiveStateOptions {
  /** A kubeconfig file; when absent, the pod's service account (in-cluster). */
  readonly kubeconfig?: string
  readonly policy: PolicySource
  readonly logger: Logger
  /** How long a replacement view may take to sync after a policy change (default 60 s). */
  readonly resyncTimeoutMs?: number
}

const liveSettings = (p: Policy): unknown => ({ catalog: p.catalog, state: p.state, management: p.management })

/**
 * The live caches. Returns at once; readiness() stays false until every cache has listed.
 * A policy reload that moves the catalog or changes the staleness limit starts a new set of
 * caches and swaps them in once synced (the old ones keep serving meanwhile).
 */
export async function startLiveStateSource(options: LiveStateOptions): Promise<StateSource> {
  const { policy, logger } = options
  const log = logger.child({ source: 'state' })
  const { KubeConfig } = await import('@kubernetes/client-node')
  const { startInformerView } = await import('../state/informer-view.js')
  const kubeConfig = new KubeConfig()
  let description: string
  if (options.kubeconfig !== undefined) {
    try {
      kubeConfig.loadFromFile(options.kubeconfig)
    } catch (e) {
      throw new UpgradeGuardError('UG_ERR_STATE_READ', `cannot read the kubeconfig: ${errorLine(e).split('\n')[0]}`, { file: options.kubeconfig, cause: e })
    }
    description = `live caches (kubeconfig ${options.kubeconfig})`
  } else {
    if (process.env.KUBERNETES_SERVICE_HOST === undefined || process.env.KUBERNETES_SERVICE_PORT === undefined) {
      throw new UpgradeGuardError('UG_ERR_USAGE', '--in-cluster: KUBERNETES_SERVICE_HOST/PORT are not set (not running in a pod); use --kubeconfig FILE or --state PATH')
    }
    kubeConfig.loadFromCluster()
    description = 'live caches (in-cluster service account)'
  }
  const viewLogger = log.child({ component: 'informers' })
  const start = (p: Policy): Promise<InformerView> => startInformerView({ kubeConfig, policy: p, logger: viewLogger, lifecycle: true })
  let current = await start(policy.current())
  let pending: InformerView | undefined
  let closed = false

  policy.onChange((next, previous) => {
    if (isDeepStrictEqual(liveSettings(next), liveSettings(previous)) || closed) return
    void (async () => {
      const previousPending = pending
      const candidate = await start(next)
      pending = candidate
      await previousPending?.stop()
      log.info('policy moved the catalog or changed state settings: starting new caches')
      const synced = await candidate.waitForSync(options.resyncTimeoutMs ?? 60_000)
      if (pending !== candidate || closed) return candidate.stop()
      pending = undefined
      if (!synced) {
        log.error('new caches did not sync in time; keeping the old ones')
        return candidate.stop()
      }
      const old = current
      swap(candidate)
      log.info('new caches synced and swapped in')
      await old.stop()
    })().catch((e: unknown) => log.error(`restarting the caches failed: ${errorLine(e)}`))
  })

  // Restarts of caches replaced after a policy change, so the counters never go down.
  const retiredRestarts = new Map<string, number>()
  const swap = (next: InformerView): void => {
    for (const c of current.caches()) retiredRestarts.set(c.cache, (retiredRestarts.get(c.cache) ?? 0) + c.restarts)
    current = next
  }
  return {
    kind: 'live',
    description,
    view: () => current,
    readiness: () => {
      const r = current.readiness()
      if (r.ready) return { ready: true }
      const status = current.status()
      return { ready: false, reason: `caches not synced yet: ${r.missing.join(', ')}${status.reason === undefined ? '' : ` (${status.reason})`}` }
    },
    caches: () => current.caches().map((c) => ({ ...c, restarts: c.restarts + (retiredRestarts.get(c.cache) ?? 0) })),
    readFresh: (caches, timeoutMs) => current.readFresh(caches, timeoutMs),
    ageSeconds: () => current.ageSeconds(),
    lastError: () => {
      const status = current.status()
      return status.available ? undefined : status.reason
    },
    close: async () => {
      closed = true
      await Promise.all([current.stop(), pending?.stop()])
    },
  }
}
