/**
 * @module test/deploy/deploy-helpers
 * What the deployment tests share: repository paths, the rendered overlays, lookups, and the
 * API server's own matching logic for webhooks (rules, namespaceSelector, matchConditions in
 * CEL) so a test can ask "would this request be sent to upgrade-guard?".
 */
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { evaluate } from '@marcbachmann/cel-js'
import { parse } from 'yaml'
import { afterAll } from 'vitest'
import { render, type Obj, type Rendered } from './kustomize.js'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const MANIFESTS = join(ROOT, 'manifests')
export const BASE = join(MANIFESTS, 'base')
export const CERT_MANAGER = join(MANIFESTS, 'overlays', 'cert-manager')
export const SELF_SIGNED = join(MANIFESTS, 'overlays', 'self-signed')

export const readText = (path: string): string => readFileSync(join(ROOT, path), 'utf8')
export const packageJson = (): Obj => JSON.parse(readText('package.json')) as Obj

/** The catalog location of the default policy (the one the manifests ship). */
export function catalogOfDefaultPolicy(): { readonly namespace: string; readonly name: string } {
  const policy = parse(readText('policies/default.yaml')) as Obj
  return { namespace: String(policy.catalog.namespace), name: String(policy.catalog.name) }
}

const renders = new Map<string, Rendered>()

/** Renders a folder once per test file (kubectl kustomize, or the built-in renderer). */
export function rendered(dir: string): Rendered {
  let r = renders.get(dir)
  if (r === undefined) {
    r = render(dir)
    renders.set(dir, r)
  }
  return r
}

const tempDirs: string[] = []
// This module is loaded afresh for every test file; the hook runs when that file is done.
afterAll(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A temporary folder, removed after the test file that made it. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}

/**
 * The self-signed overlay needs certificate files that gen-certs.sh makes and git ignores:
 * copy manifests/ to a temporary folder, run the script there, render that copy.
 */
export function renderSelfSignedCopy(): { readonly dir: string; readonly rendered: Rendered } {
  const tmp = tempDir('ug-deploy-')
  cpSync(MANIFESTS, join(tmp, 'manifests'), { recursive: true })
  const overlay = join(tmp, 'manifests', 'overlays', 'self-signed')
  execFileSync('sh', [join(overlay, 'gen-certs.sh'), '--out', overlay], { stdio: 'pipe', timeout: 60_000 })
  return { dir: overlay, rendered: render(overlay) }
}

