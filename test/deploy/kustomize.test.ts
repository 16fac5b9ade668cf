/**
 * The built-in renderer (used where kubectl is missing) renders exactly what
 * `kubectl kustomize` renders, and refuses what it does not implement.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BASE, CERT_MANAGER, opensslAvailable, renderSelfSignedCopy, tempDir } from './deploy-helpers.js'
import { kubectlWithKustomize, kustomizeBase64, objectId, renderBuiltin, renderWithKubectl, splitFieldPath, type Obj } from './kustomize.js'

const byId = (objects: Obj[]): Record<string, Obj> => Object.fromEntries(objects.map((o) => [objectId(o), o]))

describe.skipIf(kubectlWithKustomize() === undefined)('built-in renderer = kubectl kustomize', () => {
  const dirs = [
    { name: 'base', dir: BASE },
    { name: 'overlays/cert-manager', dir: CERT_MANAGER },
    ...(opensslAvailable() ? [{ name: 'overlays/self-signed', dir: renderSelfSignedCopy().dir }] : []),
  ]
  it.each(dirs)('$name', ({ dir }) => {
    expect(byId(renderBuiltin(dir))).toEqual(byId(renderWithKubectl(dir)))
  })
})

describe('built-in renderer', () => {
  it('splits field paths like kustomize', () => {
    expect(splitFieldPath('data.ca\\.crt')).toEqual(['data', 'ca.crt'])
    expect(splitFieldPath('webhooks.[name=capi.validate.upgrade-guard.io].clientConfig.caBundle')).toEqual([
      'webhooks',
      '[name=capi.validate.upgrade-guard.io]',
      'clientConfig',
      'caBundle',
    ])
    expect(splitFieldPath('metadata.annotations.[a.b/c]')).toEqual(['metadata', 'annotations', 'a.b/c'])
    expect(splitFieldPath('webhooks.*.clientConfig')).toEqual(['webhooks', '*', 'clientConfig'])
  })

  it('wraps generated base64 at 70 characters, as kustomize does', () => {
    expect(kustomizeBase64(Buffer.from('short'))).toBe('c2hvcnQ=')
    const long = kustomizeBase64(Buffer.alloc(100, 1))
    expect(long.split('\n').map((l) => l.length)).toEqual([70, 66, 0])
  })

  it.each([
    ['namespace: other\n', /does not support "namespace"/],
    ['commonLabels: {a: b}\n', /does not support "commonLabels"/],
    ['configMapGenerator:\n  - name: x\n    literals: [a=b]\n', /not supported/],
    ['configMapGenerator:\n  - name: x\n    files: []\n', /name hashes are not supported/],
  ])('refuses what it does not implement: %s', (extra, error) => {
    const dir = tempDir('ug-kust-')
    writeFileSync(join(dir, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n${extra}`)
    expect(() => renderBuiltin(dir)).toThrow(error)
  })
})
