/**
 * no-downgrade: MachineDeployment versions may not go down (revision-aware: v1.33.7-2 is newer
 * than v1.33.7). The policy may relax it to warn or audit.
 *
 * GKE: "Clusters can't be downgraded to a lower version." ACP: a minor downgrade is not a
 * rollback path; repair forward.
 */
import { dotted } from '../objects/unstructured.js'
import { compareVersions } from '../versions/version.js'
import { guardedChange, readVersion, storedVersion, unreadableRunning, versionChanged } from './common.js'
import { forbidden } from './field-path.js'
import type { RuleDefinition } from './types.js'

export const noDowngrade: RuleDefinition = {
  id: 'no-downgrade',
  appliesTo: ['MachineDeployment'],
  needsState: false,
  watches: (o) => o.version,
  check: (ctx) => {
    const change = guardedChange(ctx)
    if (change === undefined || change.old === undefined || !versionChanged(ctx) || change.new.version === undefined) return []
    const parsed = readVersion(change.new, 'no-downgrade')
    if (!parsed.ok) return [...parsed.violations]
    const field = dotted(change.new.paths.version)
    // No stored version (optional on an MD): nothing runs a version yet, nothing to go down from.
    if (change.old.version === undefined) return []
    const before = storedVersion(change.old.version)
    if (before === undefined) return [unreadableRunning(change.old, 'no-downgrade', field, change.new.version)]
    if (compareVersions(parsed.version, before) >= 0) return []
    return [forbidden(field, 'no-downgrade', `cannot downgrade workers from ${before.raw} to ${parsed.version.raw}`, `keep ${field} at ${before.raw} or newer; roll forward to a fixed build instead`, change.new.version)]
  },
}
