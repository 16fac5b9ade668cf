/**
 * The preflight rules end to end: a real AdmissionReview over HTTPS to a server whose state is a
 * moment of examples/lifecycle. With one control-plane Machine NotReady (a moment where the
 * second node is being deleted), a KCP version change is denied naming it, and what kubectl
 * prints carries the rule id, the field and the fix; a metadata-only UPDATE of the same KCP is
 * allowed.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { deniedRules, parseAnswer, ROOT, startTestServer, warnedRules, type TestServer } from './helpers.js'

const MOMENT = join(ROOT, 'examples/lifecycle/02-mid-control-plane')
let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ statePath: MOMENT })
})
afterAll(async () => {
  await server?.close()
})

type Obj = Record<string, unknown>
const stored = (): Obj => (readFileSync(join(MOMENT, 'cluster.yaml'), 'utf8').split(/^---$/m).map((d) => parse(d) as Obj).find((o) => o.kind === 'KubeadmControlPlane') as Obj)

function review(oldObject: Obj, object: Obj): string {
  const gvk = { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', kind: 'KubeadmControlPlane' }
  const gvr = { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', resource: 'kubeadmcontrolplanes' }
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: '7c1e4c2a-13b3-4f1e-9d38-1f0c4b2a9e13', kind: gvk, resource: gvr, requestKind: gvk, requestResource: gvr, name: 'bm-lab-control-plane', namespace: 'cpaas-system', operation: 'UPDATE', userInfo: { username: 'admin', groups: ['system:authenticated'] }, object, oldObject, dryRun: false },
  })
}

describe('preflight over HTTPS (examples/lifecycle/02-mid-control-plane)', () => {
  it('a second control-plane version change while a control-plane Machine is being deleted: denied, naming it', async () => {
    const old = stored()
    const next = structuredClone(old)
    ;(next.spec as Obj).version = 'v1.33.7-3'
    const answer = parseAnswer(await server.post('/validate', review(old, next)))
    expect(answer.response.allowed).toBe(false)
    // The pool has one host preparing: available + allocated = 2 < 3 replicas, so pool-capacity objects too.
    expect(deniedRules(answer)).toEqual(['control-plane-healthy', 'pool-capacity'])
    expect(answer.response.status?.message).toContain('[control-plane-healthy] spec.version: Forbidden: 1 of 3 control-plane Machines of cpaas-system/bm-lab are not healthy: bm-lab-control-plane-b (being deleted)')
    expect(warnedRules(answer)).toEqual([])
  })

  it('a metadata-only UPDATE of the same KCP is allowed without a word', async () => {
    const old = stored()
    const next = structuredClone(old)
    ;(next.metadata as Obj).finalizers = ['kubeadm.controlplane.cluster.x-k8s.io']
    const answer = parseAnswer(await server.post('/validate', review(old, next)))
    expect(answer.response.allowed).toBe(true)
    expect(answer.response.warnings ?? []).toEqual([])
  })
})
