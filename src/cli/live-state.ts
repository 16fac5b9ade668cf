/**
 * @module cli/live-state
 * `validate --kubeconfig`: read the live state once (list only).
 */
import { UpgradeGuardError } from '../errors.js'
import type { Policy } from '../policy/types.js'
import type { MemoryView } from '../state/memory-view.js'

export async function loadLiveStateOnce(_kubeconfig: string, _policy: Policy): Promise<MemoryView> {
  throw new UpgradeGuardError('UG_ERR_USAGE', '--kubeconfig is not available yet')
}
