/**
 * @module plan/catalog-steps
 * Catalog keys a plan needs: which key of a minor to use, the `kubectl patch` that adds a missing
 * one (with a placeholder image that is never a valid reference, so the webhook rejects the
 * command if it is run unedited), and the check of the catalog before any version changes.
 *
 * ACP guide, "Update the Image Catalog": "The key must include the leading v … If the key is
 * missing when CAPI creates the replacement Machine, the resulting BaremetalMachine enters Failed
 * with ImageResolved=False / Reason=ImageCatalogMiss".
 */
import type { Catalog } from '../objects/catalog.js'
import type { Policy } from '../policy/types.js'
import { imageReferenceProblem } from '../rules/catalog-shape.js'
import { compareVersions, tryParseVersion } from '../versions/version.js'
import { catalogAddCommand, catalogShowCommand } from './commands.js'
import { draft, type Draft, type Target } from './draft.js'
import { catalogObject } from './simulate.js'

/** `registry/repository` of the catalog's newest image, to suggest the shape of a new value. */
export function imageRepository(catalog: Catalog): string | undefined {
  const newest = [...catalog.entries.entries()]
    .flatMap(([k, image]) => {
      const v = tryParseVersion(k)
      return v === undefined ? [] : [{ v, image }]
    })
    .sort((a, b) => compareVersions(b.v, a.v))[0]
  if (newest === undefined) return undefined
  const noDigest = newest.image.split('@')[0] ?? ''
  const slash = noDigest.lastIndexOf('/')
  const colon = noDigest.lastIndexOf(':')
  const repo = colon > slash ? noDigest.slice(0, colon) : noDigest
  return imageReferenceProblem(`${repo}:tag`) === undefined ? repo : undefined
}

export function registryHost(catalog: Catalog): string | undefined {
  const hosts = new Set([...catalog.entries.values()].map((image) => image.split('/')[0] ?? ''))
  const [only] = hosts
  return hosts.size === 1 && only !== undefined && /[.:]/.test(only) ? only : undefined
}

export function imagePlaceholder(repo: string | undefined, key: string): string {
  return `${repo ?? '<registry>/<repository>'}:<tag-of-${key}>`
}

/** Catalog keys to add (placeholder images), then the catalog check. */
export function catalogSteps(catalog: Catalog, policy: Policy, missing: readonly Target[], used: readonly Target[]): { steps: Draft[]; standIns: [string, string][] } {
  const steps: Draft[] = []
  const standIns: [string, string][] = []
  const catalogRef = policy.catalog
  const repo = imageRepository(catalog)
  const data = Object.fromEntries(catalog.entries)
  for (const t of missing) {
    const image = imagePlaceholder(repo, t.text)
    data[t.text] = image
    standIns.push([image, `${repo ?? 'registry.invalid/upgrade-guard/stand-in'}:stand-in-${t.major}.${t.minor}`])
    const obj = { ...catalogObject(catalog), data: { ...data } }
    const why = t.version === undefined ? `the catalog has no v${t.major}.${t.minor} key and the control plane must pass through v${t.major}.${t.minor}` : `${t.text} is not a key of ${catalogRef.namespace}/${catalogRef.name}`
    steps.push(
      draft('catalog', `Add ${t.text} to the image catalog ${catalogRef.namespace}/${catalogRef.name}`, {
        commands: [catalogAddCommand(catalogRef, t.text, image)],
        notes: [
          `${why}; a replacement machine asking for a version without a key fails with ImageResolved=False / ImageCatalogMiss. Normally the bare-metal provider plugin renders the key during the Distribution Version upgrade (ACP guide, Update the Image Catalog); patch by hand only for an out-of-band build.`,
          `${t.version === undefined ? `Replace ${t.text} with the v${t.major}.${t.minor} build your distribution ships (keep the leading v) and ` : 'Replace '}${image} with its image reference (registry/repository:tag or @sha256:digest).`,
        ],
        objects: [obj],
        placeholders: t.version === undefined ? [t.text, image] : [image],
      }),
    )
  }
  if (used.length > 0) {
    const keys = used.map((t) => t.text)
    steps.push(
      draft('check', `Check that the image catalog has ${keys.join(', ')}`, {
        commands: [catalogShowCommand(catalogRef)],
        notes: ['Every version the plan sets must be a data key with the leading v, and its image must be in the platform registry (ACP guide, Update the Image Catalog: verify before continuing).'],
        placeholders: used.filter((t) => t.version === undefined).map((t) => t.text),
      }),
    )
  }
  return { steps, standIns }
}
