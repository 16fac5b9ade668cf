/**
 * The webhook configurations, judged the way the API server uses them: which requests reach
 * upgrade-guard (rules, namespaceSelector, matchConditions evaluated in CEL), where they go
 * (Service, port, path) and what happens when the webhook cannot answer.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import {
  all,
  BASE,
  catalogOfDefaultPolicy,
  containerPort,
  one,
  referenceDir,
  rendered,
  webhookDecision,
  webhooksCalled,
  type AdmissionCall,
} from './deploy-helpers.js'
import type { Obj } from './kustomize.js'

const objects = (): Obj[] => rendered(BASE).objects
const validating = (): Obj => one(objects(), 'ValidatingWebhookConfiguration')
const mutating = (): Obj => one(objects(), 'MutatingWebhookConfiguration')
const webhooks = (): { kind: string; webhook: Obj }[] => [
  ...(validating().webhooks as Obj[]).map((webhook) => ({ kind: 'validating', webhook })),
  ...(mutating().webhooks as Obj[]).map((webhook) => ({ kind: 'mutating', webhook })),
]
const catalog = catalogOfDefaultPolicy()
const catalogWebhook = (): Obj => (validating().webhooks as Obj[]).find((w) => w.name === 'catalog.validate.upgrade-guard.io') as Obj

const KCP = { group: 'controlplane.cluster.x-k8s.io', resource: 'kubeadmcontrolplanes' }
const MD = { group: 'cluster.x-k8s.io', resource: 'machinedeployments' }
const VALIDATE = 'capi.validate.upgrade-guard.io'
const MUTATE = 'capi.mutate.upgrade-guard.io'
const CATALOG = 'catalog.validate.upgrade-guard.io'

const cm = (namespace: string, name: string): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name }, data: {} })

function call(over: Partial<AdmissionCall> & Pick<AdmissionCall, 'group' | 'resource' | 'operation'>): AdmissionCall {
  const namespace = over.namespace ?? 'cpaas-system'
  const name = over.name ?? 'obj'
  const obj = { metadata: { namespace, name } }
  return {
    version: 'v1beta1',
    namespace,
    name,
    object: over.operation === 'DELETE' ? null : obj,
    oldObject: over.operation === 'CREATE' ? null : obj,
    ...over,
  }
}

function configMapCall(operation: AdmissionCall['operation'], namespace: string, name: string): AdmissionCall {
  return {
    group: '',
    version: 'v1',
    resource: 'configmaps',
    operation,
    namespace,
    name,
    object: operation === 'DELETE' ? null : cm(namespace, name),
    oldObject: operation === 'CREATE' ? null : cm(namespace, name),
  }
}

describe('common webhook settings', () => {
  it('names are unique and fully qualified', () => {
    const names = webhooks().map(({ webhook }) => String(webhook.name))
    expect(new Set(names).size).toBe(names.length)
    for (const name of names) expect(name.split('.').length).toBeGreaterThanOrEqual(3)
  })

  it.each(['sideEffects', 'admissionReviewVersions', 'failurePolicy', 'matchPolicy', 'timeoutSeconds'])('%s is set as required on every webhook', (field) => {
    for (const { webhook } of webhooks()) {
      const value = webhook[field]
      if (field === 'sideEffects') expect(value, String(webhook.name)).toBe('None') // dry runs call it
      if (field === 'admissionReviewVersions') expect(value, String(webhook.name)).toEqual(['v1'])
      if (field === 'failurePolicy') expect(value, String(webhook.name)).toBe('Fail') // never a silent allow
      if (field === 'matchPolicy') expect(value, String(webhook.name)).toBe('Equivalent')
      if (field === 'timeoutSeconds') {
        expect(value, String(webhook.name)).toBeGreaterThanOrEqual(1)
        expect(value, String(webhook.name)).toBeLessThanOrEqual(10)
      }
    }
  })

  it('the mutating configuration sorts before CAPI\'s, so it defaults maxSurge before CAPI fills in 1', () => {
    // The API server calls mutating webhook configurations in name order.
    const name = (mutating().metadata as Obj).name as string
    for (const capi of ['capi-mutating-webhook-configuration', 'capi-kubeadm-control-plane-mutating-webhook-configuration']) expect(name < capi).toBe(true)
  })

  it('the mutating webhook is never reinvoked', () => {
    for (const webhook of mutating().webhooks as Obj[]) expect(webhook.reinvocationPolicy).toBe('Never')
  })

  it('calls the Service on its https port: /validate for validating, /mutate for mutating', () => {
    const service = one(objects(), 'Service', 'upgrade-guard')
    const deployment = one(objects(), 'Deployment', 'upgrade-guard')
    for (const { kind, webhook } of webhooks()) {
      const target = webhook.clientConfig.service as Obj
      expect(webhook.clientConfig.url).toBeUndefined()
      expect(target).toMatchObject({ name: service.metadata.name, namespace: service.metadata.namespace })
      expect(target.path).toBe(kind === 'validating' ? '/validate' : '/mutate')
      const port = (service.spec.ports as Obj[]).find((p) => p.port === (target.port ?? 443))
      expect(port?.name).toBe('https')
      expect(containerPort(deployment, port?.targetPort as string | number)?.containerPort).toBe(8443)
    }
  })

  it("excludes upgrade-guard's own namespace from every webhook", () => {
    for (const { webhook } of webhooks()) {
      for (const operation of ['CREATE', 'UPDATE'] as const) {
        expect(webhookDecision(webhook, call({ ...KCP, operation, namespace: 'upgrade-guard' }))).toBe('skipped')
        expect(webhookDecision(webhook, configMapCall(operation, 'upgrade-guard', catalog.name))).toBe('skipped')
      }
    }
  })
})

describe('which requests reach upgrade-guard', () => {
  const versions = ['v1beta1', 'v1beta2'] as const
  const table: { name: string; call: AdmissionCall; expected: string[] }[] = [
    ...versions.flatMap((version) =>
      (['CREATE', 'UPDATE'] as const).flatMap((operation) => [
        { name: `KCP ${version} ${operation}`, call: call({ ...KCP, version, operation }), expected: [MUTATE, VALIDATE] },
        { name: `MD ${version} ${operation}`, call: call({ ...MD, version, operation }), expected: [MUTATE, VALIDATE] },
      ]),
    ),
    ...versions.flatMap((version) => [
      { name: `KCP ${version} DELETE (never denied)`, call: call({ ...KCP, version, operation: 'DELETE' }), expected: [] },
      { name: `MD ${version} DELETE (never denied)`, call: call({ ...MD, version, operation: 'DELETE' }), expected: [] },
      { name: `kubectl scale KCP ${version}`, call: call({ ...KCP, version, operation: 'UPDATE', subResource: 'scale' }), expected: [VALIDATE] },
      { name: `KCP ${version} status`, call: call({ ...KCP, version, operation: 'UPDATE', subResource: 'status' }), expected: [] },
      { name: `kubectl scale MD ${version}`, call: call({ ...MD, version, operation: 'UPDATE', subResource: 'scale' }), expected: [] },
    ]),
    { name: 'KCP v1alpha4 (not served by CAPI)', call: call({ ...KCP, version: 'v1alpha4', operation: 'UPDATE' }), expected: [] },
    { name: 'Cluster UPDATE', call: call({ group: 'cluster.x-k8s.io', resource: 'clusters', operation: 'UPDATE' }), expected: [] },
    { name: 'MachineSet UPDATE', call: call({ group: 'cluster.x-k8s.io', resource: 'machinesets', operation: 'UPDATE' }), expected: [] },
    { name: 'Pod CREATE', call: call({ group: '', version: 'v1', resource: 'pods', operation: 'CREATE' }), expected: [] },
    { name: 'KCP in the default namespace', call: call({ ...KCP, operation: 'UPDATE', namespace: 'default' }), expected: [MUTATE, VALIDATE] },
    { name: 'KCP in upgrade-guard', call: call({ ...KCP, operation: 'UPDATE', namespace: 'upgrade-guard' }), expected: [] },
    ...(['CREATE', 'UPDATE', 'DELETE'] as const).flatMap((operation) => [
      { name: `the catalog, ${operation}`, call: configMapCall(operation, catalog.namespace, catalog.name), expected: [CATALOG] },
      { name: `another ConfigMap in ${catalog.namespace}, ${operation}`, call: configMapCall(operation, catalog.namespace, 'unrelated-config'), expected: [] },
      { name: `a ConfigMap named like the catalog in default, ${operation}`, call: configMapCall(operation, 'default', catalog.name), expected: [] },
      { name: `a ConfigMap in kube-system, ${operation}`, call: configMapCall(operation, 'kube-system', 'kube-proxy'), expected: [] },
    ]),
  ]

  it.each(table)('$name', ({ call: c, expected }) => {
    expect(webhooksCalled(objects(), c)).toEqual(expected)
  })
})

describe('the catalog matchCondition', () => {
  it('names the catalog of the default policy, by name and namespace, for object and oldObject', () => {
    const expression = String((catalogWebhook().matchConditions as Obj[])[0]?.expression)
    expect(expression).toContain(`'${catalog.name}'`)
    expect(expression).toContain(`'${catalog.namespace}'`)
    expect(expression).toContain('object != null')
    expect(expression).toContain('oldObject != null')
  })

  it('the namespaceSelector lets the catalog namespace through', () => {
    expect(webhookDecision(catalogWebhook(), configMapCall('UPDATE', catalog.namespace, catalog.name))).toBe('called')
  })

  it('never errors: CREATE (oldObject null) and DELETE (object null) of any ConfigMap evaluate cleanly', () => {
    for (const operation of ['CREATE', 'UPDATE', 'DELETE'] as const) {
      for (const name of [catalog.name, 'unrelated-config']) {
        expect(typeof webhookDecision(catalogWebhook(), configMapCall(operation, catalog.namespace, name))).toBe('string')
      }
    }
  })

  it('the evaluator catches a naive expression (control: the check above can fail)', () => {
    const naive = {
      ...catalogWebhook(),
      matchConditions: [{ name: 'naive', expression: `object.metadata.name == '${catalog.name}' || oldObject.metadata.name == '${catalog.name}'` }],
    }
    // As observed on a real API server: CREATE and DELETE of an unrelated ConfigMap fail.
    expect(webhookDecision(naive, configMapCall('CREATE', catalog.namespace, 'unrelated-config'))).toMatchObject({ error: expect.stringMatching(/metadata/) })
    expect(webhookDecision(naive, configMapCall('DELETE', catalog.namespace, 'unrelated-config'))).toMatchObject({ error: expect.any(String) })
    expect(webhookDecision(naive, configMapCall('UPDATE', catalog.namespace, 'unrelated-config'))).toBe('skipped')
  })
})

const reference = referenceDir()

describe.skipIf(reference === undefined)('against the recorded API server requests (reference/admission-reviews)', () => {
  const dir = join(reference ?? '', 'admission-reviews')
  const files = ['v1beta1', 'v1beta2'].flatMap((sub) =>
    readdirSync(join(dir, sub))
      .filter((f) => f.endsWith('.json'))
      .map((f) => join(sub, f)),
  )

  /** What upgrade-guard must receive, from the facts about each request. */
  function expected(request: Obj): string[] {
    const { group, resource } = request.resource as Obj
    const sub = request.subResource as string | undefined
    const op = request.operation as string
    if (resource === 'configmaps') return request.namespace === catalog.namespace && request.name === catalog.name ? [CATALOG] : []
    if (op === 'DELETE') return []
    if (group === KCP.group && resource === KCP.resource) return sub === undefined ? [MUTATE, VALIDATE] : sub === 'scale' ? [VALIDATE] : []
    if (group === MD.group && resource === MD.resource) return sub === undefined ? [MUTATE, VALIDATE] : []
    return []
  }

  it('has requests to check', () => {
    expect(files.length).toBeGreaterThan(100)
  })

  it.each(files)('%s', (file) => {
    const { request } = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { request: Obj }
    const res = request.resource as Obj
    const c: AdmissionCall = {
      group: String(res.group),
      version: String(res.version),
      resource: String(res.resource),
      subResource: request.subResource as string | undefined,
      operation: request.operation as AdmissionCall['operation'],
      namespace: String(request.namespace),
      name: String(request.name),
      object: request.object as Obj | null,
      oldObject: request.oldObject as Obj | null,
    }
    expect(webhooksCalled(objects(), c)).toEqual(expected(request))
  })
})

