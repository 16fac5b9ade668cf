/**
 * catalog-in-use: a catalog edit may not remove a key that a bare-metal KCP or MD uses, and the
 * catalog may not be deleted while in use.
 *
 * ACP guide: the provider "resolves the new Kubernetes version against elemental-image-catalog"
 * for every replacement, and remediation does the same for the running version; a missing key
 * sends the BaremetalMachine to "Failed with ImageResolved=False / Reason=ImageCatalogMiss".
 * KCP spec.version and status.version both count: machines still run the status version.
 */
import { isBareMetal, listNames, qualifiedName } from './common.js'
import { forbidden } from './field-path.js'
import type { RuleDefinition, Violation } from './types.js'

export const catalogInUse: RuleDefinition = {
  id: 'catalog-in-use',
  appliesTo: ['Catalog'],
  // Only removing keys (or deleting the catalog) needs to know who uses them.
  needsState: (ctx) => ctx.target.type === 'catalog' && ctx.target.old !== undefined && [...ctx.target.old.entries.keys()].some((k) => ctx.target.type === 'catalog' && ctx.target.new?.entries.has(k) !== true),
  check: (ctx) => {
    if (ctx.target.type !== 'catalog' || ctx.target.old === undefined) return []
    const after = ctx.target.new?.entries
    const deleting = ctx.target.new === undefined
    const out: Violation[] = []
    for (const key of ctx.target.old.entries.keys()) {
      if (after?.has(key) === true) continue
      const users = ctx.view.usersOfVersion(key).filter((o) => isBareMetal(o, ctx.policy))
      if (users.length === 0) continue
      const names = listNames(users.map((u) => `${u.kind} ${qualifiedName(u)}`))
      const message = deleting
        ? `cannot delete the catalog: key ${key} is used by ${names}; replacements and remediation resolve images from it`
        : `cannot remove key ${key}: it is used by ${names}; replacements and remediation resolve images from it`
      out.push(forbidden(deleting ? 'metadata.name' : `data[${key}]`, 'catalog-in-use', message, `move those objects to another version (and let the rollout finish) before removing ${key}`))
    }
    return out
  },
}
