/**
 * catalog-shape: every catalog key is a Kubernetes version with the leading `v`, every value an
 * image reference with a tag or digest.
 *
 * ACP guide: "The key must include the leading v (for example v1.34.5)." The API server accepts
 * any ConfigMap key (`1.34.6` passes), so only the webhook can catch it. Ratcheting: only keys
 * added or changed by this edit are judged.
 */
import { parseVersion } from '../versions/version.js'
import { clip, invalid } from './field-path.js'
import type { RuleDefinition, Violation } from './types.js'

// docker/distribution reference grammar: [host[:port]/]path[:tag][@digest]
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const HOST = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\\d+)?|\\[[0-9a-fA-F:]+\\](?::\\d+)?)'
// OCI image-spec descriptor grammar: digest := algorithm ":" encoded,
// algorithm := [a-z0-9]+ ([+._-] [a-z0-9]+)*, encoded := [a-zA-Z0-9=_-]+
const DIGEST = '(?<algorithm>[a-z0-9]+(?:[.+_-][a-z0-9]+)*):(?<encoded>[a-zA-Z0-9=_-]+)'
const REFERENCE = new RegExp(`^(?:${HOST}/)?${COMPONENT}(?:/${COMPONENT})*(?::(?<tag>[\\w][\\w.-]{0,127}))?(?:@(?<digest>${DIGEST}))?$`)

/** The registered digest algorithms and the exact form of their encoded part (OCI image-spec). */
const REGISTERED_DIGESTS: Readonly<Record<string, RegExp>> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
}

/** Why an image reference is unusable, or undefined when it is fine. */
export function imageReferenceProblem(value: string): string | undefined {
  if (value.length > 1024) return 'is longer than 1024 characters'
  const m = REFERENCE.exec(value)
  if (m === null) return 'is not a valid image reference (registry/repository:tag, @sha256:… or @sha512:… digest)'
  const { tag, digest, algorithm, encoded } = m.groups ?? {}
  if (tag === undefined && digest === undefined) return 'names no tag or digest (it would resolve to :latest, which changes under you)'
  if (algorithm !== undefined && encoded !== undefined) {
    const form = Object.hasOwn(REGISTERED_DIGESTS, algorithm) ? REGISTERED_DIGESTS[algorithm] : undefined
    if (form === undefined) return `pins a digest with algorithm ${JSON.stringify(clip(algorithm, 32))}, which registries do not serve (use sha256 or sha512)`
    if (!form.test(encoded)) return `pins a ${algorithm} digest that is not ${algorithm === 'sha256' ? 64 : 128} lowercase hex characters`
  }
  return undefined
}

export const catalogShape: RuleDefinition = {
  id: 'catalog-shape',
  appliesTo: ['Catalog'],
  needsState: false,
  check: (ctx) => {
    if (ctx.target.type !== 'catalog' || ctx.target.new === undefined) return []
    const before = ctx.target.old?.entries
    const out: Violation[] = []
    for (const [key, value] of ctx.target.new.entries) {
      if (before?.get(key) === value) continue
      const field = `data[${clip(key)}]`
      const version = parseVersion(key)
      if (!version.ok) {
        out.push(
          version.fixed !== undefined
            ? invalid(field, 'catalog-shape', key, 'catalog key lacks the leading "v"', `rename the key to "${clip(version.fixed)}"`)
            : invalid(field, 'catalog-shape', key, `catalog key ${version.reason}`, 'use a key such as "v1.34.5" or "v1.34.5-3"'),
        )
      }
      const problem = imageReferenceProblem(value)
      if (problem !== undefined) out.push(invalid(field, 'catalog-shape', value, `image ${problem}`, 'set the value to an image such as "registry.example.com:11443/tkestack/baremetal-base-image:v4.3.2-1-1.34.5-3"'))
    }
    return out
  },
}
