/**
 * @module objects/catalog
 * The image catalog ConfigMap: data key = Kubernetes version with the leading `v`, value = the
 * OS image the bare-metal provider reprovisions a host with.
 */
import { compareVersions, tryParseVersion, type Version } from '../versions/version.js'
import { getString, getStringMap, isRecord } from './unstructured.js'

export interface Catalog {
  readonly namespace: string
  readonly name: string
  /** version key → image reference, exactly as stored. */
  readonly entries: ReadonlyMap<string, string>
}

export interface CatalogRef {
  readonly namespace: string
  readonly name: string
}

export function isConfigMap(obj: unknown): boolean {
  return isRecord(obj) && obj.kind === 'ConfigMap' && (obj.apiVersion === 'v1' || obj.apiVersion === undefined)
}

export function isCatalogObject(obj: unknown, ref: CatalogRef): boolean {
  return isConfigMap(obj) && getString(obj, ['metadata', 'name']) === ref.name && getString(obj, ['metadata', 'namespace']) === ref.namespace
}

export function readCatalog(obj: unknown): Catalog {
  return {
    namespace: getString(obj, ['metadata', 'namespace']) ?? '',
    name: getString(obj, ['metadata', 'name']) ?? '',
    entries: new Map(Object.entries(getStringMap(obj, ['data']))),
  }
}

/** The catalog as the ConfigMap it was read from (name, namespace, data). */
export function catalogToObject(catalog: Catalog): Readonly<Record<string, unknown>> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: catalog.namespace, name: catalog.name }, data: Object.fromEntries(catalog.entries) }
}

interface NewestByMinor {
  /** Entry count when built: a Map changed in place afterwards is indexed again. */
  readonly size: number
  readonly newest: ReadonlyMap<string, Version>
}

/** Per entries map: `major.minor` → newest key. Built once per catalog, not per request. */
const NEWEST = new WeakMap<ReadonlyMap<string, string>, NewestByMinor>()

function newestByMinor(entries: ReadonlyMap<string, string>): ReadonlyMap<string, Version> {
  const cached = NEWEST.get(entries)
  if (cached !== undefined && cached.size === entries.size) return cached.newest
  const newest = new Map<string, Version>()
  for (const key of entries.keys()) {
    const v = tryParseVersion(key)
    if (v === undefined) continue
    const minorKey = `${v.major}.${v.minor}`
    const best = newest.get(minorKey)
    if (best === undefined || compareVersions(v, best) > 0) newest.set(minorKey, v)
  }
  NEWEST.set(entries, { size: entries.size, newest })
  return newest
}

/** The newest catalog key of a minor (revision-aware), if the catalog has one. */
export function newestKeyOfMinor(catalog: Catalog, major: number, minor: number): Version | undefined {
  return newestByMinor(catalog.entries).get(`${major}.${minor}`)
}
