/**
 * The kustomize base and overlays: every object valid against the Kubernetes schemas, and the
 * pieces wired to each other and to the server (ports, probes, paths, policy, certificates).
 */
import { LIFECYCLE_RESOURCES } from '../../src/state/lifecycle-caches.js'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  all,
  BASE,
  CERT_MANAGER,
  catalogOfDefaultPolicy,
  containerPort,
  flagValue,
  MANIFESTS,
  one,
  opensslAvailable,
  packageJson,
  readText,
  renderSelfSignedCopy,
  rendered,
  ROOT,
  selectorMatches,
  serveFlags,
} from './deploy-helpers.js'
import { schemaProblems } from './k8s-schema.js'
import { parseDocs, type Obj } from './kustomize.js'

const HAS_OPENSSL = opensslAvailable()
const selfSigned = HAS_OPENSSL ? renderSelfSignedCopy() : undefined

const overlays: { name: string; objects: () => Obj[] }[] = [
  { name: 'base', objects: () => rendered(BASE).objects },
  { name: 'overlays/cert-manager', objects: () => rendered(CERT_MANAGER).objects },
  ...(selfSigned === undefined ? [] : [{ name: 'overlays/self-signed', objects: () => selfSigned.rendered.objects }]),
]

const base = (): Obj[] => rendered(BASE).objects
const deployment = (): Obj => one(base(), 'Deployment', 'upgrade-guard')
const container = (): Obj => deployment().spec.template.spec.containers[0] as Obj
const args = (): string[] => container().args as string[]
const podLabels = (): Record<string, string> => deployment().spec.template.metadata.labels as Record<string, string>


function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return yamlFiles(path)
    return /\.ya?ml$/.test(entry) ? [path] : []
  })
}

describe('manifest files', () => {
  it.each(yamlFiles(MANIFESTS).map((f) => relative(ROOT, f)))('%s parses as YAML', (file) => {
    expect(parseDocs(readText(file), file).length).toBeGreaterThan(0)
  })

  it('manifests/base/policy.yaml is policies/default.yaml, byte for byte', () => {
    expect(readFileSync(join(BASE, 'policy.yaml'))).toEqual(readFileSync(join(ROOT, 'policies', 'default.yaml')))
  })
})

describe('the schema check (control: it can fail)', () => {
  const broken = (edit: (d: Obj) => void): string[] => {
    const d = structuredClone(deployment())
    edit(d)
    return schemaProblems(d)
  }
  it('finds a misspelt field', () => {
    expect(broken((d) => (d.spec.template.spec.containers[0].livenessprobe = {}))).toEqual([expect.stringContaining('livenessprobe: unknown field')])
  })
  it('finds a wrong type', () => {
    expect(broken((d) => (d.spec.template.spec.containers[0].ports[0].containerPort = '8443'))).toEqual([expect.stringContaining('must be integer')])
  })
  it('finds a missing required field', () => {
    expect(broken((d) => delete d.spec.selector)).toEqual([expect.stringContaining('selector')])
  })
  it('finds a namespaced object without namespace, and an unknown kind', () => {
    expect(broken((d) => delete d.metadata.namespace)).toEqual([expect.stringContaining('without metadata.namespace')])
    expect(schemaProblems({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'y' } })).toEqual([expect.stringContaining('no schema known')])
  })
})

describe.each(overlays)('$name', ({ objects }) => {
  it('renders', () => {
    expect(objects().length).toBeGreaterThan(5)
  })

  it('every object is valid against the Kubernetes API schema (no unknown fields)', () => {
    expect(objects().flatMap(schemaProblems)).toEqual([])
  })

  it('every namespaced object lives in upgrade-guard, the catalog namespace or a management Deployment\'s (its read Role)', () => {
    const allowed = ['upgrade-guard', catalogOfDefaultPolicy().namespace, ...LIFECYCLE_RESOURCES.flatMap((r) => (r.namespace === undefined ? [] : [r.namespace]))]
    const namespaces = objects()
      .map((o) => o.metadata?.namespace as string | undefined)
      .filter((ns) => ns !== undefined)
    expect(namespaces.filter((ns) => !allowed.includes(ns))).toEqual([])
  })

  it('creates the namespace it deploys into', () => {
    expect(one(objects(), 'Namespace').metadata.name).toBe(one(objects(), 'Deployment').metadata.namespace)
  })
})

