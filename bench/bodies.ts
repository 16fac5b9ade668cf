/**
 * @module bench/bodies
 * Realistic AdmissionReview bodies for the benchmark, the big generated state and the fuzzers.
 * Every object is built in the shape a real kube-apiserver v1.34 sent (reference/admission-reviews
 * v1beta1/016 KCP UPDATE, 038 MD UPDATE, 050 catalog UPDATE): the `last-applied-configuration`
 * annotation, three managedFields entries (client-side apply, status subresource, the patch),
 * uid/resourceVersion/generation, status. Only names and versions are parameters, so the same
 * builders serve examples/state (one cluster) and the 1,000-cluster generated state.
 */

export type Obj = Record<string, unknown>

export const CATALOG_NAMESPACE = 'cpaas-system'
export const CATALOG_NAME = 'elemental-image-catalog'
export const REGISTRY = 'registry.example.com:11443'
export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name'

/** The keys of examples/state/catalog.yaml (ACP 4.1–4.4 images). */
export const CATALOG_KEYS = ['v1.32.7', 'v1.32.8', 'v1.33.7-2', 'v1.33.7-3', 'v1.33.7-10', 'v1.34.5', 'v1.34.5-1', 'v1.34.5-3', 'v1.35.6-acp.1'] as const

/** CoreDNS / etcd tags that ship with each ACP Kubernetes minor. */
export const COMPONENT_TAGS: Readonly<Record<string, { readonly dns: string; readonly etcd: string }>> = {
  'v1.32': { dns: '1.11.3-v4.1.0', etcd: 'v3.5.21' },
  'v1.33': { dns: '1.12.4-v4.2.7', etcd: 'v3.5.25-251215' },
  'v1.34': { dns: '1.14.2-v4.3.11', etcd: 'v3.5.28-260625' },
  'v1.35': { dns: '1.14.3-v4.4.6', etcd: 'v3.6.13-acp.0' },
}

export const imageOf = (version: string): string => `${REGISTRY}/tkestack/baremetal-base-image:v0.0.0-beta-${version.replace(/^v/, '')}`

const minorOf = (version: string): string => version.split('.').slice(0, 2).join('.')
const tagsOf = (version: string): { dns: string; etcd: string } => COMPONENT_TAGS[minorOf(version)] ?? { dns: '1.12.4-v4.2.7', etcd: 'v3.5.25-251215' }

/** A deterministic RFC 4122-shaped uid (the API server sends a fresh UUID per call). */
export function uidOf(n: number, prefix = 0): string {
  const hex = n.toString(16).padStart(12, '0').slice(-12)
  return `${prefix.toString(16).padStart(8, '0').slice(-8)}-0000-4000-8000-${hex}`
}

/** managedFields `fieldsV1` of an applied object: maps get `.`, everything else is a leaf. */
function fieldsOf(value: unknown, atomic: ReadonlySet<string>, path = ''): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || atomic.has(path)) return {}
  const out: Obj = path === '' || path === 'metadata' ? {} : { '.': {} }
  for (const [k, v] of Object.entries(value as Obj)) {
    if (path === '' && (k === 'apiVersion' || k === 'kind')) continue
    if (path === 'metadata' && (k === 'name' || k === 'namespace')) continue
    if (path === 'metadata.annotations' && k === '.') continue
    out[`f:${k}`] = fieldsOf(v, atomic, path === '' ? k : `${path}.${k}`)
  }
  return out
}

function nestedFields(path: readonly string[]): Obj {
  return path.reduceRight<Obj>((inner, key) => ({ [`f:${key}`]: inner }), {})
}

interface MetaOptions {
  readonly name: string
  readonly namespace: string
  readonly labels?: Readonly<Record<string, string>>
  readonly annotations?: Readonly<Record<string, string>>
  readonly generation: number
  readonly resourceVersion: string
  readonly uid: string
  /** The object as `kubectl apply` first sent it (becomes last-applied-configuration). */
  readonly applied: Obj
  /** Field path of the last `kubectl patch` (third managedFields entry), if any. */
  readonly patched?: readonly string[]
  /** Fields of the status subresource writer (second entry), if any. */
  readonly statusFields?: readonly string[]
  readonly apiVersion: string
  readonly atomic: ReadonlySet<string>
  /** `kubectl get -o yaml` hides managedFields; admission requests carry them. */
  readonly managedFields: boolean
}

