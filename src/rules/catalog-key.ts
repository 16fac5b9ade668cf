/**
 * catalog-key: the version a KCP or MD asks for must be a key of the image catalog.
 *
 * ACP guide: "The key must include the leading v (for example v1.34.5). If the key is missing
 * when CAPI creates the replacement Machine, the resulting BaremetalMachine enters Failed with
 * ImageResolved=False / Reason=ImageCatalogMiss and no reprovision plan is written".
 */
import { dotted } from '../objects/unstructured.js'
import type { Catalog } from '../objects/catalog.js'
import { compareVersions, tryParseVersion, type Version } from '../versions/version.js'
import { guardedChange, readVersion, versionChanged } from './common.js'
import { forbidden, notFound, required } from './field-path.js'
import type { RuleDefinition } from './types.js'

/** Catalog keys closest to a version: same minor first (newest first), then neighbouring minors. */
export function nearestKeys(catalog: Catalog, wanted: Version | undefined, count = 3): string[] {
  const keys = [...catalog.entries.keys()].flatMap((k) => {
    const v = tryParseVersion(k)
    return v === undefined ? [] : [{ k, v }]
  })
  if (wanted === undefined) return keys.sort((a, b) => compareVersions(b.v, a.v)).slice(0, count).map((e) => e.k)
  const distance = (v: Version): number => Math.abs(v.major - wanted.major) * 1000 + Math.abs(v.minor - wanted.minor)
  return keys
    .sort((a, b) => distance(a.v) - distance(b.v) || compareVersions(b.v, a.v))
    .slice(0, count)
    .map((e) => e.k)
}

export function catalogPatchCommand(catalog: { namespace: string; name: string }, version: string): string {
  return `kubectl -n ${catalog.namespace} patch configmap ${catalog.name} --type=json -p='[{"op":"add","path":"/data/${version}","value":"<registry>/<repository>:<tag>"}]'`
}

export const catalogKey: RuleDefinition = {
  id: 'catalog-key',
  appliesTo: ['KubeadmControlPlane', 'MachineDeployment'],
  needsState: true,
  watches: (o) => o.version,
  check: (ctx) => {
    const change = guardedChange(ctx)
    if (change === undefined || !versionChanged(ctx)) return []
    const { new: next } = change
    const field = dotted(next.paths.version)
    if (next.kind === 'MachineDeployment' && next.version === undefined) {
      // Optional for CAPI, but a bare-metal machine resolves its OS image from it: creating the
      // pool without one, or removing it (which rolls every worker), leaves nothing to resolve.
      return [required(field, 'catalog-key', 'bare-metal machines resolve their OS image from this version; without it the replacements fail with ImageCatalogMiss', `set ${field} to a key of ${ctx.policy.catalog.namespace}/${ctx.policy.catalog.name}`)]
    }
    const ref = ctx.policy.catalog
    const parsed = readVersion(next, 'catalog-key')
    if (!parsed.ok) return [...parsed.violations]
    const catalog = ctx.view.catalog()
    if (catalog === undefined) {
      return [forbidden(field, 'catalog-key', `the image catalog ConfigMap ${ref.namespace}/${ref.name} does not exist, so no version can be resolved to an OS image`, `create ${ref.namespace}/${ref.name} with a key "${parsed.version.raw}" first`, next.version)]
    }
    if (catalog.entries.has(parsed.version.raw)) return []
    const near = nearestKeys(catalog, parsed.version)
    const nearText = near.length > 0 ? `; nearest keys: ${near.join(', ')}` : '; the catalog is empty'
    return [
      notFound(field, 'catalog-key', next.version, `not a key of ${ref.namespace}/${ref.name}: the replacement BaremetalMachine would fail with ImageCatalogMiss${nearText}`, `add the image first (${catalogPatchCommand(ref, parsed.version.raw)}) or use a listed key`),
    ]
  },
}
