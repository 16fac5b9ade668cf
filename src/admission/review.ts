/**
 * @module admission/review
 * Translates an AdmissionReview into an engine request and a Decision (or a Mutation) back into
 * an AdmissionReview response. The webhook and `upgrade-guard review` both call `review()` and
 * send `serializeOutcome()`: one code path, byte for byte.
 *
 * Built to what a real kube-apiserver does (reference/admission-reviews/README.md): always 200
 * with apiVersion/kind and the request's uid; a denial is 403 Forbidden whose `message` carries
 * rule id, field, problem and fix (kubectl prints only causes for 422/Invalid, so we do not use
 * it); warnings are single lines, 16 × 256 runes at most once they pass 4096 in total.
 */
import { Ajv } from 'ajv'
import { evaluate } from '../engine/evaluate.js'
import type { Decision, EngineRequest } from '../engine/decision.js'
import { formatAjvError } from '../policy/load.js'
import type { Policy } from '../policy/types.js'
import { formatDetail, formatViolation } from '../rules/field-path.js'
import type { Operation, Violation } from '../rules/types.js'
import type { ClusterView } from '../state/cluster-view.js'
import { isRecord } from '../objects/unstructured.js'
import { mutate, type Mutation } from './patch.js'
import schema from './schema.json' with { type: 'json' }

export type Endpoint = 'validate' | 'mutate'

export interface ReviewDeps {
  readonly policy: Policy
  readonly view: ClusterView
}

export interface RequestSummary {
  readonly uid: string
  readonly kind: string
  readonly namespace: string
  readonly name: string
  readonly operation: string
  readonly subResource?: string
  readonly username: string
  readonly dryRun: boolean
}

export interface AdmissionResponseBody {
  readonly apiVersion: string
  readonly kind: 'AdmissionReview'
  readonly response: {
    readonly uid: string
    readonly allowed: boolean
    readonly status?: Readonly<Record<string, unknown>>
    readonly warnings?: readonly string[]
    readonly patchType?: 'JSONPatch'
    readonly patch?: string
  }
}

export type ReviewOutcome =
  | {
      readonly kind: 'response'
      readonly body: AdmissionResponseBody
      readonly request: RequestSummary
      readonly decision?: Decision
      readonly mutation?: Mutation
    }
  /** No uid to answer with: the HTTP layer answers 400 with this message. */
  | { readonly kind: 'error'; readonly statusCode: 400; readonly message: string }

const validateEnvelope = new Ajv({ allErrors: false, strict: false }).compile(schema)

const MAX_WARNING_TOTAL = 4096
const MAX_WARNING_RUNES = 256
const MAX_WARNINGS = 16

/** One line, no control characters (the API server drops such warnings silently). */
const oneLine = (s: string): string => s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()

/** Keeps warnings inside what the API server delivers whole. */
export function fitWarnings(texts: readonly string[]): string[] {
  if (texts.length === 0) return []
  const unique = [...new Set(texts.map(oneLine).filter((t) => t !== ''))]
  // A string has at most as many code points as UTF-16 units: count them only when it matters.
  let units = 0
  for (const t of unique) units += t.length
  if (units <= MAX_WARNING_TOTAL) return unique
  const total = unique.reduce((n, t) => n + [...t].length, 0)
  if (total <= MAX_WARNING_TOTAL) return unique
  return unique.slice(0, MAX_WARNINGS).map((t) => {
    const runes = [...t]
    return runes.length <= MAX_WARNING_RUNES ? t : `${runes.slice(0, MAX_WARNING_RUNES - 3).join('')}...`
  })
}

/**
 * One warning per rule per request (kubectl prints each on its own line; the API server keeps
 * only 16): findings of the same rule are joined into one line, in the order they were found.
 */
export function warningTexts(violations: readonly Violation[]): string[] {
  if (violations.length === 0) return []
  const byRule = new Map<string, string[]>()
  for (const v of violations) {
    const details = byRule.get(v.rule) ?? []
    if (details.length === 0) byRule.set(v.rule, details)
    details.push(formatDetail(v))
  }
  return [...byRule].map(([rule, details]) => `[${rule}] ${details.join(' | ')}`)
}

const CAUSE_REASON: Readonly<Record<Violation['type'], string>> = {
  Invalid: 'FieldValueInvalid',
  Forbidden: 'FieldValueForbidden',
  Required: 'FieldValueRequired',
  NotFound: 'FieldValueNotFound',
}

function denialStatus(violations: readonly Violation[], req: { group: string; resource: string; name: string }, code = 403): Record<string, unknown> {
  // One pass: each violation is printed once, for both the message and its cause.
  const causes: { reason: string; message: string; field: string }[] = []
  let message = ''
  for (const v of violations) {
    const text = formatViolation(v)
    message = message === '' ? text : `${message}\n${text}`
    causes.push({ reason: CAUSE_REASON[v.type], message: text, field: v.field })
  }
  return {
    metadata: {},
    status: 'Failure',
    message,
    reason: code === 403 ? 'Forbidden' : 'BadRequest',
    details: { name: req.name, group: req.group, kind: req.resource, causes },
    code,
  }
}

