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
import { tryParseVersion, compareVersions, minorDistance } from '../versions/version.js'
import { dotted } from '../objects/unstructured.js'
import { guardedChange, lowestRunning, readVersion, versionChanged } from './common.js'
import { forbidden } from './field-path.js'
import type { RuleDefinition } from './types.js'
import { newestKeyOfMinor, type Catalog } from '../objects/catalog.js'

/** The newest catalog key of a minor, or `vMAJOR.MINOR.x` when the catalog has none. */
export function newestOfMinor(catalog: Catalog | undefined, major: number, minor: number): string {
  return (catalog === undefined ? undefined : newestKeyOfMinor(catalog, major, minor))?.raw ?? `v${major}.${minor}.x`
}

export const controlPlaneMinorStep: RuleDefinition = {
  id: 'control-plane-minor-step',
  appliesTo: ['KubeadmControlPlane'],
  needsState: false,
  watches: (o) => o.version,
  check: (ctx) => {
    const change = guardedChange(ctx)
    if (change === undefined || change.old === undefined || !versionChanged(ctx)) return []
    const { old, next } = change
    const field = dotted(next.paths.version)
    const parsed = readVersion(next, 'control-plane-minor-step')
    if (!parsed.ok) return [...parsed.violations]
    const to = parsed.version
    const from = lowestRunning(old)
    const oldSpec = tryParseVersion(old.version)
    if (from === undefined || oldSpec === undefined) return [] // nothing valid to compare with
    const running = tryParseVersion(old.statusVersion)
    const runningText = running === undefined ? `spec.version ${oldSpec.raw}` : `status.version ${running.raw}, spec.version ${oldSpec.raw}`
    const distance = minorDistance(from, to)
    if (distance === undefined) {
      return [forbidden(field, 'control-plane-minor-step', `cannot change the major version from ${from.raw} to ${to.raw}`, `keep major version ${from.major}`, next.version)]
    }
    if (compareVersions(to, oldSpec) < 0) {
      return [forbidden(field, 'control-plane-minor-step', `cannot downgrade the control plane from ${oldSpec.raw} to ${to.raw}; a downgrade is not a rollback path on bare metal`, 'repair forward with a newer build, or restore etcd from a backup', next.version)]
    }
    if (distance > 1) {
      const next1 = newestOfMinor(ctx.view.catalog(), from.major, from.minor + 1)
      const inFlight = running !== undefined && compareVersions(running, oldSpec) < 0 ? ' while a rollout is still in progress' : ''
      // Mid-rollout with spec already on the intermediate minor: the fix is to wait for that
      // rollout, not to retarget it to another build of the same minor.
      const hint = inFlight !== '' && oldSpec.major === from.major && oldSpec.minor === from.minor + 1
        ? `wait until status.version reaches ${oldSpec.raw} (the rollout in progress), then ${to.minor === oldSpec.minor + 1 ? `set spec.version to ${to.raw}` : 'go on one minor at a time'}`
        : `set spec.version to ${next1} first and wait until status.version reaches it`
      return [
        forbidden(field, 'control-plane-minor-step', `cannot go from ${from.raw} to ${to.raw} in one step${inFlight} (running: ${runningText}); the control plane moves one minor at a time`, hint, next.version),
      ]
    }
    return []
  },
}