function metadataOf(o: MetaOptions): Obj {
  const lastApplied = `${JSON.stringify(o.applied)}\n`
  const meta: Obj = {
    annotations: { ...o.annotations, 'kubectl.kubernetes.io/last-applied-configuration': lastApplied },
    creationTimestamp: '2026-11-22T20:46:47Z',
    generation: o.generation,
    ...(o.labels === undefined ? {} : { labels: { ...o.labels } }),
  }
  if (o.managedFields) {
    const appliedFields = fieldsOf({ ...o.applied, metadata: { ...(o.applied.metadata as Obj), annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '' } } }, o.atomic)
    const entries: Obj[] = [{ apiVersion: o.apiVersion, fieldsType: 'FieldsV1', fieldsV1: appliedFields, manager: 'kubectl-client-side-apply', operation: 'Update', time: '2026-11-22T20:46:47Z' }]
    if (o.statusFields !== undefined) {
      entries.push({
        apiVersion: o.apiVersion,
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:status': { '.': {}, ...Object.fromEntries(o.statusFields.map((f) => [`f:${f}`, {}])) } },
        manager: 'kubectl-patch',
        operation: 'Update',
        subresource: 'status',
        time: '2026-11-22T20:46:47Z',
      })
    }
    if (o.patched !== undefined) {
      entries.push({ apiVersion: o.apiVersion, fieldsType: 'FieldsV1', fieldsV1: nestedFields(o.patched), manager: 'kubectl-patch', operation: 'Update', time: '2026-11-22T20:46:48Z' })
    }
    meta.managedFields = entries
  }
  meta.name = o.name
  meta.namespace = o.namespace
  meta.resourceVersion = o.resourceVersion
  meta.uid = o.uid
  return meta
}

export interface KcpParams {
  readonly namespace: string
  readonly name: string
  readonly cluster: string
  /** spec.version asked for. */
  readonly version: string
  /** status.version: the lowest version running. */
  readonly statusVersion: string
  /** The version of the first `kubectl apply` (last-applied-configuration). */
  readonly appliedVersion?: string
  readonly replicas?: number
  readonly maxSurge?: number | string
  /** Component tags; default: those of the status version's minor. */
  readonly tagsFor?: string
  readonly generation?: number
  readonly resourceVersion?: string
  readonly uid?: string
  readonly patched?: readonly string[]
  readonly managedFields?: boolean
}

/** A bare-metal v1beta1 KubeadmControlPlane shaped like reference v1beta1/016. */
export function kcpObject(p: KcpParams): Obj {
  const tags = tagsOf(p.tagsFor ?? p.statusVersion)
  const nodeLabels = { nodeRegistration: { kubeletExtraArgs: { 'node-labels': 'kube-ovn/role=master' } } }
  const spec = (version: string, dns: string, etcd: string): Obj => ({
    kubeadmConfigSpec: {
      clusterConfiguration: {
        apiServer: { extraArgs: { profiling: 'false' } },
        dns: { imageTag: dns },
        etcd: { local: { imageTag: etcd } },
        imageRepository: `${REGISTRY}/alauda`,
      },
      initConfiguration: nodeLabels,
      joinConfiguration: nodeLabels,
    },
    machineTemplate: {
      infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'BaremetalMachineTemplate', name: `${p.name}-template`, namespace: p.namespace },
      nodeDrainTimeout: '5m0s',
      nodeVolumeDetachTimeout: '5m0s',
    },
    replicas: p.replicas ?? 3,
    rolloutStrategy: { rollingUpdate: { maxSurge: p.maxSurge ?? 0 }, type: 'RollingUpdate' },
    version,
  })
  const appliedVersion = p.appliedVersion ?? p.statusVersion
  const appliedTags = tagsOf(appliedVersion)
  const labels = { [CLUSTER_NAME_LABEL]: p.cluster }
  const apiVersion = 'controlplane.cluster.x-k8s.io/v1beta1'
  const applied: Obj = { apiVersion, kind: 'KubeadmControlPlane', metadata: { annotations: {}, labels, name: p.name, namespace: p.namespace }, spec: spec(appliedVersion, appliedTags.dns, appliedTags.etcd) }
  return {
    apiVersion,
    kind: 'KubeadmControlPlane',
    metadata: metadataOf({
      name: p.name,
      namespace: p.namespace,
      labels,
      generation: p.generation ?? 4,
      resourceVersion: p.resourceVersion ?? '240',
      uid: p.uid ?? uidOf(1, 0xfc),
      applied,
      ...(p.patched === undefined ? {} : { patched: p.patched }),
      statusFields: ['readyReplicas', 'replicas', 'selector', 'version'],
      apiVersion,
      atomic: new Set(['spec.machineTemplate.infrastructureRef']),
      managedFields: p.managedFields ?? true,
    }),
    spec: spec(p.version, tags.dns, tags.etcd),
    status: {
      readyReplicas: p.replicas ?? 3,
      replicas: p.replicas ?? 3,
      selector: `${CLUSTER_NAME_LABEL}=${p.cluster},cluster.x-k8s.io/control-plane`,
      version: p.statusVersion,
    },
  }
}

