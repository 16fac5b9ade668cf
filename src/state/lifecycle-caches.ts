/**
 * @module state/lifecycle-caches
 * The live list+watch caches of the lifecycle kinds (Machines, BaremetalMachines and their
 * templates, MachineInventoryPools, MachineInventories, the policy-named Deployments) and the
 * management cluster's version, plugged into the informer view's generic machinery so the same
 * freshness, relist and backoff rules apply to them.
 *
 * A provider kind the cluster does not serve (its group, version or resource is missing from
 * discovery) is "not present": the cache counts as synced with no objects, the view says the
 * kind is absent, and discovery is asked again every minute so a provider installed later is
 * picked up without a restart.
 */
import { AppsV1Api, ApisApi, CustomObjectsApi, VersionApi, type ConfigurationOptions, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node'
import { CAPI_GROUP } from '../objects/capi.js'
import { ELEMENTAL_GROUP, INFRA_GROUP, type LifecycleKind } from '../objects/lifecycle.js'
import { DEFAULT_POLICY } from '../policy/load.js'
import type { Policy } from '../policy/types.js'
import { levelFromGroupList } from './discovery.js'
import type { CacheSpec, InformerResource } from './informer-view.js'
import type { LifecycleIndex } from './lifecycle-view.js'

const READ_VERBS = ['get', 'list', 'watch'] as const

export type LifecycleCacheName = 'machines' | 'baremetalmachines' | 'baremetalmachinetemplates' | 'machineinventorypools' | 'machineinventories' | `deployments/${string}`

/** How long a "not present" kind waits before discovery is asked again. */
export const ABSENT_RECHECK_MS = 60_000

interface KindDef {
  readonly cache: Exclude<LifecycleCacheName, `deployments/${string}`>
  readonly kind: LifecycleKind
  readonly group: string
  /** Fixed version for provider groups; CAPI's is discovered like the other CAPI caches. */
  readonly version?: string
}

const CLUSTER_WIDE: readonly KindDef[] = [
  { cache: 'machines', kind: 'Machine', group: CAPI_GROUP },
  { cache: 'baremetalmachines', kind: 'BaremetalMachine', group: INFRA_GROUP, version: 'v1beta1' },
  { cache: 'baremetalmachinetemplates', kind: 'BaremetalMachineTemplate', group: INFRA_GROUP, version: 'v1beta1' },
  { cache: 'machineinventorypools', kind: 'MachineInventoryPool', group: INFRA_GROUP, version: 'v1beta1' },
  { cache: 'machineinventories', kind: 'MachineInventory', group: ELEMENTAL_GROUP, version: 'v1beta1' },
]

/** Exactly what the lifecycle caches read (RBAC, compared with manifests/ by the deployment tests). */
export function lifecycleResources(policy: Pick<Policy, 'management'>): readonly InformerResource[] {
  return [
    ...CLUSTER_WIDE.map((d) => ({ group: d.group, resource: d.cache, verbs: READ_VERBS, namespaced: false })),
    // One Deployment by name in its namespace (a list/watch with fieldSelector metadata.name).
    ...policy.management.deployments.map((d) => ({ group: 'apps', resource: 'deployments', verbs: READ_VERBS, namespaced: true, namespace: d.namespace, resourceNames: [d.name] })),
  ]
}

/** Per-call options (abort + timeout) and list normalisation, lent by the informer view. */
export interface SpecHelpers {
  withSignal(signal: AbortSignal): ConfigurationOptions
  normalizeList(list: unknown, apiVersion: string, kind: string): KubernetesListObject<KubernetesObject>
}

/** What the lifecycle caches read with the default policy (next to INFORMER_RESOURCES: the RBAC test compares both with manifests/). */
export const LIFECYCLE_RESOURCES: readonly InformerResource[] = lifecycleResources(DEFAULT_POLICY)

export function lifecycleCacheSpecs(kubeConfig: KubeConfig, policy: Pick<Policy, 'management'>, index: LifecycleIndex, helpers: SpecHelpers): readonly CacheSpec[] {
  const apis = kubeConfig.makeApiClient(ApisApi)
  const custom = kubeConfig.makeApiClient(CustomObjectsApi)
  const apps = kubeConfig.makeApiClient(AppsV1Api)
  const { withSignal, normalizeList } = helpers

  /** The version to read `resource` in, or undefined when the cluster does not serve it. */
  const served = async (group: string, resource: string, fixed: string | undefined, signal: AbortSignal): Promise<string | undefined> => {
    const groups = await apis.getAPIVersions({}, withSignal(signal))
    let version: string | undefined
    if (fixed === undefined) {
      const found = levelFromGroupList(groups, group)
      version = found.ok ? found.level : undefined
    } else {
      version = groups.groups.find((g) => g.name === group)?.versions.some((v) => v.version === fixed) === true ? fixed : undefined
    }
    if (version === undefined) return undefined
    const resources = await custom.getAPIResources({ group, version }, withSignal(signal))
    return resources.resources.some((r) => r.name === resource) ? version : undefined
  }

  const clusterWide = CLUSTER_WIDE.map(
    (d): CacheSpec => ({
      name: d.cache,
      kind: d.kind,
      resolve: async (signal) => {
        const version = await served(d.group, d.cache, d.version, signal)
        index.setPresent(d.kind, version !== undefined)
        if (version === undefined) return { path: '', absent: true, list: () => Promise.resolve(normalizeList({ items: [] }, `${d.group}/v1beta1`, d.kind)) }
        return {
          path: `/apis/${d.group}/${version}/${d.cache}`,
          list: async (s) => {
            try {
              return normalizeList(await custom.listClusterCustomObject({ group: d.group, version, plural: d.cache }, withSignal(s)), `${d.group}/${version}`, d.kind)
            } catch (err) {
              // Discovery said yes, the list says 404: the CRD went away in between. Not present,
              // not a failure; the watch then fails and the next generation asks discovery again.
              if (!isNotFound(err)) throw err
              index.setPresent(d.kind, false)
              return normalizeList({ items: [] }, `${d.group}/${version}`, d.kind)
            }
          },
        }
      },
    }),
  )
  const deployments = policy.management.deployments.map(
    ({ namespace, name }): CacheSpec => ({
      name: `deployments/${namespace}/${name}` as const,
      kind: 'Deployment',
      // Each cache holds one Deployment: a relist replaces only that one.
      clear: () => index.remove('Deployment', namespace, name),
      resolve: async (signal) => {
        const fieldSelector = `metadata.name=${name}`
        const version = await served('apps', 'deployments', 'v1', signal)
        index.setPresent('Deployment', version !== undefined)
        if (version === undefined) return { path: '', absent: true, list: () => Promise.resolve(normalizeList({ items: [] }, 'apps/v1', 'Deployment')) }
        return {
          path: `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/deployments`,
          fieldSelector,
          list: async (s) => normalizeList(await apps.listNamespacedDeployment({ namespace, fieldSelector }, withSignal(s)), 'apps/v1', 'Deployment'),
        }
      },
    }),
  )
  return [...clusterWide, ...deployments]
}

/** An API error with HTTP status 404 (client-node's ApiException carries `code`). */
const isNotFound = (err: unknown): boolean => typeof err === 'object' && err !== null && 'code' in err && (err as { code: unknown }).code === 404

/** Short, secret-free text of a failure. */
const describe = (err: unknown): string => (err instanceof Error ? err.message.split('\n')[0] ?? 'error' : String(err)).slice(0, 200)

/**
 * Reads `GET /version` of the API server now and every `refreshMs` (retrying sooner after a
 * failure). Until the first answer the index says why the version is unknown, so
 * management-version fails closed. Returns a stop function.
 */
export function watchManagementVersion(kubeConfig: KubeConfig, index: LifecycleIndex, options: { readonly refreshMs?: number; readonly retryMs?: number } = {}): () => void {
  const api = kubeConfig.makeApiClient(VersionApi)
  const refreshMs = options.refreshMs ?? 300_000
  const retryMs = options.retryMs ?? 2_000
  const abort = new AbortController()
  let timer: NodeJS.Timeout | undefined
  if (index.managementVersion() === undefined) index.setManagementVersion(undefined, 'GET /version not answered yet')
  const poll = async (): Promise<void> => {
    let next = refreshMs
    try {
      const info = await api.getCode()
      if (abort.signal.aborted) return
      index.setManagementVersion(info.gitVersion)
    } catch (err) {
      if (abort.signal.aborted) return
      // Keep a version read before: a failed refresh does not make it wrong.
      if (index.managementVersion() === undefined) index.setManagementVersion(undefined, `GET /version failed: ${describe(err)}`)
      next = retryMs
    }
    timer = setTimeout(() => void poll(), next)
    timer.unref()
  }
  void poll()
  return () => {
    abort.abort()
    if (timer !== undefined) clearTimeout(timer)
  }
}

/** One read of `GET /version` (the one-shot CLI); the index records the version or why it is unknown. */
export async function readManagementVersion(kubeConfig: KubeConfig, index: LifecycleIndex): Promise<void> {
  try {
    const info = await kubeConfig.makeApiClient(VersionApi).getCode()
    index.setManagementVersion(info.gitVersion)
  } catch (err) {
    index.setManagementVersion(undefined, `GET /version failed: ${describe(err)}`)
  }
}
