import { describe, expect, it } from 'vitest'
import { UpgradeGuardError } from '../../src/errors.js'
import { parseManifests, parseStateObjects, readManifests, readStateObjects } from '../../src/state/manifests.js'

const KCP = `apiVersion: controlplane.cluster.x-k8s.io/v1beta1
kind: KubeadmControlPlane
metadata:
  name: cp
  namespace: ns
  creationTimestamp: 2026-11-22T20:46:47Z
spec:
  version: v1.33.7-2
  rolloutStrategy:
    rollingUpdate:
      maxSurge: 0
`

describe('manifests', () => {
  it('the fast state path and the line-keeping path read the same objects', () => {
    const fast = readStateObjects(['examples/state']).map((o) => o.object)
    const slow = readManifests(['examples/state']).map((e) => e.object)
    expect(fast).toEqual(slow)
    expect(fast.length).toBe(5)
  })

  it('keeps timestamps and versions as strings (YAML 1.2 core schema)', () => {
    const [o] = parseStateObjects(KCP, 'a.yaml')
    expect((o?.object.metadata as Record<string, unknown>).creationTimestamp).toBe('2026-11-22T20:46:47Z')
    const [e] = parseManifests(KCP, 'a.yaml')
    expect((e?.object.metadata as Record<string, unknown>).creationTimestamp).toBe('2026-11-22T20:46:47Z')
  })

  it('multi-document streams, empty documents and kind: List', () => {
    const text = `---\n${KCP}---\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n`
    expect(parseStateObjects(text, 's.yaml').map((o) => o.object.kind)).toEqual(['KubeadmControlPlane', 'ConfigMap', 'ConfigMap'])
    expect(parseManifests(text, 's.yaml').map((o) => o.object.kind)).toEqual(['KubeadmControlPlane', 'ConfigMap', 'ConfigMap'])
  })

  it('JSON files (kubectl get -o json)', () => {
    const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }] })
    expect(parseStateObjects(list, 's.json').map((o) => o.object.metadata)).toEqual([{ name: 'x' }])
  })

  it('points at the line of a field, or of its nearest parent', () => {
    const [e] = parseManifests(KCP, 'a.yaml')
    expect(e?.lineOf(['spec', 'version'])).toBe(8)
    expect(e?.lineOf(['spec', 'rolloutStrategy', 'rollingUpdate', 'maxSurge'])).toBe(11)
    expect(e?.lineOf(['spec', 'replicas'])).toBe(8) // missing: its parent spec's first line
  })

  it.each([
    { name: 'invalid YAML', text: 'a: [', file: 's.yaml', message: /^s\.yaml: not valid YAML/ },
    { name: 'invalid JSON', text: '{', file: 's.json', message: /^s\.json: not valid JSON/ },
    { name: 'a scalar document', text: 'hello', file: 's.yaml', message: /document 1: expected a Kubernetes object, got string/ },
    { name: 'no kind', text: 'apiVersion: v1\nmetadata: {name: x}\n', file: 's.yaml', message: /document 1: kind: is required/ },
    { name: 'no name', text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n', file: 's.yaml', message: /document 1: metadata.name: is required/ },
    { name: 'List items not a list', text: 'apiVersion: v1\nkind: List\nitems: 3\n', file: 's.yaml', message: /document 1: items: expected a list/ },
    { name: 'bad List item', text: 'apiVersion: v1\nkind: List\nitems:\n- 3\n', file: 's.yaml', message: /document 1 items\[0\]: expected a Kubernetes object/ },
  ])('$name: an error naming file and document', ({ text, file, message }) => {
    let error: unknown
    try {
      parseStateObjects(text, file)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(UpgradeGuardError)
    expect((error as UpgradeGuardError).toLine()).toMatch(message)
  })
})

describe('memory view', () => {
  it('keeps neither managedFields nor the last-applied copy of a stored object', async () => {
    const { MemoryView } = await import('../../src/state/memory-view.js')
    const view = new MemoryView({ namespace: 'cpaas-system', name: 'elemental-image-catalog' })
    const [e] = parseManifests(KCP, 'a.yaml')
    const obj = { ...e!.object, metadata: { ...(e!.object.metadata as object), managedFields: [{ manager: 'kubectl' }], annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{…}', keep: 'me' } } }
    view.upsert(obj)
    const stored = view.controlPlane('ns', 'cp')?.raw.metadata as Record<string, unknown>
    expect(stored.managedFields).toBeUndefined()
    expect(stored.annotations).toEqual({ keep: 'me' })
    expect(view.controlPlane('ns', 'cp')?.version).toBe('v1.33.7-2')
  })

  it("answers a Cluster's MachineDeployments sorted, and again after each upsert, replace, remove and clear (the sorted list is kept between changes)", async () => {
    const { MemoryView } = await import('../../src/state/memory-view.js')
    const { md } = await import('../helpers/objects.js')
    const view = new MemoryView({ namespace: 'cpaas-system', name: 'elemental-image-catalog' })
    const names = (): string[] => view.machineDeploymentsOfCluster('cpaas-system', 'bm-a').map((m) => `${m.name}@${String(m.version)}`)
    view.upsert(md({ name: 'w-b', namespace: 'cpaas-system', cluster: 'bm-a', version: 'v1.32.8' }))
    expect(names()).toEqual(['w-b@v1.32.8'])
    expect(view.machineDeploymentsOfCluster('cpaas-system', 'bm-a')).toBe(view.machineDeploymentsOfCluster('cpaas-system', 'bm-a'))
    view.upsert(md({ name: 'w-a', namespace: 'cpaas-system', cluster: 'bm-a', version: 'v1.32.8' }))
    view.upsert(md({ name: 'w-c', namespace: 'cpaas-system', cluster: 'bm-other', version: 'v1.32.8' }))
    expect(names()).toEqual(['w-a@v1.32.8', 'w-b@v1.32.8'])
    view.upsert(md({ name: 'w-b', namespace: 'cpaas-system', cluster: 'bm-a', version: 'v1.33.7-2' }))
    expect(names()).toEqual(['w-a@v1.32.8', 'w-b@v1.33.7-2'])
    view.upsert(md({ name: 'w-a', namespace: 'cpaas-system', cluster: 'bm-other', version: 'v1.32.8' }))
    expect(names()).toEqual(['w-b@v1.33.7-2'])
    view.remove(md({ name: 'w-b', namespace: 'cpaas-system', cluster: 'bm-a' }))
    expect(names()).toEqual([])
    view.upsert(md({ name: 'w-d', namespace: 'cpaas-system', cluster: 'bm-a', version: 'v1.32.8' }))
    expect(names()).toEqual(['w-d@v1.32.8'])
    view.clear('MachineDeployment')
    expect(names()).toEqual([])
  })
})
