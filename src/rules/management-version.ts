/**
 * management-version: a workload cluster's control plane may not move to a minor above the
 * management cluster's own minor.
 *
 * GKE (Version skew): "the admin cluster can be at most one minor version ahead of its managed
 * clusters." — the management cluster leads, never follows. (Workload clusters more than one
 * minor behind it are reported by `upgrade-guard audit`.)
 */
import { tryParseVersion } from '../versions/version.js'
import { missingState, readVersion } from './common.js'
import { forbidden } from './field-path.js'
import { rolloutStart } from './preflight.js'
import type { RuleDefinition } from './types.js'

export const managementVersion: RuleDefinition = {
  id: 'management-version',
  appliesTo: ['KubeadmControlPlane'],
  needsState: true,
  watches: (o) => o.version,
  check: (ctx) => {
    const start = rolloutStart(ctx)
    if (start === undefined) return []
    const { next, field } = start
    const facts = ctx.view.lifecycle()
    const raw = ctx.view.managementVersion()
    if (raw === undefined) {
      // Live: /version could not be read — fail closed. Files without --management-version: nothing to compare with.
      const problem = facts.managementVersionProblem()
      return problem === undefined ? [] : missingState(ctx, 'management-version', field, `the management cluster's version is unknown (${problem})`, 'retry when upgrade-guard can read GET /version')
    }
    const target = readVersion(next, 'management-version')
    if (!target.ok) return [...target.violations]
    // gitVersion may carry a build suffix (v1.33.7+k3s1, v1.33.7-gke.100): only major.minor count.
    const management = tryParseVersion(raw.replace(/\+.*$/, ''))
    if (management === undefined) return missingState(ctx, 'management-version', field, `the management cluster's version ${JSON.stringify(raw)} is not a version`, 'pass --management-version vX.Y.Z')
    const t = target.version
    const isAbove = t.major > management.major || (t.major === management.major && t.minor > management.minor)
    if (!isAbove) return []
    return [
      forbidden(
        field,
        'management-version',
        `the management cluster runs ${management.raw} (v${management.major}.${management.minor}); a workload control plane may not move to v${t.major}.${t.minor}, above it`,
        `upgrade the management (global) cluster to v${t.major}.${t.minor} first, or set ${field} to a v${management.major}.${management.minor} version or older`,
        next.version,
      ),
    ]
  },
}
