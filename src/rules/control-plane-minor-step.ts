/**
 * control-plane-minor-step: a KCP rises at most one minor per step, counted from the lowest
 * version actually running; no downgrades, no major changes.
 *
 * ACP guide: "Kubernetes only supports single-minor upgrades for the control plane (skew
 * policy)." GKE: "You can't skip minor versions when upgrading clusters." and "Clusters can't be
 * downgraded to a lower version."
 *
 * CAPI only checks old spec.version + 2 minors; a second bump while the first rollout is still
 * running (status.version behind spec.version) would skip a minor on real machines.
 */
import { compareVersions, minorDistance, type Version } from '../versions/version.js'
import { dotted } from '../objects/unstructured.js'
import { guardedChange, lowestRunning, readVersion, storedVersion, unreadableRunning, versionChanged } from './common.js'
import { catalogPatchCommand } from './catalog-key.js'
import { forbidden } from './field-path.js'
import type { RuleContext, RuleDefinition } from './types.js'
import { newestKeyOfMinor, type Catalog } from '../objects/catalog.js'

/** The newest catalog key of a minor, or `vMAJOR.MINOR.x` when the catalog has none. */
export function newestOfMinor(catalog: Catalog | undefined, major: number, minor: number): string {
  return (catalog === undefined ? undefined : newestKeyOfMinor(catalog, major, minor))?.raw ?? `v${major}.${minor}.x`
}

/**
 * The next step from `from`: set the newest key of the next minor, or, when the catalog has no
 * key of that minor, add one first (a hint never proposes a version that cannot resolve).
 */
function nextStepHint(ctx: RuleContext, from: Version): string {
  const catalog = ctx.view.catalog()
  const minor = `v${from.major}.${from.minor + 1}`
  const key = catalog === undefined ? undefined : newestKeyOfMinor(catalog, from.major, from.minor + 1)
  if (key !== undefined) return `set spec.version to ${key.raw} first and wait until status.version reaches it`
  return `the catalog has no ${minor} key, so no ${minor} step can resolve an OS image yet: add one first (${catalogPatchCommand(ctx.policy.catalog, `${minor}.<patch>`)}), then set spec.version to it and wait until status.version reaches it`
}

/** Mid-rollout with spec already on the intermediate minor: wait for that rollout, if it can finish. */
function waitHint(ctx: RuleContext, oldSpec: Version, to: Version): string {
  const then = to.major === oldSpec.major && to.minor === oldSpec.minor + 1 ? `set spec.version to ${to.raw}` : 'go on one minor at a time'
  const catalog = ctx.view.catalog()
  if (catalog !== undefined && !catalog.entries.has(oldSpec.raw)) {
    // The rollout in progress can never finish: its replacements miss the catalog.
    return `the rollout in progress to ${oldSpec.raw} cannot finish: ${oldSpec.raw} is not a catalog key; add it (${catalogPatchCommand(ctx.policy.catalog, oldSpec.raw)}), wait until status.version reaches ${oldSpec.raw}, then ${then}`
  }
  return `wait until status.version reaches ${oldSpec.raw} (the rollout in progress), then ${then}`
}

export const controlPlaneMinorStep: RuleDefinition = {
  id: 'control-plane-minor-step',
  appliesTo: ['KubeadmControlPlane'],
  needsState: false,
  watches: (o) => o.version,
  check: (ctx) => {
    const change = guardedChange(ctx)
    if (change === undefined || change.old === undefined || !versionChanged(ctx)) return []
    const { old, new: next } = change
    const field = dotted(next.paths.version)
    const parsed = readVersion(next, 'control-plane-minor-step')
    if (!parsed.ok) return [...parsed.violations]
    const to = parsed.version
    // The lowest PARSEABLE running version: an unreadable spec.version (or status.version) never
    // switches the check off while the other one is readable.
    const from = lowestRunning(old)
    if (from === undefined) return [unreadableRunning(old, 'control-plane-minor-step', field, next.version)]
    const oldSpec = storedVersion(old.version)
    const running = storedVersion(old.statusVersion)
    const distance = minorDistance(from, to)
    if (distance === undefined) {
      return [forbidden(field, 'control-plane-minor-step', `cannot change the major version from ${from.raw} to ${to.raw}`, `keep major version ${from.major}`, next.version)]
    }
    // A downgrade is measured from the stored target (spec), or what runs when spec is unreadable.
    const current = oldSpec ?? from
    if (compareVersions(to, current) < 0) {
      return [forbidden(field, 'control-plane-minor-step', `cannot downgrade the control plane from ${current.raw} to ${to.raw}; a downgrade is not a rollback path on bare metal`, 'repair forward with a newer build, or restore etcd from a backup', next.version)]
    }
    if (distance > 1) {
      const inFlight = running !== undefined && oldSpec !== undefined && compareVersions(running, oldSpec) < 0 ? ' while a rollout is still in progress' : ''
      const hint = inFlight !== '' && oldSpec !== undefined && oldSpec.major === from.major && oldSpec.minor === from.minor + 1 ? waitHint(ctx, oldSpec, to) : nextStepHint(ctx, from)
      const runningText = [running === undefined ? undefined : `status.version ${running.raw}`, oldSpec === undefined ? undefined : `spec.version ${oldSpec.raw}`].filter((t) => t !== undefined).join(', ')
      return [
        forbidden(field, 'control-plane-minor-step', `cannot go from ${from.raw} to ${to.raw} in one step${inFlight} (running: ${runningText}); the control plane moves one minor at a time`, hint, next.version),
      ]
    }
    return []
  },
}