describe('Deployment, Service and PodDisruptionBudget', () => {
  it('the Service selects the Deployment pods, and the Deployment selects its own template', () => {
    const service = one(base(), 'Service', 'upgrade-guard')
    expect(Object.keys(service.spec.selector as object).length).toBeGreaterThan(0)
    expect(selectorMatches({ matchLabels: service.spec.selector }, podLabels())).toBe(true)
    expect(selectorMatches(deployment().spec.selector as Obj, podLabels())).toBe(true)
  })

  it('Service port 443 (https) reaches container port 8443, the port the server listens on', () => {
    const service = one(base(), 'Service', 'upgrade-guard')
    const https = (service.spec.ports as Obj[]).find((p) => p.port === 443)
    expect(https?.name).toBe('https')
    const target = containerPort(deployment(), https?.targetPort as string | number)
    expect(target).toMatchObject({ name: 'https', containerPort: 8443, protocol: 'TCP' })
    expect(flagValue(args(), '--port') ?? '8443').toBe(String(target?.containerPort))
  })

  it('the metrics port is exposed and matches --metrics-port', () => {
    const service = one(base(), 'Service', 'upgrade-guard')
    const metrics = (service.spec.ports as Obj[]).find((p) => p.name === 'metrics')
    const target = containerPort(deployment(), metrics?.targetPort as string | number)
    expect(target?.containerPort).toBe(9090)
    expect(flagValue(args(), '--metrics-port') ?? '9090').toBe(String(target?.containerPort))
  })

  it('liveness probes GET /healthz and readiness GET /readyz over HTTPS on the serving port', () => {
    const { livenessProbe, readinessProbe } = container()
    expect(livenessProbe.httpGet).toMatchObject({ path: '/healthz', scheme: 'HTTPS' })
    expect(readinessProbe.httpGet).toMatchObject({ path: '/readyz', scheme: 'HTTPS' })
    for (const probe of [livenessProbe, readinessProbe] as Obj[]) {
      expect(containerPort(deployment(), probe.httpGet.port as string | number)?.containerPort).toBe(8443)
    }
  })

  it('runs the server entry point with the in-cluster flags', () => {
    expect(args().slice(0, 2)).toEqual(['/app/dist/cli/main.js', 'serve'])
    expect(args()).toContain('--in-cluster')
    expect(args()).not.toContain('--self-signed')
    expect(args()).not.toContain('--state')
  })

  it('passes only flags that `serve` has', () => {
    const flags = args()
      .filter((a) => a.startsWith('--'))
      .map((a) => a.split('=')[0] as string)
    expect(flags.filter((f) => !serveFlags().includes(f))).toEqual([])
  })

  it('shuts down within the grace period, and answers within the webhook timeout', () => {
    const grace = Number(deployment().spec.template.spec.terminationGracePeriodSeconds ?? 30)
    const delay = Number(flagValue(args(), '--shutdown-delay') ?? 0)
    const timeout = Number(flagValue(args(), '--shutdown-timeout') ?? 25)
    expect(delay).toBeGreaterThan(0) // endpoints are removed asynchronously: keep answering meanwhile
    expect(delay + timeout).toBeLessThan(grace)
    const requestTimeout = Number(flagValue(args(), '--request-timeout') ?? 4)
    const webhookTimeouts = rendered(BASE)
      .objects.filter((o) => /WebhookConfiguration$/.test(String(o.kind)))
      .flatMap((o) => (o.webhooks as Obj[]).map((w) => Number(w.timeoutSeconds ?? 10)))
    expect(requestTimeout).toBeLessThan(Math.min(...webhookTimeouts))
  })

  it('--policy names the policy file in the mounted policy ConfigMap, whose content is the default policy', () => {
    const policyPath = flagValue(args(), '--policy') as string
    const mount = (container().volumeMounts as Obj[]).find((m) => policyPath.startsWith(`${String(m.mountPath)}/`))
    expect(mount?.readOnly).toBe(true)
    expect(mount?.subPath).toBeUndefined() // a subPath mount never sees ConfigMap updates
    const volume = (deployment().spec.template.spec.volumes as Obj[]).find((v) => v.name === mount?.name)
    const configMap = one(base(), 'ConfigMap', volume?.configMap?.name as string)
    expect(configMap.metadata.namespace).toBe(deployment().metadata.namespace)
    const key = policyPath.slice(String(mount?.mountPath).length + 1)
    expect(configMap.data[key]).toBe(readText('policies/default.yaml'))
  })

  it('--tls-cert and --tls-key are tls.crt and tls.key of the mounted Secret upgrade-guard-tls', () => {
    const volumes = deployment().spec.template.spec.volumes as Obj[]
    for (const [flag, key] of [
      ['--tls-cert', 'tls.crt'],
      ['--tls-key', 'tls.key'],
    ] as const) {
      const path = flagValue(args(), flag) as string
      const mount = (container().volumeMounts as Obj[]).find((m) => path === `${String(m.mountPath)}/${key}`)
      expect(mount, `${flag} ${path}`).toBeDefined()
      expect(mount?.subPath).toBeUndefined() // certificate renewals must reach the pod
      expect(volumes.find((v) => v.name === mount?.name)?.secret?.secretName).toBe('upgrade-guard-tls')
    }
  })

  it('is hardened: non-root 65532, read-only root, no privilege escalation, no capabilities, seccomp', () => {
    const pod = deployment().spec.template.spec
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } })
    expect(container().securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    })
    expect(container().securityContext.privileged ?? false).toBe(false)
    expect(pod.hostNetwork ?? false).toBe(false)
    expect((pod.volumes as Obj[]).filter((v) => v.hostPath !== undefined)).toEqual([])
  })

  it('mounts a service-account token only into its own pods, for the caches', () => {
    const pod = deployment().spec.template.spec
    const account = one(base(), 'ServiceAccount', pod.serviceAccountName as string)
    expect(account.metadata.namespace).toBe(deployment().metadata.namespace)
    expect(account.automountServiceAccountToken).toBe(false)
    expect(pod.automountServiceAccountToken).toBe(true)
  })

  it('asks for resources and caps memory', () => {
    const { resources } = container()
    expect(resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) })
    expect(resources.limits?.memory).toEqual(expect.any(String))
  })

  it('runs 2 replicas spread over nodes, rolls without losing one, and a PDB keeps one', () => {
    const spec = deployment().spec
    expect(spec.replicas).toBeGreaterThanOrEqual(2)
    expect(spec.strategy.rollingUpdate.maxUnavailable).toBe(0)
    const spread = spec.template.spec.topologySpreadConstraints as Obj[]
    expect(spread.map((c) => c.topologyKey)).toContain('kubernetes.io/hostname')
    for (const c of spread) expect(selectorMatches(c.labelSelector as Obj, podLabels())).toBe(true)
    const anti = spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution as Obj[]
    expect(anti.map((t) => t.podAffinityTerm.topologyKey)).toContain('kubernetes.io/hostname')
    for (const t of anti) expect(selectorMatches(t.podAffinityTerm.labelSelector as Obj, podLabels())).toBe(true)

    const pdb = one(base(), 'PodDisruptionBudget')
    expect(pdb.metadata.namespace).toBe(deployment().metadata.namespace)
    expect(pdb.spec.minAvailable).toBe(1)
    expect(pdb.spec.minAvailable).toBeLessThan(spec.replicas)
    expect(selectorMatches(pdb.spec.selector as Obj, podLabels())).toBe(true)
  })

  it('uses the image tagged with the package version', () => {
    expect(container().image).toBe(`upgrade-guard:${String(packageJson().version)}`)
  })
})

