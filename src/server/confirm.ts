/**
 * @module server/confirm
 * Second opinions from the API server, for the two verdicts where a watch that lags a few
 * milliseconds behind a back-to-back write does the most harm:
 *
 * - **Allowing a destructive catalog edit** (removing a key, deleting the catalog). The cached
 *   view may not yet show the KCP that just moved to that key, and the next replacement would
 *   fail with ImageCatalogMiss. Before such an edit is allowed, the KCPs and MDs are listed
 *   without resourceVersion — a consistent (quorum) read from etcd — and the request is judged
 *   again against them. If that read fails or times out, the request is judged as if the view
 *   were unavailable: denied (fail closed) saying why, unless the policy's
 *   `state.onUnavailable: allow` says otherwise.
 * - **Denying only for catalog-key** ("add a key, then use it"): the catalog ConfigMap is read
 *   fresh once and the request judged again with it. If that read fails, the cached verdict
 *   stands (it is a denial: nothing unsafe gets through).
 *
 * - **Allowing a version change of a bare-metal KCP or MD** (an UPDATE that registry-address
 *   judged): the Clusters are listed consistently and the request judged again against them, so
 *   a Cluster that has just lost `cpaas.io/registry-address` (its watch event not delivered yet)
 *   cannot let a bump through. Version changes are rare (one per rollout step); a failed read
 *   denies (fail closed), as for destructive catalog edits.
 *
 * Everything else is answered from the cache alone, with no API call. Both reads are bounded
 * (a few seconds, well below the webhook's timeout) and rate-limited, so a burst of such
 * requests cannot turn the webhook into a load on the API server: catalog re-reads are shared
 * (one in flight; requests that arrive meanwhile share the NEXT read, which starts after they
 * arrived and so sees every write that completed before them), and past the budget a
 * catalog-key denial is sent as cached, a destructive edit denied (fail closed).
 * The engine stays pure: this module only hands `review()` a different view.
 */
import { review, type Endpoint, type ReviewDeps, type ReviewOutcome } from '../admission/review.js'
import type { Logger } from '../log.js'
import { readCatalog } from '../objects/catalog.js'
import { isRecord } from '../objects/unstructured.js'
import type { ClusterView, ViewStatus } from '../state/cluster-view.js'
import type { CacheName, FreshRead } from '../state/informer-view.js'
import { errorLine } from './policy-source.js'

type ResponseOutcome = Extract<ReviewOutcome, { kind: 'response' }>

/** What a live state source offers: consistent reads of some caches. */
export interface FreshReader {
  readFresh(caches: readonly CacheName[], timeoutMs: number): Promise<FreshRead>
}

export type Confirmation = 'none' | 'consistent-read' | 'consistent-read-failed' | 'fresh-catalog' | 'fresh-catalog-failed' | 'fresh-clusters' | 'fresh-clusters-failed'

export interface ConfirmResult {
  readonly outcome: ResponseOutcome
  readonly confirmation: Confirmation
  /** The view the verdict came from, when it is not the cached one (confirmations chain on it). */
  readonly view?: ClusterView
}

/** Bound on one confirmation read: well below the webhook's timeoutSeconds. */
export const CONFIRM_TIMEOUT_MS = 3_000
/** Reads per second each kind of confirmation may start (a token bucket). */
export const CONFIRM_READS_PER_SECOND = { catalog: 10, guarded: 4, clusters: 10 } as const

/** A token bucket: `take()` is false once `perSecond` reads were started within about a second. */
class Budget {
  private tokens: number
  private at: number
  private readonly perSecond: number
  private readonly now: () => number

  constructor(perSecond: number, now: () => number) {
    this.perSecond = perSecond
    this.tokens = perSecond
    this.now = now
    this.at = now()
  }