export interface MdParams {
  readonly namespace: string
  readonly name: string
  readonly cluster: string
  readonly version: string
  readonly appliedVersion?: string
  readonly replicas?: number
  readonly maxSurge?: number | string
  readonly maxUnavailable?: number | string
  readonly generation?: number
  readonly resourceVersion?: string
  readonly uid?: string
  readonly patched?: readonly string[]
  readonly managedFields?: boolean
}

/** A bare-metal v1beta1 MachineDeployment shaped like reference v1beta1/038. */
export function mdObject(p: MdParams): Obj {
  const labels = { [CLUSTER_NAME_LABEL]: p.cluster }
  const poolLabels = { [CLUSTER_NAME_LABEL]: p.cluster, 'pool.name': p.name }
  const spec = (version: string): Obj => ({
    clusterName: p.cluster,
    replicas: p.replicas ?? 3,
    selector: { matchLabels: poolLabels },
    strategy: { rollingUpdate: { maxSurge: p.maxSurge ?? 0, maxUnavailable: p.maxUnavailable ?? 1 }, type: 'RollingUpdate' },
    template: {
      metadata: { labels: poolLabels },
      spec: {
        bootstrap: { configRef: { apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1', kind: 'KubeadmConfigTemplate', name: `${p.cluster}-worker-bootstrap`, namespace: p.namespace } },
        clusterName: p.cluster,
        infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'BaremetalMachineTemplate', name: `${p.name}-template`, namespace: p.namespace },
        nodeDrainTimeout: '5m0s',
        nodeVolumeDetachTimeout: '5m0s',
        version,
      },
    },
  })
  const apiVersion = 'cluster.x-k8s.io/v1beta1'
  const applied: Obj = { apiVersion, kind: 'MachineDeployment', metadata: { annotations: {}, labels, name: p.name, namespace: p.namespace }, spec: spec(p.appliedVersion ?? p.version) }
  return {
    apiVersion,
    kind: 'MachineDeployment',
    metadata: metadataOf({
      name: p.name,
      namespace: p.namespace,
      labels,
      generation: p.generation ?? 2,
      resourceVersion: p.resourceVersion ?? '238',
      uid: p.uid ?? uidOf(2, 0xfd),
      applied,
      ...(p.patched === undefined ? {} : { patched: p.patched }),
      statusFields: ['phase', 'readyReplicas', 'replicas', 'selector'],
      apiVersion,
      atomic: new Set(['spec.selector', 'spec.template.spec.bootstrap.configRef', 'spec.template.spec.infrastructureRef']),
      managedFields: p.managedFields ?? true,
    }),
    spec: spec(p.version),
    status: { phase: 'Running', readyReplicas: p.replicas ?? 3, replicas: p.replicas ?? 3, selector: `${CLUSTER_NAME_LABEL}=${p.cluster},pool.name=${p.name}` },
  }
}

export interface ClusterParams {
  readonly namespace: string
  readonly name: string
  readonly skewOptIn?: boolean
  readonly uid?: string
}

/** A bare-metal CAPI Cluster as `kubectl get cluster -o yaml` prints it (examples/state/cluster.yaml). */
export function clusterObject(p: ClusterParams): Obj {
  return {
    apiVersion: 'cluster.x-k8s.io/v1beta1',
    kind: 'Cluster',
    metadata: {
      annotations: { 'cpaas.io/registry-address': REGISTRY, ...(p.skewOptIn === true ? { 'upgrade-guard.io/worker-skew': '2' } : {}) },
      creationTimestamp: '2026-11-22T20:46:40Z',
      generation: 2,
      name: p.name,
      namespace: p.namespace,
      resourceVersion: '201',
      uid: p.uid ?? uidOf(3, 0xfe),
    },
    spec: {
      clusterNetwork: { pods: { cidrBlocks: ['10.3.0.0/16'] }, services: { cidrBlocks: ['10.4.0.0/16'] } },
      controlPlaneEndpoint: { host: '192.168.130.10', port: 6443 },
      controlPlaneRef: { apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1', kind: 'KubeadmControlPlane', name: `${p.name}-control-plane`, namespace: p.namespace },
      infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', kind: 'BaremetalCluster', name: p.name, namespace: p.namespace },
    },
    status: { controlPlaneReady: true, infrastructureReady: true, phase: 'Provisioned' },
  }
}

/** The image catalog ConfigMap shaped like reference v1beta1/050. */
export function catalogObject(keys: readonly string[], o: { applied?: readonly string[]; patched?: readonly string[]; managedFields?: boolean } = {}): Obj {
  const data = Object.fromEntries([...keys].sort().map((k) => [k, imageOf(k)]))
  const appliedKeys = [...(o.applied ?? keys)].sort()
  const lastApplied = `${JSON.stringify({ apiVersion: 'v1', data: Object.fromEntries(appliedKeys.map((k) => [k, imageOf(k)])), kind: 'ConfigMap', metadata: { annotations: {}, name: CATALOG_NAME, namespace: CATALOG_NAMESPACE } })}\n`
  const metadata: Obj = {
    name: CATALOG_NAME,
    namespace: CATALOG_NAMESPACE,
    uid: '494883ad-ddf9-42a3-a24a-a23e2b0f675e',
    resourceVersion: '227',
    creationTimestamp: '2026-11-22T20:46:44Z',
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied },
  }
  if (o.managedFields ?? true) {
    metadata.managedFields = [
      {
        manager: 'kubectl-client-side-apply',
        operation: 'Update',
        apiVersion: 'v1',
        time: '2026-11-22T20:46:44Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:data': { '.': {}, ...Object.fromEntries(appliedKeys.map((k) => [`f:${k}`, {}])) }, 'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} } } },
      },
      ...(o.patched === undefined || o.patched.length === 0
        ? []
        : [{ manager: 'kubectl-patch', operation: 'Update', apiVersion: 'v1', time: '2026-11-22T20:46:51Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': Object.fromEntries(o.patched.map((k) => [`f:${k}`, {}])) } }]),
    ]
  }
  return { kind: 'ConfigMap', apiVersion: 'v1', metadata, data }
}