describe('overlays/cert-manager', () => {
  const objects = (): Obj[] => rendered(CERT_MANAGER).objects

  it('has cainjector fill the caBundle of both webhook configurations from the serving Certificate', () => {
    const configs = [...all(objects(), 'ValidatingWebhookConfiguration'), ...all(objects(), 'MutatingWebhookConfiguration')]
    expect(configs).toHaveLength(2)
    for (const config of configs) {
      const ref = String(config.metadata.annotations?.['cert-manager.io/inject-ca-from'])
      const [namespace, name] = ref.split('/')
      const certificate = one(objects(), 'Certificate', name)
      expect(certificate.metadata.namespace).toBe(namespace)
      for (const webhook of config.webhooks as Obj[]) expect(webhook.clientConfig.caBundle).toBeUndefined()
    }
  })

  it('issues the serving certificate for the Service DNS name into the Secret the pods mount', () => {
    const service = one(objects(), 'Service', 'upgrade-guard')
    const config = one(objects(), 'ValidatingWebhookConfiguration')
    const [, name] = String(config.metadata.annotations['cert-manager.io/inject-ca-from']).split('/')
    const serving = one(objects(), 'Certificate', name)
    expect(serving.spec.dnsNames).toContain(`${String(service.metadata.name)}.${String(service.metadata.namespace)}.svc`)
    expect(serving.spec.isCA ?? false).toBe(false)
    const volumes = one(objects(), 'Deployment').spec.template.spec.volumes as Obj[]
    expect(volumes.map((v) => v.secret?.secretName)).toContain(serving.spec.secretName)
  })

  it('signs it with a CA Issuer whose CA comes from the self-signed bootstrap Issuer', () => {
    const serving = one(objects(), 'Certificate', 'upgrade-guard-serving-cert')
    const caIssuer = one(objects(), 'Issuer', serving.spec.issuerRef.name as string)
    const caCert = all(objects(), 'Certificate').find((c) => c.spec.secretName === caIssuer.spec.ca?.secretName)
    expect(caCert?.spec.isCA).toBe(true)
    expect(one(objects(), 'Issuer', caCert?.spec.issuerRef.name as string).spec.selfSigned).toEqual({})
    for (const issuer of all(objects(), 'Issuer')) expect(issuer.metadata.namespace).toBe('upgrade-guard')
  })

  it('leaves the base without caBundle or injection annotation', () => {
    for (const config of [...all(base(), 'ValidatingWebhookConfiguration'), ...all(base(), 'MutatingWebhookConfiguration')]) {
      expect(config.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBeUndefined()
      for (const webhook of config.webhooks as Obj[]) expect(webhook.clientConfig.caBundle).toBeUndefined()
    }
  })
})
