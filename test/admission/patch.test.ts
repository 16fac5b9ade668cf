import { describe, expect, it } from 'vitest'
import { applyPatch, mutate } from '../../src/admission/patch.js'
import { DEFAULT_POLICY, policyFromDocument } from '../../src/policy/load.js'

const infra = { kind: 'BaremetalMachineTemplate', name: 't' }
const kcp1 = (spec: Record<string, unknown>) => ({
  apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1', kind: 'KubeadmControlPlane', metadata: { name: 'cp', namespace: 'ns' },
  spec: { replicas: 3, version: 'v1.33.7-2', machineTemplate: { infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1', ...infra } }, kubeadmConfigSpec: {}, ...spec },
})
const kcp2 = (spec: Record<string, unknown>) => ({
  apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2', kind: 'KubeadmControlPlane', metadata: { name: 'cp', namespace: 'ns' },
  spec: { replicas: 3, version: 'v1.33.7-2', machineTemplate: { spec: { infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', ...infra } } }, ...spec },
})
const md = (level: 'v1beta1' | 'v1beta2', spec: Record<string, unknown>, version: unknown = 'v1.33.7-2') => ({
  apiVersion: `cluster.x-k8s.io/${level}`, kind: 'MachineDeployment', metadata: { name: 'w', namespace: 'ns' },
  spec: { clusterName: 'c', replicas: 3, template: { spec: { clusterName: 'c', version, infrastructureRef: infra } }, ...spec },
})

describe('mutate', () => {
  it.each([
    { name: 'v1beta1 KCP without rolloutStrategy', op: 'CREATE', obj: kcp1({}), patch: [{ op: 'add', path: '/spec/rolloutStrategy', value: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0 } } }] },
    { name: 'v1beta1 KCP strategy type only', op: 'UPDATE', obj: kcp1({ rolloutStrategy: { type: 'RollingUpdate' } }), patch: [{ op: 'add', path: '/spec/rolloutStrategy/rollingUpdate', value: { maxSurge: 0 } }] },
    { name: 'v1beta1 KCP empty rollingUpdate', op: 'UPDATE', obj: kcp1({ rolloutStrategy: { type: 'RollingUpdate', rollingUpdate: {} } }), patch: [{ op: 'add', path: '/spec/rolloutStrategy/rollingUpdate/maxSurge', value: 0 }] },
    { name: 'v1beta1 KCP CRD default on CREATE is rewritten', op: 'CREATE', obj: kcp1({ rolloutStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } }), patch: [{ op: 'replace', path: '/spec/rolloutStrategy/rollingUpdate/maxSurge', value: 0 }] },
    { name: 'v1beta1 KCP explicit 1 on UPDATE is left for validation', op: 'UPDATE', obj: kcp1({ rolloutStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } }), patch: [] },
    { name: 'v1beta2 KCP without rollout', op: 'CREATE', obj: kcp2({}), patch: [{ op: 'add', path: '/spec/rollout', value: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0 } } } }] },
    { name: 'v1beta2 KCP rollout with only "after"', op: 'UPDATE', obj: kcp2({ rollout: { after: '2026-01-01T00:00:00Z' } }), patch: [{ op: 'add', path: '/spec/rollout/strategy', value: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0 } } }] },
    { name: 'v1beta2 KCP maxSurge 1 on CREATE stays (no CRD default there)', op: 'CREATE', obj: kcp2({ rollout: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } }), patch: [] },
    { name: 'v1beta1 MD without strategy', op: 'CREATE', obj: md('v1beta1', {}), patch: [{ op: 'add', path: '/spec/strategy', value: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } }] },
    { name: 'v1beta2 MD without rollout', op: 'CREATE', obj: md('v1beta2', {}), patch: [{ op: 'add', path: '/spec/rollout', value: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } } }] },
    { name: 'MD maxSurge 0, maxUnavailable unset', op: 'UPDATE', obj: md('v1beta1', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0 } } }), patch: [{ op: 'add', path: '/spec/strategy/rollingUpdate/maxUnavailable', value: 1 }] },
    { name: 'MD maxUnavailable set, maxSurge unset', op: 'UPDATE', obj: md('v1beta1', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } } }), patch: [{ op: 'add', path: '/spec/strategy/rollingUpdate/maxSurge', value: 0 }] },
    { name: 'MD explicit "25%" surge is not rewritten', op: 'UPDATE', obj: md('v1beta1', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%' } } }), patch: [] },
    { name: 'MD OnDelete is left alone', op: 'UPDATE', obj: md('v1beta1', { strategy: { type: 'OnDelete' } }), patch: [] },
    { name: 'version without v gets one', op: 'UPDATE', obj: md('v1beta1', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } }, '1.34.5-3'), patch: [{ op: 'replace', path: '/spec/template/spec/version', value: 'v1.34.5-3' }] },
    { name: 'garbage version is left for validation', op: 'UPDATE', obj: md('v1beta1', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } }, 'latest'), patch: [] },
  ] as const)('$name', ({ op, obj, patch }) => {
    const m = mutate({ operation: op, object: obj }, DEFAULT_POLICY)
    expect(m.patch).toEqual(patch)
    if (patch.length > 0) expect(() => applyPatch(obj, m.patch)).not.toThrow()
  })

  it('never leaves an empty object behind', () => {
    const out = applyPatch(kcp2({}), mutate({ operation: 'CREATE', object: kcp2({}) }, DEFAULT_POLICY).patch)
    expect(out.spec).toMatchObject({ rollout: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0 } } } })
  })

  it('warns when it rewrites the CRD default', () => {
    const m = mutate({ operation: 'CREATE', object: kcp1({ rolloutStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } }) }, DEFAULT_POLICY)
    expect(m.warnings).toHaveLength(1)
    expect(m.warnings[0]).toMatch(/^\[max-surge-zero\] .*CRD default/)
  })

  it.each([
    { name: 'not bare metal', obj: { ...kcp1({}), spec: { ...kcp1({}).spec, machineTemplate: { infrastructureRef: { kind: 'AWSMachineTemplate' } } } }, policy: DEFAULT_POLICY },
    { name: 'mutation disabled', obj: kcp1({}), policy: policyFromDocument({ apiVersion: 'upgrade-guard.io/v1alpha1', kind: 'Policy', mutation: { enabled: false } }) },
    { name: 'exempt namespace', obj: kcp1({}), policy: policyFromDocument({ apiVersion: 'upgrade-guard.io/v1alpha1', kind: 'Policy', scope: { exemptNamespaces: ['ns'] } }) },
    { name: 'a ConfigMap', obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, policy: DEFAULT_POLICY },
  ])('touches nothing when $name', ({ obj, policy }) => {
    expect(mutate({ operation: 'CREATE', object: obj }, policy).patch).toEqual([])
  })

  it('rewrite of the CRD default can be turned off', () => {
    const policy = policyFromDocument({ apiVersion: 'upgrade-guard.io/v1alpha1', kind: 'Policy', mutation: { rewriteDefaultedKcpSurge: false } })
    expect(mutate({ operation: 'CREATE', object: kcp1({ rolloutStrategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } }) }, policy).patch).toEqual([])
  })

  it('subresources and DELETE are never patched', () => {
    expect(mutate({ operation: 'UPDATE', subResource: 'scale', object: kcp1({}) }, DEFAULT_POLICY).patch).toEqual([])
    expect(mutate({ operation: 'DELETE', object: null }, DEFAULT_POLICY).patch).toEqual([])
  })
})
