/**
 * @module audit/as-it-stands
 * The one place an existing object becomes an engine request. An object as it stands is judged
 * like a CREATE of its current spec, with its stored status (the raw object, status included):
 * every rule that judges what an object *is* sees it whole, and the rules that judge a
 * *transition* (old → new: no-downgrade, control-plane-minor-step, catalog-in-use's removal
 * check, pinned tags left unchanged across a minor) find no old object and stay silent, as
 * they must: nothing is moving.
 *
 * The routed kind is the object's own, as for any manifest the CLI judges (dry-run/apply).
 */
import type { EngineRequest, UserInfo } from '../engine/decision.js'
import { manifestKind } from '../dry-run/apply.js'
import { getString, type Unstructured } from '../objects/unstructured.js'

/**
 * The audit acts for nobody: no user may bypass, so a bypass annotation left on an object
 * never hides a finding (the next edit needs an authorised user again). The engine's own
 * "may not bypass" complaint about it is dropped by the audit (it is not about the object).
 */
export const AUDIT_USER: UserInfo = { username: 'system:upgrade-guard:audit', groups: [] }

/**
 * Rules that judge only an edit that *starts a version rollout* (SPEC "Preflight rules", issue
 * 13: are the management controllers rolled out, are the machines healthy, does the pool have
 * room). An object as it stands starts nothing, so their findings are not audit findings even if
 * a CREATE looks like a rollout to them. Listed by id so this holds before and after they exist.
 */
export const ROLLOUT_ONLY_RULES: ReadonlySet<string> = new Set(['management-ready', 'control-plane-healthy', 'workers-healthy', 'pool-capacity'])

const RESOURCES: Readonly<Record<string, string>> = {
  KubeadmControlPlane: 'kubeadmcontrolplanes',
  MachineDeployment: 'machinedeployments',
  ConfigMap: 'configmaps',
}

export function asItStands(object: Unstructured): EngineRequest {
  const kind = manifestKind(object)
  const resource = RESOURCES[kind.kind]
  return {
    operation: 'CREATE',
    kind,
    ...(resource === undefined ? {} : { resource }),
    namespace: getString(object, ['metadata', 'namespace']) ?? '',
    name: getString(object, ['metadata', 'name']) ?? '',
    object,
    oldObject: null,
    userInfo: AUDIT_USER,
  }
}
