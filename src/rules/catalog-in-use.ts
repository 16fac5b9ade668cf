/**
 * catalog-in-use: a catalog edit may not remove a key that a bare-metal KCP or MD uses, and the
 * catalog may not be deleted while any bare-metal KCP or MD exists.
 *
 * ACP guide: the provider "resolves the new Kubernetes version against elemental-image-catalog"
 * for every replacement, and remediation does the same for the running version; a missing key
 * sends the BaremetalMachine to "Failed with ImageResolved=False / Reason=ImageCatalogMiss".
 * KCP spec.version and status.version both count: machines still run the status version. A
 * deleted catalog resolves nothing, so every bare-metal object counts, whatever its key.
 */
import type { GuardedObject } from '../objects/capi.js'
import { isBareMetal, listNames, qualifiedName } from './common.js'
import { clip, forbidden } from './field-path.js'
import type { RuleContext, RuleDefinition, Violation } from './types.js'

const describe = (u: GuardedObject): string => `${u.kind} ${qualifiedName(u)}`

function removedKeys(ctx: RuleContext): string[] {
  if (ctx.target.type !== 'catalog' || ctx.target.old === undefined) return []
  const after = ctx.target.new?.entries
  return [...ctx.target.old.entries.keys()].filter((k) => after?.has(k) !== true)
}

function checkDelete(ctx: RuleContext): Violation[] {
  const users = ctx.view.guardedObjects().filter((o) => isBareMetal(o, ctx.policy))
  if (users.length === 0) return []
  const named = users.map((u) => `${describe(u)} (${typeof u.version === 'string' ? clip(u.version) : '?'})`)
  return [forbidden('metadata.name', 'catalog-in-use', `cannot delete the catalog while bare-metal objects resolve images from it: ${listNames(named)}`, 'edit the catalog instead of deleting it; remove only keys nothing uses')]
}

export const catalogInUse: RuleDefinition = {
  id: 'catalog-in-use',
  appliesTo: ['Catalog'],
  // Only removing keys (or deleting the catalog) needs to know who uses them.
  needsState: (ctx) => removedKeys(ctx).length > 0 || (ctx.target.type === 'catalog' && ctx.target.new === undefined),
  check: (ctx) => {
    if (ctx.target.type !== 'catalog' || ctx.target.old === undefined) return []
    if (ctx.target.new === undefined) return checkDelete(ctx)
    const out: Violation[] = []
    for (const key of removedKeys(ctx)) {
      const users = ctx.view.usersOfVersion(key).filter((o) => isBareMetal(o, ctx.policy))
      if (users.length === 0) continue
      out.push(forbidden(`data[${clip(key)}]`, 'catalog-in-use', `cannot remove key ${clip(key)}: it is used by ${listNames(users.map(describe))}; replacements and remediation resolve images from it`, `move those objects to another version (and let the rollout finish) before removing ${clip(key)}`))
    }
    return out
  },
}