  take(): boolean {
    const t = this.now()
    this.tokens = Math.min(this.perSecond, this.tokens + ((t - this.at) / 1000) * this.perSecond)
    this.at = t
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}

const GUARDED_CACHES: readonly CacheName[] = ['kubeadmcontrolplanes', 'machinedeployments']
const CLUSTER_CACHES: readonly CacheName[] = ['clusters']

/** The methods that answer from Clusters alone (links and annotations). */
const CLUSTER_METHODS = new Set<PropertyKey>(['cluster', 'clusterOfControlPlane'])

/** The methods that answer from KCPs and MDs; with a consistent read they answer from it. */
const GUARDED_METHODS = new Set<PropertyKey>(['controlPlane', 'machineDeployment', 'controlPlaneOfCluster', 'machineDeploymentsOfCluster', 'usersOfVersion', 'guardedObjects'])

/**
 * `base` with some answers taken from `fresh` instead. A Proxy rather than a class, so that
 * methods added to ClusterView later (more caches) keep answering from the base view.
 */
export function overlayView(base: ClusterView, fresh: ClusterView, take: { readonly catalog?: boolean; readonly guarded?: boolean; readonly clusters?: boolean; readonly status?: ViewStatus }): ClusterView {
  return new Proxy(base, {
    get(target, prop) {
      if (prop === 'status' && take.status !== undefined) {
        const status = take.status
        return () => status
      }
      const source = (prop === 'catalog' && take.catalog === true) || (take.guarded === true && GUARDED_METHODS.has(prop)) || (take.clusters === true && CLUSTER_METHODS.has(prop)) ? fresh : target
      const value: unknown = Reflect.get(source, prop, source)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(source) : value
    },
  })
}

/** A view that says it cannot be used, and why (the engine then fails closed as the policy says). */
function unavailableView(base: ClusterView, reason: string): ClusterView {
  return overlayView(base, base, { status: { available: false, reason } })
}

function requestOf(body: unknown): Record<string, unknown> | undefined {
  return isRecord(body) && isRecord(body.request) ? body.request : undefined
}

/** DELETE of the catalog, or an UPDATE that drops keys. */
function isDestructiveCatalogEdit(body: unknown): boolean {
  const r = requestOf(body)
  if (r === undefined) return false
  if (r.operation === 'DELETE') return true
  if (r.operation !== 'UPDATE' || !isRecord(r.oldObject)) return false
  const after = isRecord(r.object) ? readCatalog(r.object).entries : new Map<string, string>()
  return [...readCatalog(r.oldObject).entries.keys()].some((k) => !after.has(k))
}

export interface ConfirmerOptions {
  readonly reader: FreshReader
  readonly logger: Logger
  readonly timeoutMs?: number
  readonly readsPerSecond?: { readonly catalog: number; readonly guarded: number; readonly clusters?: number }
  readonly now?: () => number
}

export class Confirmer {
  private readonly reader: FreshReader
  private readonly log: Logger
  private readonly timeoutMs: number
  private readonly catalogBudget: Budget
  private readonly guardedBudget: Budget
  private readonly clusterBudget: Budget
  /** The catalog read in flight (one at a time). */
  private catalogRead: Promise<FreshRead> | undefined
  /** The read after it, shared by every request that arrived while it was in flight. */
  private nextCatalogRead: Promise<FreshRead> | undefined

  constructor(options: ConfirmerOptions) {
    this.reader = options.reader
    this.log = options.logger
    this.timeoutMs = options.timeoutMs ?? CONFIRM_TIMEOUT_MS
    const now = options.now ?? Date.now
    const rates = options.readsPerSecond ?? CONFIRM_READS_PER_SECOND
    this.catalogBudget = new Budget(rates.catalog, now)
    this.guardedBudget = new Budget(rates.guarded, now)
    this.clusterBudget = new Budget(rates.clusters ?? CONFIRM_READS_PER_SECOND.clusters, now)
  }

  /** A catalog read that starts after this call (so it sees every write completed before it). */
  private freshCatalog(): Promise<FreshRead> {
    const start = (): Promise<FreshRead> => {
      const read = this.reader.readFresh(['catalog'], this.timeoutMs).finally(() => {
        if (this.catalogRead === read) this.catalogRead = undefined
      })
      this.catalogRead = read
      return read
    }
    const current = this.catalogRead
    if (current === undefined) return start()
    // A read already in flight started before this request arrived: it may miss the write the
    // request depends on. Wait for it and share the next one.
    this.nextCatalogRead ??= current
      .catch(() => undefined)
      .then(() => {
        this.nextCatalogRead = undefined
        return start()
      })
    return this.nextCatalogRead
  }

  /** The verdict to send: the cached one, or one confirmed against the API server. */
  async confirm(outcome: ResponseOutcome, text: string, endpoint: Endpoint, deps: ReviewDeps): Promise<ConfirmResult> {
    const decision = outcome.decision
    if (endpoint !== 'validate' || decision === undefined) return { outcome, confirmation: 'none' }
    const isCatalogTarget = decision.target?.kind === 'ConfigMap' && decision.evaluated.includes('catalog-in-use')
    if (decision.allowed && isCatalogTarget) {
      const body = parse(text)
      if (isDestructiveCatalogEdit(body)) return this.confirmDestructive(outcome, body, endpoint, deps)
      return { outcome, confirmation: 'none' }
    }
    const isCatalogKeyOnly = !decision.allowed && decision.denied.length > 0 && decision.denied.every((v) => v.rule === 'catalog-key' && v.field !== '(state)')
    const first = isCatalogKeyOnly && deps.view.status().available ? await this.recheckCatalogKey(outcome, parse(text), endpoint, deps) : { outcome, confirmation: 'none' as const }
    return this.isVersionChangeAllowed(first.outcome) ? this.confirmClusters(first, parse(text), endpoint, deps) : first
  }

