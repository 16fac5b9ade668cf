/**
 * @module plan/commands
 * The exact kubectl commands of a plan, in the seed's spelling (ACP guide, "Update the Image
 * Catalog", "Upgrade the Control Plane", "Upgrade Workers", "Verification"). Every argument that
 * may hold a placeholder (`<…>`) is single-quoted, so a shell never reads it as a redirection.
 */
import type { ApiLevel } from '../objects/capi.js'

/** Minutes one bare-metal machine replacement may take (clean plan, reprovision, reboot, join). */
export const MINUTES_PER_MACHINE = 30

const pointer = (key: string): string => `/data/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`

/** ACP guide, Option B: `kubectl -n cpaas-system patch configmap elemental-image-catalog --type='json' -p='[…]'`. */
export function catalogAddCommand(catalog: { namespace: string; name: string }, key: string, image: string): string {
  const patch = JSON.stringify([{ op: 'add', path: pointer(key), value: image }])
  return `kubectl -n ${catalog.namespace} patch configmap ${catalog.name} --type=json -p='${patch}'`
}

export function catalogShowCommand(catalog: { namespace: string; name: string }): string {
  return `kubectl -n ${catalog.namespace} get configmap ${catalog.name} -o yaml`
}

export function annotateClusterCommand(namespace: string, name: string, annotation: string, value: string): string {
  return `kubectl -n ${namespace} annotate cluster.cluster.x-k8s.io ${name} '${annotation}=${value}'`
}

export function mergePatchCommand(resource: 'kubeadmcontrolplane' | 'machinedeployment', namespace: string, name: string, patch: unknown): string {
  return `kubectl -n ${namespace} patch ${resource} ${name} --type=merge -p '${JSON.stringify(patch)}'`
}

export function waitControlPlaneCommand(namespace: string, name: string, version: string, replicas: number): string {
  return `kubectl wait --for=jsonpath='{.status.version}'=${version} kcp/${name} -n ${namespace} --timeout=${Math.max(1, replicas) * MINUTES_PER_MACHINE}m`
}

/**
 * A MachineDeployment has no status.version: its rollout is done when the controller has seen the
 * new template (status.observedGeneration reaches metadata.generation — before that the counters
 * still describe the OLD template and would already read "all replicas", letting a script move
 * the control plane on while workers are a minor behind), every replica has the new template, and
 * every replica is ready. The up-to-date counter moved between API versions (v1beta1
 * updatedReplicas, v1beta2 upToDateReplicas), so the command names the API version it reads.
 */
export function waitWorkersCommand(namespace: string, name: string, level: ApiLevel, replicas: number, batches: number): string {
  const field = level === 'v1beta1' ? 'updatedReplicas' : 'upToDateReplicas'
  const resource = `machinedeployments.${level}.cluster.x-k8s.io/${name}`
  const timeout = `--timeout=${Math.max(1, batches) * MINUTES_PER_MACHINE}m`
  const gen = `$(kubectl get ${resource} -n ${namespace} -o jsonpath='{.metadata.generation}')`
  return [
    `kubectl wait --for=jsonpath='{.status.observedGeneration}'=${gen} ${resource} -n ${namespace} ${timeout}`,
    `kubectl wait --for=jsonpath='{.status.${field}}'=${replicas} ${resource} -n ${namespace} ${timeout}`,
    `kubectl wait --for=jsonpath='{.status.readyReplicas}'=${replicas} ${resource} -n ${namespace} ${timeout}`,
  ].join(' && ')
}

/** ACP guide, "Verification", scoped to the cluster. */
export function verificationCommands(namespace: string, cluster: string): string[] {
  return [
    `kubectl -n ${namespace} get baremetalmachines.infrastructure.cluster.x-k8s.io -l cluster.x-k8s.io/cluster-name=${cluster}`,
    `kubectl -n ${namespace} get machines.cluster.x-k8s.io -l cluster.x-k8s.io/cluster-name=${cluster} -o custom-columns=NAME:.metadata.name,VERSION:.spec.version,PHASE:.status.phase`,
    `kubectl -n ${namespace} get secret ${cluster}-kubeconfig -o jsonpath='{.data.value}' | base64 -d > ${cluster}.kubeconfig`,
    `kubectl --kubeconfig ${cluster}.kubeconfig get nodes -o wide`,
    `kubectl -n ${namespace} get machineinventorypools.infrastructure.cluster.x-k8s.io -o yaml`,
  ]
}