function str(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback
}

type Writable<T> = { -readonly [K in keyof T]: T[K] }

/** What the webhook answers: an envelope around `response`, whose members were added in wire order. */
const envelope = (apiVersion: string, response: AdmissionResponseBody['response']): AdmissionResponseBody => ({ apiVersion, kind: 'AdmissionReview', response })

/**
 * Reviews one AdmissionReview body (already parsed JSON). Never throws for any input.
 *
 * Built for the hot path: optional members are assigned only when present (no conditional
 * spreads, no closure per request), so one decision allocates little between two requests.
 */
export function review(body: unknown, endpoint: Endpoint, deps: ReviewDeps): ReviewOutcome {
  const request = isRecord(body) ? body.request : undefined
  const uid = isRecord(request) ? request.uid : undefined
  if (!isRecord(body) || typeof uid !== 'string' || uid === '') {
    return { kind: 'error', statusCode: 400, message: 'not an AdmissionReview: request.uid is missing (expected admission.k8s.io/v1 AdmissionReview JSON)' }
  }
  const r = request as Record<string, unknown>
  const apiVersion = body.apiVersion === 'admission.k8s.io/v1beta1' ? 'admission.k8s.io/v1beta1' : 'admission.k8s.io/v1'
  const resource = isRecord(r.resource) ? r.resource : {}
  const kind = isRecord(r.kind) ? r.kind : {}
  const userInfo = isRecord(r.userInfo) ? r.userInfo : undefined
  const summary: Writable<RequestSummary> = {
    uid,
    kind: str(kind.kind, '?'),
    namespace: str(r.namespace),
    name: str(r.name),
    operation: str(r.operation, '?'),
    username: userInfo === undefined ? '' : str(userInfo.username),
    dryRun: r.dryRun === true,
  }
  if (typeof r.subResource === 'string' && r.subResource !== '') summary.subResource = r.subResource

  if (!validateEnvelope(body)) {
    const first = validateEnvelope.errors?.[0]
    const { field, message } = first === undefined ? { field: '(root)', message: 'is invalid' } : formatAjvError(first)
    const v: Violation = { rule: 'request', field, type: 'Invalid', message: `malformed AdmissionReview: ${message}`, hint: 'send an admission.k8s.io/v1 AdmissionReview as the API server does' }
    const status = denialStatus([v], { group: str(resource.group), resource: str(resource.resource), name: summary.name }, 400)
    return { kind: 'response', body: envelope(apiVersion, { uid, allowed: false, status }), request: summary }
  }
  const operation = r.operation as Operation | 'CONNECT'
  if (operation === 'CONNECT') return { kind: 'response', body: envelope(apiVersion, { uid, allowed: true }), request: summary }

  // Every member in the literal (an absent one as undefined): members added later would take a
  // second allocation for their storage.
  const engineRequest: EngineRequest = {
    operation,
    // What the API server routed: the engine judges this kind, whatever the object says.
    kind: { group: str(kind.group), version: str(kind.version), kind: str(kind.kind) },
    resource: typeof resource.resource === 'string' ? resource.resource : undefined,
    subResource: summary.subResource,
    namespace: summary.namespace,
    name: summary.name,
    object: r.object ?? null,
    oldObject: r.oldObject ?? null,
    userInfo: {
      username: summary.username,
      groups: userInfo !== undefined && Array.isArray(userInfo.groups) ? (userInfo.groups as string[]) : [],
    },
  }

  if (endpoint === 'mutate') {
    const mutation = mutate(engineRequest, deps.policy)
    const response: Writable<AdmissionResponseBody['response']> = { uid, allowed: true }
    if (mutation.patch.length > 0) {
      response.patchType = 'JSONPatch'
      response.patch = Buffer.from(JSON.stringify(mutation.patch)).toString('base64')
    }
    const warnings = fitWarnings(mutation.warnings)
    if (warnings.length > 0) response.warnings = warnings
    return { kind: 'response', body: envelope(apiVersion, response), request: summary, mutation }
  }

  const decision = evaluate(engineRequest, deps.view, deps.policy)
  const response: Writable<AdmissionResponseBody['response']> = { uid, allowed: decision.allowed }
  if (!decision.allowed) response.status = denialStatus(decision.denied, { group: str(resource.group), resource: str(resource.resource), name: summary.name })
  if (decision.warnings.length > 0) {
    const warnings = fitWarnings(warningTexts(decision.warnings))
    if (warnings.length > 0) response.warnings = warnings
  }
  return { kind: 'response', body: envelope(apiVersion, response), request: summary, decision }
}

/** The exact bytes the webhook sends and `upgrade-guard review` prints. */
export function serializeOutcome(outcome: Extract<ReviewOutcome, { kind: 'response' }>): string {
  return `${JSON.stringify(outcome.body)}\n`
}

/** Parses a raw body; JSON errors become a 400 outcome (never a throw). */
export function reviewText(text: string, endpoint: Endpoint, deps: ReviewDeps): ReviewOutcome {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (e) {
    return { kind: 'error', statusCode: 400, message: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` }
  }
  return review(body, endpoint, deps)
}
