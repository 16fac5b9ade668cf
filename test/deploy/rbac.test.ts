/**
 * RBAC: the service account of the Deployment may do exactly what the state caches do
 * (INFORMER_RESOURCES in src/state/informer-view.ts): get/list/watch on exactly those
 * resources, and nothing else.
 */
import { describe, expect, it } from 'vitest'
import { all, BASE, catalogOfDefaultPolicy, one, rendered } from './deploy-helpers.js'
import type { Obj } from './kustomize.js'
import { INFORMER_RESOURCES, type InformerResource } from '../../src/state/informer-view.js'
import { LIFECYCLE_RESOURCES } from '../../src/state/lifecycle-caches.js'


const catalog = catalogOfDefaultPolicy()

/** The contract for the caches (issue 5): what they read, and how. */
const CONTRACT: readonly InformerResource[] = [
  { group: '', resource: 'configmaps', verbs: ['get', 'list', 'watch'], namespaced: true, namespace: catalog.namespace, resourceNames: [catalog.name] },
  { group: 'cluster.x-k8s.io', resource: 'clusters', verbs: ['get', 'list', 'watch'], namespaced: false },
  { group: 'cluster.x-k8s.io', resource: 'machinedeployments', verbs: ['get', 'list', 'watch'], namespaced: false },
  { group: 'controlplane.cluster.x-k8s.io', resource: 'kubeadmcontrolplanes', verbs: ['get', 'list', 'watch'], namespaced: false },
  // Lifecycle caches (issue 13): Machines, provider hosts/templates/pools, inventories, and the
  // policy's management Deployments, each by name in its namespace.
  { group: 'cluster.x-k8s.io', resource: 'machines', verbs: ['get', 'list', 'watch'], namespaced: false },
  { group: 'infrastructure.cluster.x-k8s.io', resource: 'baremetalmachines', verbs: ['get', 'list', 'watch'], namespaced: false },
  { group: 'infrastructure.cluster.x-k8s.io', resource: 'baremetalmachinetemplates', verbs: ['get', 'list', 'watch'], namespaced: false },
  { group: 'infrastructure.cluster.x-k8s.io', resource: 'machineinventorypools', verbs: ['get', 'list', 'watch'], namespaced: false },
  { group: 'elemental.cattle.io', resource: 'machineinventories', verbs: ['get', 'list', 'watch'], namespaced: false },
  { group: 'apps', resource: 'deployments', verbs: ['get', 'list', 'watch'], namespaced: true, namespace: 'capi-system', resourceNames: ['capi-controller-manager'] },
  { group: 'apps', resource: 'deployments', verbs: ['get', 'list', 'watch'], namespaced: true, namespace: 'capi-kubeadm-control-plane-system', resourceNames: ['capi-kubeadm-control-plane-controller-manager'] },
  { group: 'apps', resource: 'deployments', verbs: ['get', 'list', 'watch'], namespaced: true, namespace: 'capi-kubeadm-bootstrap-system', resourceNames: ['capi-kubeadm-bootstrap-controller-manager'] },
  { group: 'apps', resource: 'deployments', verbs: ['get', 'list', 'watch'], namespaced: true, namespace: 'cpaas-system', resourceNames: ['baremetal-provider-controller-manager'] },
]

const fromCode: readonly InformerResource[] = [...INFORMER_RESOURCES, ...LIFECYCLE_RESOURCES]

const objects = (): Obj[] => rendered(BASE).objects
const deployment = (): Obj => one(objects(), 'Deployment', 'upgrade-guard')

function isOurAccount(subject: Obj): boolean {
  const pod = deployment()
  return subject.kind === 'ServiceAccount' && subject.name === pod.spec.template.spec.serviceAccountName && subject.namespace === pod.metadata.namespace
}

interface Grant {
  readonly group: string
  readonly resource: string
  readonly verbs: string[]
  readonly namespaced: boolean
  readonly namespace?: string
  readonly resourceNames?: string[]
}