export const opensslAvailable = (): boolean => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Exactly one object of that kind (and name); throws otherwise. */
export function one(objects: readonly Obj[], kind: string, name?: string): Obj {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name))
  if (found.length !== 1) throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${found.length}`)
  return found[0] as Obj
}

export const all = (objects: readonly Obj[], kind: string): Obj[] => objects.filter((o) => o.kind === kind)

/** metav1.LabelSelector semantics (matchLabels AND matchExpressions); an empty selector matches all. */
export function selectorMatches(selector: Obj | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined || selector === null) return true
  for (const [key, value] of Object.entries((selector.matchLabels ?? {}) as Record<string, string>)) {
    if (labels[key] !== value) return false
  }
  for (const expr of (selector.matchExpressions ?? []) as Obj[]) {
    const key = String(expr.key)
    const values = (expr.values ?? []) as string[]
    const has = Object.hasOwn(labels, key)
    switch (expr.operator) {
      case 'In':
        if (!has || !values.includes(labels[key] as string)) return false
        break
      case 'NotIn':
        if (has && values.includes(labels[key] as string)) return false
        break
      case 'Exists':
        if (!has) return false
        break
      case 'DoesNotExist':
        if (has) return false
        break
      default:
        throw new Error(`unknown selector operator ${String(expr.operator)}`)
    }
  }
  return true
}

/** The labels every namespace carries since Kubernetes 1.22. */
export const namespaceLabels = (namespace: string): Record<string, string> => ({ 'kubernetes.io/metadata.name': namespace })

/** The parts of an AdmissionRequest that decide whether a webhook is called. */
export interface AdmissionCall {
  readonly group: string
  readonly version: string
  readonly resource: string
  readonly subResource?: string
  readonly operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT'
  readonly namespace: string
  readonly name: string
  readonly object: Obj | null
  readonly oldObject: Obj | null
}

/** The request as the CEL variable `request` sees it. */
const celRequest = (call: AdmissionCall): Obj => ({
  kind: { group: call.group, version: call.version, kind: '' },
  resource: { group: call.group, version: call.version, resource: call.resource },
  subResource: call.subResource ?? '',
  name: call.name,
  namespace: call.namespace,
  operation: call.operation,
  userInfo: { username: 'admin', groups: ['system:masters', 'system:authenticated'] },
  dryRun: false,
})

function ruleMatches(rule: Obj, call: AdmissionCall): boolean {
  const any = (list: unknown, value: string): boolean => Array.isArray(list) && (list.includes('*') || list.includes(value))
  if (!any(rule.apiGroups, call.group) || !any(rule.apiVersions, call.version) || !any(rule.operations, call.operation)) return false
  if (rule.scope !== undefined && rule.scope !== '*' && rule.scope !== 'Namespaced') return false
  const wanted = call.subResource === undefined || call.subResource === '' ? call.resource : `${call.resource}/${call.subResource}`
  return ((rule.resources ?? []) as string[]).some((r) => {
    if (r === '*') return call.subResource === undefined || call.subResource === ''
    if (r === '*/*') return true
    const [res, sub] = r.split('/')
    if (sub === undefined) return r === wanted
    return (res === '*' || res === call.resource) && (sub === '*' || sub === (call.subResource ?? ''))
  })
}

export type CallResult = 'called' | 'skipped' | { readonly error: string }

/**
 * What the API server does with one webhook for one request: rules and namespaceSelector
 * first, then every matchCondition (all true: called; any false: skipped; an error: the
 * request fails under failurePolicy Fail).
 */
export function webhookDecision(webhook: Obj, call: AdmissionCall): CallResult {
  if (!((webhook.rules ?? []) as Obj[]).some((rule) => ruleMatches(rule, call))) return 'skipped'
  if (!selectorMatches(webhook.namespaceSelector as Obj | undefined, namespaceLabels(call.namespace))) return 'skipped'
  if (webhook.objectSelector !== undefined) {
    const labels = ((call.object ?? call.oldObject)?.metadata?.labels ?? {}) as Record<string, string>
    if (!selectorMatches(webhook.objectSelector as Obj, labels)) return 'skipped'
  }
  for (const condition of (webhook.matchConditions ?? []) as Obj[]) {
    let result: unknown
    try {
      result = evaluate(String(condition.expression), { object: call.object, oldObject: call.oldObject, request: celRequest(call) })
    } catch (e) {
      return { error: `${String(condition.name)}: ${e instanceof Error ? e.message : String(e)}` }
    }
    if (result !== true && result !== false) return { error: `${String(condition.name)}: not a bool: ${String(result)}` }
    if (!result) return 'skipped'
  }
  return 'called'
}

/** Names of the webhooks (validating and mutating) a request is sent to; throws on a CEL error. */
export function webhooksCalled(objects: readonly Obj[], call: AdmissionCall): string[] {
  const names: string[] = []
  for (const config of objects.filter((o) => o.kind === 'ValidatingWebhookConfiguration' || o.kind === 'MutatingWebhookConfiguration')) {
    for (const webhook of (config.webhooks ?? []) as Obj[]) {
      const decision = webhookDecision(webhook, call)
      if (typeof decision === 'object') throw new Error(`${String(webhook.name)}: matchCondition error: ${decision.error}`)
      if (decision === 'called') names.push(String(webhook.name))
    }
  }
  return names.sort()
}

/** A container port, by name or number, of the Deployment's first container. */
export function containerPort(deployment: Obj, port: string | number): Obj | undefined {
  const ports = (deployment.spec.template.spec.containers[0].ports ?? []) as Obj[]
  return ports.find((p) => (typeof port === 'number' ? p.containerPort === port : p.name === port))
}

/** The value after a flag in an argument list (`--flag value`), or undefined. */
export function flagValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag)
  if (i >= 0) return args[i + 1]
  const joined = args.find((a) => a.startsWith(`${flag}=`))
  return joined?.slice(flag.length + 1)
}

/**
 * The shared reference material (real AdmissionReviews, CAPI CRDs) where this checkout can see
 * it: reference/ in the repository, or the shared/ folder next to it. undefined when absent.
 */
export function referenceDir(): string | undefined {
  const candidates = [join(ROOT, 'reference'), join(ROOT, '..', 'shared', 'reference'), '/work/shared/reference']
  return candidates.find((dir) => existsSync(join(dir, 'admission-reviews', 'index.json')))
}

/** The flags `serve` defines (src/cli/serve.ts), or the documented contract while it has none. */
export function serveFlags(): string[] {
  const source = readText('src/cli/serve.ts')
  const defined = [...source.matchAll(/(?:\.option|new Option)\(\s*'(?:-\w, )?(--[a-z][a-z-]*)/g)].map((m) => m[1] as string)
  if (/\.command\(\s*'serve'/.test(source) && defined.length > 0) return defined
  return ['--host', '--port', '--metrics-port', '--policy', '--state', '--kubeconfig', '--in-cluster', '--tls-cert', '--tls-key', '--self-signed', '--san', '--ca-out', '--webhook-config-name']
}
