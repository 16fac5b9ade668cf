/**
 * @module test/deploy/k8s-schema
 * Checks rendered manifests against the Kubernetes API schemas, twice:
 *
 * 1. `kubernetes-models` (and `@kubernetes-models/cert-manager`, `/prometheus-operator`): JSON
 *    Schemas generated from the Kubernetes OpenAPI spec (and those CRDs), validated with ajv: types, formats,
 *    required fields.
 * 2. Unknown fields, as the API server's strict field validation (`kubectl apply` default)
 *    rejects them: every key is looked up in the attribute maps of @kubernetes/client-node's
 *    generated models (Kubernetes 1.35 API). The JSON Schemas above allow unknown keys.
 *
 * Every kind a manifest uses must be listed here: an unlisted kind is an error, not a pass.
 */
import * as k8s from '@kubernetes/client-node'
import { Certificate, Issuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1'
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import { MutatingWebhookConfiguration, ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1'
import { Deployment } from 'kubernetes-models/apps/v1'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1'
import { ConfigMap, Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1'
import type { Obj } from './kustomize.js'

interface KindInfo {
  /** Validates with the generated JSON Schema; throws a ValidationError listing every problem. */
  readonly validate: (obj: Obj) => void
  /** The @kubernetes/client-node model for the unknown-field check (none for CRDs). */
  readonly clientModel?: string
  readonly namespaced: boolean
}

interface Validatable {
  validate(): void
}
type ModelClass = new (data: never) => Validatable

const model =
  (Cls: ModelClass) =>
  (obj: Obj): void =>
    new Cls(obj as never).validate()

export const KINDS: Readonly<Record<string, KindInfo>> = {
  'v1/Namespace': { validate: model(Namespace), clientModel: 'V1Namespace', namespaced: false },
  'v1/ServiceAccount': { validate: model(ServiceAccount), clientModel: 'V1ServiceAccount', namespaced: true },
  'v1/ConfigMap': { validate: model(ConfigMap), clientModel: 'V1ConfigMap', namespaced: true },
  'v1/Secret': { validate: model(Secret), clientModel: 'V1Secret', namespaced: true },
  'v1/Service': { validate: model(Service), clientModel: 'V1Service', namespaced: true },
  'apps/v1/Deployment': { validate: model(Deployment), clientModel: 'V1Deployment', namespaced: true },
  'policy/v1/PodDisruptionBudget': { validate: model(PodDisruptionBudget), clientModel: 'V1PodDisruptionBudget', namespaced: true },
  'rbac.authorization.k8s.io/v1/ClusterRole': { validate: model(ClusterRole), clientModel: 'V1ClusterRole', namespaced: false },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { validate: model(ClusterRoleBinding), clientModel: 'V1ClusterRoleBinding', namespaced: false },
  'rbac.authorization.k8s.io/v1/Role': { validate: model(Role), clientModel: 'V1Role', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': { validate: model(RoleBinding), clientModel: 'V1RoleBinding', namespaced: true },
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': {
    validate: model(ValidatingWebhookConfiguration),
    clientModel: 'V1ValidatingWebhookConfiguration',
    namespaced: false,
  },
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': {
    validate: model(MutatingWebhookConfiguration),
    clientModel: 'V1MutatingWebhookConfiguration',
    namespaced: false,
  },
  'cert-manager.io/v1/Issuer': { validate: model(Issuer), namespaced: true },
  'cert-manager.io/v1/Certificate': { validate: model(Certificate), namespaced: true },
  // manifests/components/monitoring (prometheus-operator CRDs)
  'monitoring.coreos.com/v1/ServiceMonitor': { validate: model(ServiceMonitor), namespaced: true },
  'monitoring.coreos.com/v1/PrometheusRule': { validate: model(PrometheusRule), namespaced: true },
}

export const kindKey = (obj: Obj): string => `${String(obj.apiVersion)}/${String(obj.kind)}`

interface Attribute {
  readonly baseName: string
  readonly type: string
}
interface ClientModel {
  getAttributeTypeMap(): readonly Attribute[]
}

function clientModel(name: string): ClientModel | undefined {
  const candidate = (k8s as unknown as Record<string, unknown>)[name]
  return typeof candidate === 'function' && typeof (candidate as Partial<ClientModel>).getAttributeTypeMap === 'function'
    ? (candidate as unknown as ClientModel)
    : undefined
}

/** Keys that the API's model for `type` does not have, as `path: unknown field`. */
export function unknownFields(value: unknown, type: string, path: string, out: string[] = []): string[] {
  if (value === null || value === undefined) return out
  const list = /^Array<(.+)>$/.exec(type)
  if (list !== null) {
    if (!Array.isArray(value)) out.push(`${path}: must be a list`)
    else value.forEach((item, i) => unknownFields(item, list[1] as string, `${path}[${i}]`, out))
    return out
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type)
  if (map !== null) {
    if (typeof value !== 'object' || Array.isArray(value)) out.push(`${path}: must be a map`)
    else for (const [key, item] of Object.entries(value)) unknownFields(item, map[1] as string, `${path}.${key}`, out)
    return out
  }
  const cls = clientModel(type)
  if (cls === undefined) return out // string, number, boolean, IntOrString, Date, any
  if (typeof value !== 'object' || Array.isArray(value)) {
    out.push(`${path}: must be an object (${type})`)
    return out
  }
  const fields = new Map(cls.getAttributeTypeMap().map((a) => [a.baseName, a.type]))
  for (const [key, item] of Object.entries(value)) {
    const fieldType = fields.get(key)
    if (fieldType === undefined) out.push(`${path}.${key}: unknown field (not in ${type})`)
    else unknownFields(item, fieldType, `${path}.${key}`, out)
  }
  return out
}

/**
 * kustomize writes generated Secret data (and what replacements copy from it) as base64 in
 * lines of 70. The API server decodes []byte fields with Go's encoding/base64, which ignores
 * "\r" and "\n"; the JSON Schema's "byte" format does not. Join the lines before validating.
 */
function joinBase64Lines(obj: Obj): Obj {
  const copy = structuredClone(obj)
  const join = (s: unknown): unknown => (typeof s === 'string' ? s.replace(/[\r\n]/g, '') : s)
  if (copy.kind === 'Secret' && copy.data !== undefined) {
    for (const key of Object.keys(copy.data as object)) copy.data[key] = join(copy.data[key])
  }
  for (const webhook of (copy.webhooks ?? []) as Obj[]) {
    if (webhook.clientConfig?.caBundle !== undefined) webhook.clientConfig.caBundle = join(webhook.clientConfig.caBundle)
  }
  return copy
}

/** Every schema problem of one object, as readable lines; [] when it is valid. */
export function schemaProblems(original: Obj): string[] {
  const obj = joinBase64Lines(original)
  const info = KINDS[kindKey(obj)]
  const where = `${kindKey(obj)} ${String(obj.metadata?.namespace ?? '')}/${String(obj.metadata?.name)}`
  if (info === undefined) return [`${where}: no schema known for this kind (add it to test/deploy/k8s-schema.ts)`]
  const problems: string[] = []
  try {
    info.validate(obj)
  } catch (e) {
    problems.push(`${where}: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (info.clientModel !== undefined) {
    if (clientModel(info.clientModel) === undefined) problems.push(`${where}: @kubernetes/client-node has no model ${info.clientModel}`)
    for (const line of unknownFields(obj, info.clientModel, '')) problems.push(`${where}: ${line.replace(/^\./, '')}`)
  }
  if (info.namespaced && typeof obj.metadata?.namespace !== 'string') {
    problems.push(`${where}: namespaced kind without metadata.namespace (kubectl would use the current namespace)`)
  }
  if (!info.namespaced && obj.metadata?.namespace !== undefined) problems.push(`${where}: cluster-scoped kind with a namespace`)
  return problems
}
