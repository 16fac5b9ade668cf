/**
 * docs/install.md says true things: the paths and names it uses exist, and the denial it shows
 * is the message the webhook really sends for that `kubectl patch` (computed here with the
 * webhook's own review code against examples/state).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { reviewText } from '../../src/admission/review.js'
import { loadPolicy } from '../../src/policy/load.js'
import { RULE_IDS } from '../../src/rules/ids.js'
import { loadFileView } from '../../src/state/file-view.js'
import { BASE, one, readText, rendered, ROOT, webhooksCalled } from './deploy-helpers.js'
import type { Obj } from './kustomize.js'

const doc = readText('docs/install.md')

/** RFC 7386 JSON merge patch, as `kubectl patch --type=merge` sends it. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch
  const out: Obj = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Obj) } : {}
  for (const [key, value] of Object.entries(patch as Obj)) {
    if (value === null) delete out[key]
    else out[key] = mergePatch(out[key], value)
  }
  return out
}

describe('docs/install.md', () => {
  it('every manifests/ path it names exists', () => {
    const paths = [...doc.matchAll(/\bmanifests\/[\w./-]+/g)].map((m) => m[0].replace(/[.]+$/, ''))
    expect(paths.length).toBeGreaterThan(3)
    for (const path of paths) expect(existsSync(join(ROOT, path)), path).toBe(true)
  })

  it('every webhook name it mentions is registered', () => {
    const registered = rendered(BASE)
      .objects.filter((o) => /WebhookConfiguration$/.test(String(o.kind)))
      .flatMap((o) => (o.webhooks as Obj[]).map((w) => String(w.name)))
    const mentioned = new Set([...doc.matchAll(/\b[a-z]+\.(?:validate|mutate)\.upgrade-guard\.io\b/g)].map((m) => m[0]))
    expect(mentioned.size).toBeGreaterThan(0)
    for (const name of mentioned) expect(registered).toContain(name)
    for (const name of registered) expect(mentioned.has(name), `${name} is documented`).toBe(true)
  })

  it('shows the denial the webhook really sends for the documented kubectl patch', () => {
    const example = /kubectl -n (\S+) patch kubeadmcontrolplane (\S+) --type=merge \\\n\s*-p '([^']+)'\nError from server \(Forbidden\): admission webhook "([^"]+)" denied the request: (.+)\n/.exec(doc)
    expect(example, 'a kubectl patch of a KubeadmControlPlane followed by its denial').not.toBeNull()
    const [, namespace, name, patchText, webhook, message] = example as unknown as string[]

    const policy = loadPolicy(join(ROOT, 'policies', 'default.yaml'))
    const { view } = loadFileView([join(ROOT, 'examples', 'state')], policy.catalog)
    const old = parse(readFileSync(join(ROOT, 'examples', 'state', 'control-plane.yaml'), 'utf8')) as Obj
    expect(old.metadata).toMatchObject({ namespace, name })
    const object = mergePatch(old, JSON.parse(patchText as string)) as Obj
    const [group, version] = String(old.apiVersion).split('/') as [string, string]

    // The webhook the documentation names is the validating webhook that receives this request.
    const called = webhooksCalled(rendered(BASE).objects, { group, version, resource: 'kubeadmcontrolplanes', operation: 'UPDATE', namespace: namespace as string, name: name as string, object, oldObject: old })
    expect(called).toContain(webhook)
    expect(webhook).toMatch(/\.validate\./)

    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: '2b7f3a52-8f0e-4a59-9a0c-0c5c8d0a1e11',
        kind: { group, version, kind: 'KubeadmControlPlane' },
        resource: { group, version, resource: 'kubeadmcontrolplanes' },
        requestKind: { group, version, kind: 'KubeadmControlPlane' },
        requestResource: { group, version, resource: 'kubeadmcontrolplanes' },
        name,
        namespace,
        operation: 'UPDATE',
        userInfo: { username: 'admin', groups: ['system:masters', 'system:authenticated'] },
        object,
        oldObject: old,
        dryRun: false,
        options: { kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-patch' },
      },
    }
    const outcome = reviewText(JSON.stringify(review), 'validate', { policy, view })
    expect(outcome.kind).toBe('response')
    const response = (outcome as { body: { response: { allowed: boolean; status?: { message?: string; code?: number } } } }).body.response
    expect(response.allowed).toBe(false)
    expect(response.status?.code).toBe(403) // kubectl prints "(Forbidden)" and the whole message
    expect(response.status?.message).toBe(message)
    expect(RULE_IDS as readonly string[]).toContain(/^\[([a-z-]+)\]/.exec(message as string)?.[1])
  })
})