  /** An allowed UPDATE of a bare-metal KCP/MD whose version changed (registry-address judged it). */
  private isVersionChangeAllowed(outcome: ResponseOutcome): boolean {
    const d = outcome.decision
    return d !== undefined && d.allowed && outcome.request.operation === 'UPDATE' && (d.target?.kind === 'KubeadmControlPlane' || d.target?.kind === 'MachineDeployment') && d.evaluated.includes('registry-address')
  }

  private async confirmClusters(previous: ConfirmResult, body: unknown, endpoint: Endpoint, deps: ReviewDeps): Promise<ConfirmResult> {
    const { outcome } = previous
    let view: ClusterView
    let confirmation: Confirmation
    try {
      if (!this.clusterBudget.take()) throw new Error('too many version changes to confirm at once; retry in a second')
      const fresh = await this.reader.readFresh(CLUSTER_CACHES, this.timeoutMs)
      view = overlayView(previous.view ?? deps.view, fresh.view, { clusters: true })
      confirmation = 'fresh-clusters'
    } catch (e) {
      view = unavailableView(previous.view ?? deps.view, `could not confirm the Cluster with a consistent read: ${errorLine(e).slice(0, 200)}`)
      confirmation = 'fresh-clusters-failed'
    }
    const next = review(body, endpoint, { policy: deps.policy, view })
    const result = next.kind === 'response' ? next : outcome
    if (!result.body.response.allowed) this.log.info({ uid: outcome.request.uid, confirmation }, 'version change denied after a consistent read of the Clusters (the watch had not delivered a Cluster change yet)')
    return { outcome: result, confirmation }
  }

  private async confirmDestructive(outcome: ResponseOutcome, body: unknown, endpoint: Endpoint, deps: ReviewDeps): Promise<ConfirmResult> {
    let view: ClusterView
    let confirmation: Confirmation
    try {
      if (!this.guardedBudget.take()) throw new Error('too many destructive catalog edits to confirm at once; retry in a second')
      const fresh = await this.reader.readFresh(GUARDED_CACHES, this.timeoutMs)
      view = overlayView(deps.view, fresh.view, { guarded: true, status: { available: true, updatedAt: Date.now() } })
      confirmation = 'consistent-read'
    } catch (e) {
      view = unavailableView(deps.view, `could not confirm with a consistent read of the KCPs and MDs: ${errorLine(e).slice(0, 200)}`)
      confirmation = 'consistent-read-failed'
    }
    const next = review(body, endpoint, { policy: deps.policy, view })
    const result = next.kind === 'response' ? next : outcome
    this.log.info({ uid: outcome.request.uid, confirmation, allowed: result.body.response.allowed }, 'destructive catalog edit checked against a consistent read')
    return { outcome: result, confirmation }
  }

  private async recheckCatalogKey(outcome: ResponseOutcome, body: unknown, endpoint: Endpoint, deps: ReviewDeps): Promise<ConfirmResult> {
    let fresh: FreshRead
    try {
      if (!this.catalogBudget.take()) throw new Error('re-read budget spent (too many catalog-key denials at once)')
      fresh = await withDeadline(this.freshCatalog(), this.timeoutMs)
    } catch (e) {
      this.log.warn({ uid: outcome.request.uid, err: errorLine(e).slice(0, 200) }, 'could not re-read the catalog; the cached catalog-key denial stands')
      return { outcome, confirmation: 'fresh-catalog-failed' }
    }
    const view = overlayView(deps.view, fresh.view, { catalog: true })
    const next = review(body, endpoint, { policy: deps.policy, view })
    if (next.kind !== 'response') return { outcome, confirmation: 'fresh-catalog' }
    if (next.body.response.allowed) this.log.info({ uid: outcome.request.uid, confirmation: 'fresh-catalog' }, 'catalog-key denial withdrawn: the catalog read fresh has the key (the watch had not delivered it yet)')
    return { outcome: next, confirmation: 'fresh-catalog', view }
  }
}

/** Rejects when `promise` has not settled within ms (waiting for a shared read counts too). */
function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
