/**
 * pinned-component-tags: on a KCP minor change, pinned CoreDNS / etcd tags left unchanged get a
 * warning; where the policy has a minor → tags table, a tag outside it is a violation.
 *
 * ACP guide: "Where component image tags are pinned (DNS, etcd), update them in the same edit:
 * … dns.imageTag ← matching CoreDNS image tag for the new release. … etcd.local.imageTag ←
 * matching etcd image tag for the new release."
 */
import { minorLabel, sameMinor, tryParseVersion } from '../versions/version.js'
import { guardedChange, storedVersion } from './common.js'
import { clip, invalid } from './field-path.js'
import type { RuleDefinition, Violation } from './types.js'

const BASE = 'spec.kubeadmConfigSpec.clusterConfiguration'
const COMPONENTS = [
  { key: 'coredns', field: `${BASE}.dns.imageTag`, label: 'CoreDNS', read: (o: { dnsImageTag: unknown }) => o.dnsImageTag },
  { key: 'etcd', field: `${BASE}.etcd.local.imageTag`, label: 'etcd', read: (o: { etcdImageTag: unknown }) => o.etcdImageTag },
] as const

export const pinnedComponentTags: RuleDefinition = {
  id: 'pinned-component-tags',
  appliesTo: ['KubeadmControlPlane'],
  needsState: false,
  watches: (o) => [o.version, o.dnsImageTag, o.etcdImageTag],
  check: (ctx) => {
    const change = guardedChange(ctx)
    if (change === undefined) return []
    const { old, new: next } = change
    const to = tryParseVersion(next.version)
    if (to === undefined) return []
    const from = old === undefined ? undefined : storedVersion(old.version)
    const minorChange = from !== undefined && !sameMinor(from, to)
    const label = minorLabel(to)
    const table = Object.hasOwn(ctx.policy.componentTags, label) ? ctx.policy.componentTags[label] : undefined
    const out: Violation[] = []
    const leftPinned: { readonly field: string; readonly label: string; readonly tag: string }[] = []
    for (const c of COMPONENTS) {
      const tag = c.read(next)
      if (typeof tag !== 'string') continue // not pinned: kubeadm picks the matching default
      const accepted = table?.[c.key]
      if (accepted !== undefined && !accepted.includes(tag) && (old === undefined || minorChange || c.read(old) !== tag)) {
        out.push(invalid(c.field, 'pinned-component-tags', tag, `${c.label} tag is not one the policy accepts for ${label} (${accepted.join(', ')})`, `set ${c.field} to ${accepted[0] ?? '?'}`))
      } else if (minorChange && old !== undefined && c.read(old) === tag && accepted === undefined) {
        leftPinned.push({ field: c.field, label: c.label, tag })
      }
    }
    // One warning for the request, naming every tag left pinned (CoreDNS and etcd together). Its
    // field is the first one's real path, so CLI annotations still point at a line.
    const [first] = leftPinned
    if (first !== undefined) {
      const names = leftPinned.map((p) => p.label).join(' and ')
      const what = leftPinned.map((p) => `${p.field.slice(BASE.length + 1)} ${JSON.stringify(clip(p.tag))}`).join(', ')
      const one = leftPinned.length === 1
      out.push({ ...invalid(first.field, 'pinned-component-tags', one ? first.tag : leftPinned.map((p) => p.tag), `pinned ${names} ${one ? 'tag' : 'tags'} left unchanged across a minor upgrade to ${to.raw}${one ? '' : ` (${what})`}`, `set the ${names} ${one ? 'tag' : 'tags'} that ${one ? 'matches' : 'match'} ${label} in the same edit, or unpin ${one ? 'it' : 'them'}`), advisory: true })
    }
    return out
  },
}
