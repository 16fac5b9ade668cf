/**
 * @module policy/load
 * Loads a policy file (YAML or JSON), validates it with ajv against schema.json and fills in
 * defaults. A bad policy is an UpgradeGuardError naming the file and the field.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Ajv, type ErrorObject } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { UpgradeGuardError } from '../errors.js'
import { RULE_IDS, type RuleId } from '../rules/ids.js'
import type { Policy, RuleAction } from './types.js'
import schema from './schema.json' with { type: 'json' }


export const DEFAULT_POLICY_FILE = fileURLToPath(new URL('../../policies/default.yaml', import.meta.url))

const DEFAULT_ACTIONS: Readonly<Record<RuleId, RuleAction>> = Object.fromEntries(
  RULE_IDS.map((id) => [id, id === 'pinned-component-tags' || id === 'workers-healthy' ? 'warn' : 'deny']),
) as Record<RuleId, RuleAction>

/** The built-in defaults; policies/default.yaml spells out exactly these values. */
export const DEFAULT_POLICY: Policy = {
  catalog: { namespace: 'cpaas-system', name: 'elemental-image-catalog' },
  scope: { infrastructureKinds: ['BaremetalMachineTemplate'], exemptNamespaces: [] },
  rules: DEFAULT_ACTIONS,
  skew: { default: 1, maximum: 2, optInAnnotation: 'upgrade-guard.io/worker-skew' },
  registryAnnotation: 'cpaas.io/registry-address',
  releaseDates: {},
  componentTags: {},
  bypass: { annotation: 'upgrade-guard.io/bypass', reasonAnnotation: 'upgrade-guard.io/bypass-reason', users: [], groups: [] },
  state: { onUnavailable: 'deny', maxStalenessSeconds: 300 },
  management: {
    // Cluster API core, the kubeadm control-plane and bootstrap providers (clusterctl's default
    // namespaces and names) and the bare-metal provider.
    deployments: [
      { namespace: 'capi-system', name: 'capi-controller-manager' },
      { namespace: 'capi-kubeadm-control-plane-system', name: 'capi-kubeadm-control-plane-controller-manager' },
      { namespace: 'capi-kubeadm-bootstrap-system', name: 'capi-kubeadm-bootstrap-controller-manager' },
      { namespace: 'cpaas-system', name: 'baremetal-provider-controller-manager' },
    ],
  },
  mutation: { enabled: true, rewriteDefaultedKcpSurge: true },
}

// Compiled once per process: never on the admission path.
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema)

/** `/skew/default` + message → `skew.default: must be <= 3`. */
export function formatAjvError(error: ErrorObject): { field: string; message: string } {
  const base = error.instancePath.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
  const params = error.params as Record<string, unknown>
  if (error.keyword === 'additionalProperties') {
    return { field: [...base, String(params.additionalProperty)].join('.'), message: 'unknown field' }
  }
  if (error.keyword === 'required') {
    return { field: [...base, String(params.missingProperty)].join('.'), message: 'is required' }
  }
  if (error.keyword === 'enum') {
    return { field: base.join('.') || '(root)', message: `must be one of ${(params.allowedValues as unknown[]).join(', ')}` }
  }
  if (error.keyword === 'propertyNames' || error.propertyName !== undefined) {
    return { field: [...base, String(error.propertyName ?? params.propertyName)].join('.'), message: 'is not an allowed key here' }
  }
  return { field: base.join('.') || '(root)', message: error.message ?? 'is invalid' }
}

/** Validates a parsed policy document and merges it over the defaults. */
export function policyFromDocument(doc: unknown, file = '<policy>'): Policy {
  if (!validate(doc)) {
    const errors = (validate.errors ?? []).filter((e) => e.keyword !== 'if')
    const first = errors[0]
    const { field, message } = first === undefined ? { field: '(root)', message: 'is invalid' } : formatAjvError(first)
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''
    throw new UpgradeGuardError('UG_ERR_POLICY_INVALID', `${field}: ${message}${more}`, { file, field })
  }
  const d = doc as Partial<{ [K in keyof Policy]: Partial<Policy[K]> }>
  const policy: Policy = {
    catalog: { ...DEFAULT_POLICY.catalog, ...d.catalog },
    scope: { ...DEFAULT_POLICY.scope, ...d.scope },
    rules: { ...DEFAULT_POLICY.rules, ...d.rules },
    skew: { ...DEFAULT_POLICY.skew, ...d.skew },
    registryAnnotation: (d.registryAnnotation as string | undefined) ?? DEFAULT_POLICY.registryAnnotation,
    releaseDates: { ...(d.releaseDates as Record<string, string> | undefined) },
    componentTags: { ...(d.componentTags as Policy['componentTags'] | undefined) },
    bypass: { ...DEFAULT_POLICY.bypass, ...d.bypass },
    state: { ...DEFAULT_POLICY.state, ...d.state },
    management: { ...DEFAULT_POLICY.management, ...d.management },
    mutation: { ...DEFAULT_POLICY.mutation, ...d.mutation },
  }
  if (policy.skew.default > policy.skew.maximum) {
    throw new UpgradeGuardError('UG_ERR_POLICY_INVALID', `skew.default: ${policy.skew.default} is above skew.maximum (${policy.skew.maximum})`, { file, field: 'skew.default' })
  }
  for (const [version, date] of Object.entries(policy.releaseDates)) {
    if (Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
      throw new UpgradeGuardError('UG_ERR_POLICY_INVALID', `releaseDates.${version}: ${JSON.stringify(date)} is not a calendar date`, { file, field: `releaseDates.${version}` })
    }
  }
  return policy
}

/** Parses policy text (YAML is a superset of JSON). */
export function parsePolicy(text: string, file = '<policy>'): Policy {
  let doc: unknown
  try {
    doc = parseYaml(text, { prettyErrors: false, uniqueKeys: true })
  } catch (e) {
    const reason = e instanceof Error ? e.message.split('\n')[0] : String(e)
    throw new UpgradeGuardError('UG_ERR_POLICY_INVALID', `not valid YAML: ${reason}`, { file, cause: e })
  }
  return policyFromDocument(doc, file)
}

export function loadPolicy(file: string = DEFAULT_POLICY_FILE): Policy {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new UpgradeGuardError('UG_ERR_POLICY_READ', `cannot read the policy: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file, cause: e })
  }
  return parsePolicy(text, file)
}