/** Every (group, resource) the Deployment's service account is granted, through any binding. */
function grants(): Grant[] {
  const out: Grant[] = []
  const rulesOf = (kind: string, name: string, namespace?: string): Obj[] => {
    const role = objects().find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace))
    if (role === undefined) throw new Error(`binding refers to missing ${kind} ${name}`)
    return (role.rules ?? []) as Obj[]
  }
  const add = (rules: Obj[], namespace: string | undefined): void => {
    for (const rule of rules) {
      if (rule.nonResourceURLs !== undefined) throw new Error(`nonResourceURLs granted: ${JSON.stringify(rule)}`)
      for (const group of rule.apiGroups as string[]) {
        for (const resource of rule.resources as string[]) {
          out.push({
            group,
            resource,
            verbs: [...(rule.verbs as string[])].sort(),
            namespaced: namespace !== undefined,
            ...(namespace === undefined ? {} : { namespace }),
            ...(rule.resourceNames === undefined ? {} : { resourceNames: [...(rule.resourceNames as string[])].sort() }),
          })
        }
      }
    }
  }
  for (const binding of all(objects(), 'ClusterRoleBinding')) {
    if ((binding.subjects as Obj[]).some(isOurAccount)) add(rulesOf('ClusterRole', binding.roleRef.name as string), undefined)
  }
  for (const binding of all(objects(), 'RoleBinding')) {
    if (!(binding.subjects as Obj[]).some(isOurAccount)) continue
    const ns = binding.metadata.namespace as string
    add(rulesOf(binding.roleRef.kind as string, binding.roleRef.name as string, binding.roleRef.kind === 'Role' ? ns : undefined), ns)
  }
  return out
}

/** Comparable form; namespace and resourceNames only where the expected list gives them. */
function normalize(list: readonly (InformerResource | Grant)[], keep: { namespace: boolean; names: boolean }): string[] {
  return list
    .map((r) =>
      JSON.stringify({
        group: r.group,
        resource: r.resource,
        verbs: [...r.verbs].sort(),
        namespaced: r.namespaced,
        namespace: keep.namespace && r.namespaced ? r.namespace : undefined,
        resourceNames: keep.names && r.resourceNames !== undefined ? [...r.resourceNames].sort() : undefined,
      }),
    )
    .sort()
}

describe('RBAC of the upgrade-guard service account', () => {
  it('only reads: every rule grants exactly get, list and watch, with no wildcard', () => {
    const roles = [...all(objects(), 'ClusterRole'), ...all(objects(), 'Role')]
    expect(roles.length).toBeGreaterThan(0)
    for (const role of roles) {
      for (const rule of role.rules as Obj[]) {
        expect([...(rule.verbs as string[])].sort(), `${String(role.kind)} ${String(role.metadata.name)}`).toEqual(['get', 'list', 'watch'])
        expect(JSON.stringify(rule)).not.toContain('*')
      }
    }
  })

  it('every Role and ClusterRole is bound, and only to the Deployment service account', () => {
    const bindings = [...all(objects(), 'ClusterRoleBinding'), ...all(objects(), 'RoleBinding')]
    for (const binding of bindings) expect((binding.subjects as Obj[]).every(isOurAccount), String(binding.metadata.name)).toBe(true)
    for (const role of [...all(objects(), 'ClusterRole'), ...all(objects(), 'Role')]) {
      const bound = bindings.some(
        (b) => b.roleRef.kind === role.kind && b.roleRef.name === role.metadata.name && (role.kind === 'ClusterRole' || b.metadata.namespace === role.metadata.namespace),
      )
      expect(bound, `${String(role.kind)} ${String(role.metadata.name)}`).toBe(true)
    }
  })

  it('grants exactly the contract: the catalog ConfigMap by name in its namespace, and the CAPI objects cluster-wide', () => {
    expect(normalize(grants(), { namespace: true, names: true })).toEqual(normalize(CONTRACT, { namespace: true, names: true }))
  })

  it('grants exactly INFORMER_RESOURCES (src/state/informer-view.ts)', () => {
    const expected = fromCode
    const keep = { namespace: expected.every((r) => !r.namespaced || r.namespace !== undefined), names: expected.some((r) => r.resourceNames !== undefined) }
    expect(normalize(grants(), keep)).toEqual(normalize(expected, keep))
  })

  it('the catalog Role follows the policy: namespace and name of catalog in policies/default.yaml', () => {
    const role = one(objects(), 'Role', 'upgrade-guard-catalog')
    expect(role.metadata.namespace).toBe(catalog.namespace)
    expect((role.rules as Obj[]).flatMap((r) => r.resourceNames as string[])).toEqual([catalog.name])
  })

  it('the comparison can fail: an extra verb is seen (control)', () => {
    const widened = grants().map((g) => (g.resource === 'clusters' ? { ...g, verbs: [...g.verbs, 'patch'] } : g))
    expect(normalize(widened, { namespace: true, names: true })).not.toEqual(normalize(CONTRACT, { namespace: true, names: true }))
  })
})