describe.skipIf(reference === undefined)('against the CAPI CRDs (reference/crds)', () => {
  const crds = (): Obj[] =>
    readdirSync(join(reference ?? '', 'crds'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => parse(readFileSync(join(reference ?? '', 'crds', f), 'utf8')) as Obj)

  const rules = (): Obj[] => webhooks().flatMap(({ webhook }) => (webhook.rules ?? []) as Obj[])

  it('every CAPI resource in the rules exists, with every version the CRD serves and only those', () => {
    const capiRules = rules().filter((r) => (r.apiGroups as string[]).some((g) => g.includes('cluster.x-k8s.io')))
    expect(capiRules.length).toBeGreaterThan(0)
    for (const rule of capiRules) {
      for (const group of rule.apiGroups as string[]) {
        for (const resource of rule.resources as string[]) {
          const [plural, sub] = resource.split('/')
          const crd = crds().find((c) => c.spec.group === group && c.spec.names.plural === plural)
          expect(crd, `${group}/${resource}`).toBeDefined()
          const served = (crd?.spec.versions as Obj[]).filter((v) => v.served === true)
          expect([...(rule.apiVersions as string[])].sort(), `${group}/${resource}`).toEqual(served.map((v) => String(v.name)).sort())
          if (sub !== undefined) for (const v of served) expect(v.subresources?.[sub], `${group}/${resource} ${String(v.name)}`).toBeDefined()
          expect(crd?.spec.scope).toBe('Namespaced')
        }
      }
    }
  })
})