const RESOURCES: Readonly<Record<string, { group: string; version: string; resource: string }>> = {
  KubeadmControlPlane: { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', resource: 'kubeadmcontrolplanes' },
  MachineDeployment: { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinedeployments' },
  ConfigMap: { group: '', version: 'v1', resource: 'configmaps' },
}

export interface ReviewParams {
  readonly uid: string
  readonly operation: 'CREATE' | 'UPDATE' | 'DELETE'
  readonly object: Obj | null
  readonly oldObject: Obj | null
  readonly fieldManager?: string
  readonly username?: string
  readonly groups?: readonly string[]
  readonly dryRun?: boolean
}

/** The admission.k8s.io/v1 AdmissionReview envelope exactly as the API server sends it (fact 1). */
export function admissionReview(p: ReviewParams): Obj {
  const subject = (p.object ?? p.oldObject) as Obj
  const kind = String(subject.kind)
  const meta = subject.metadata as Obj
  const r = RESOURCES[kind] ?? { group: '', version: 'v1', resource: `${kind.toLowerCase()}s` }
  const gvk = { group: r.group, version: r.version, kind }
  const optionsKind = p.operation === 'CREATE' ? 'CreateOptions' : p.operation === 'UPDATE' ? 'UpdateOptions' : 'DeleteOptions'
  return {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: p.uid,
      kind: gvk,
      resource: r,
      requestKind: gvk,
      requestResource: r,
      name: meta.name,
      namespace: meta.namespace,
      operation: p.operation,
      userInfo: { username: p.username ?? 'admin', uid: 'admin-uid', groups: [...(p.groups ?? ['system:masters', 'system:authenticated'])] },
      object: p.object,
      oldObject: p.oldObject,
      dryRun: p.dryRun ?? false,
      options: { kind: optionsKind, apiVersion: 'meta.k8s.io/v1', ...(p.operation === 'DELETE' ? { propagationPolicy: 'Background' } : { fieldManager: p.fieldManager ?? 'kubectl-patch' }) },
    },
  }
}

/** One body the load generator sends, and what the engine is expected to answer. */
export interface BenchBody {
  readonly label: string
  readonly review: Obj
  /** The engine's expected answer (checked once before every load phase). */
  readonly expectAllowed: boolean
}

export interface ClusterTarget {
  readonly namespace: string
  readonly cluster: string
  /** Running KCP version (spec = status) and the worker pool to edit. */
  readonly kcpVersion: string
  readonly mdName: string
  readonly mdVersion: string
}

/** examples/state: bm-workload, KCP and both pools on v1.32.8. */
export const EXAMPLE_TARGET: ClusterTarget = { namespace: 'cpaas-system', cluster: 'bm-workload', kcpVersion: 'v1.32.8', mdName: 'bm-workload-workers', mdVersion: 'v1.32.8' }

/** The next catalog version one minor up (what an operator upgrades the control plane to). */
export function nextMinorKey(version: string): string | undefined {
  const [, minor] = version.replace(/^v/, '').split('.').map(Number)
  return CATALOG_KEYS.find((k) => Number(k.split('.')[1]) === (minor ?? 0) + 1)
}

/**
 * The three bodies the benchmark rotates through, for one cluster:
 * - KCP UPDATE: `kubectl patch` of spec.version one minor up with the matching component tags
 *   (allowed; every KCP rule runs: surge, catalog key, minor step, skew over the pools, registry, tags);
 * - MD UPDATE: a pool asking for the next minor before the control plane runs it (denied by
 *   workers-follow-control-plane: the denial path, message formatting included);
 * - catalog UPDATE: `kubectl patch` adding a key (allowed; catalog-shape and catalog-in-use run).
 */
export function benchBodies(t: ClusterTarget, uidBase = 0): BenchBody[] {
  const next = nextMinorKey(t.kcpVersion) ?? t.kcpVersion
  const kcpName = `${t.cluster}-control-plane`
  const kcpOld = kcpObject({ namespace: t.namespace, name: kcpName, cluster: t.cluster, version: t.kcpVersion, statusVersion: t.kcpVersion, generation: 3, resourceVersion: '239' })
  const kcpNew = kcpObject({ namespace: t.namespace, name: kcpName, cluster: t.cluster, version: next, statusVersion: t.kcpVersion, tagsFor: next, generation: 4, resourceVersion: '239', patched: ['spec', 'version'] })
  const mdNext = nextMinorKey(t.mdVersion) ?? t.mdVersion
  const mdOld = mdObject({ namespace: t.namespace, name: t.mdName, cluster: t.cluster, version: t.mdVersion, generation: 1 })
  const mdNew = mdObject({ namespace: t.namespace, name: t.mdName, cluster: t.cluster, version: mdNext, appliedVersion: t.mdVersion, generation: 2, patched: ['spec', 'template', 'spec', 'version'] })
  const added = 'v1.35.7'
  const catalogOld = catalogObject(CATALOG_KEYS)
  const catalogNew = catalogObject([...CATALOG_KEYS, added], { applied: CATALOG_KEYS, patched: [added] })
  return [
    { label: 'KCP UPDATE (minor upgrade)', expectAllowed: true, review: admissionReview({ uid: uidOf(uidBase + 1, 0x16), operation: 'UPDATE', object: kcpNew, oldObject: kcpOld }) },
    { label: 'MD UPDATE (ahead of control plane)', expectAllowed: false, review: admissionReview({ uid: uidOf(uidBase + 2, 0x38), operation: 'UPDATE', object: mdNew, oldObject: mdOld }) },
    { label: 'catalog UPDATE (add key)', expectAllowed: true, review: admissionReview({ uid: uidOf(uidBase + 3, 0x50), operation: 'UPDATE', object: catalogNew, oldObject: catalogOld }) },
  ]
}
