/**
 * @module state/discovery
 * Which Cluster API version the cluster serves, per group. The caches list and watch in that
 * version so the objects arrive in a layout objects/capi reads (v1beta2 when served, else
 * v1beta1); the API server converts stored objects to it.
 */
import type { ApisApi, ConfigurationOptions, V1APIGroupList } from '@kubernetes/client-node'
import { API_LEVELS, type ApiLevel } from '../objects/capi.js'

/** v1beta2 when served, else v1beta1; undefined when the group serves neither. */
export function pickApiLevel(servedVersions: readonly string[]): ApiLevel | undefined {
  for (const level of [...API_LEVELS].reverse()) if (servedVersions.includes(level)) return level
  return undefined
}

export type Discovered = { readonly ok: true; readonly level: ApiLevel } | { readonly ok: false; readonly reason: string }

/** Reads the level for one group out of the `/apis` group list. */
export function levelFromGroupList(groups: V1APIGroupList, group: string): Discovered {
  const found = groups.groups.find((g) => g.name === group)
  if (found === undefined) return { ok: false, reason: `API group ${group} is not served (are the Cluster API CRDs installed?)` }
  const served = found.versions.map((v) => v.version)
  const level = pickApiLevel(served)
  if (level === undefined) return { ok: false, reason: `API group ${group} serves ${served.join(', ')}, none of ${API_LEVELS.join(', ')}` }
  return { ok: true, level }
}

/** GET /apis (allowed to every authenticated user by the default system:discovery role). */
export async function discoverApiLevel(apis: ApisApi, group: string, options?: ConfigurationOptions): Promise<Discovered> {
  return levelFromGroupList(await apis.getAPIVersions({}, options), group)
}
