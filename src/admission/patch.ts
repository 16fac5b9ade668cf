/**
 * @module admission/patch
 * The mutating webhook's only job, as a pure function producing RFC 6902 JSONPatch: for a
 * bare-metal KCP/MD set an unset maxSurge to 0, set an unset MD maxUnavailable to 1 when maxSurge
 * is 0, and add a missing leading `v` to versions. An explicit unsafe value is never rewritten
 * (validation rejects it), with one exception: the v1beta1 KCP CRD default (maxSurge 1) on
 * CREATE, which arrives looking typed (reference/admission-reviews fact 4).
 * Parents are created with the leaf inside, so no empty `{}` is ever left behind (v1beta2 has
 * minProperties: 1 on rollout, strategy and rollingUpdate).
 */
import { readGuarded, type GuardedObject } from '../objects/capi.js'
import { dotted, getPath, isRecord, jsonEqual } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import { isBareMetal } from '../rules/common.js'
import { clip } from '../rules/field-path.js'
import type { RequestKind } from '../engine/decision.js'
import type { Operation } from '../rules/types.js'
import { parseVersion } from '../versions/version.js'

export type JsonPatchOp =
  | { readonly op: 'add'; readonly path: string; readonly value: unknown }
  | { readonly op: 'replace'; readonly path: string; readonly value: unknown }

export interface Mutation {
  readonly patch: readonly JsonPatchOp[]
  readonly warnings: readonly string[]
}

const NONE: Mutation = { patch: [], warnings: [] }

const pointer = (path: readonly string[]): string => path.map((p) => `/${p.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')

const KCP_V1BETA1_CRD_DEFAULT = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } }

/**
 * An `add` of `value` at `path`, creating missing parents in one op. `strategyDepth` is how many
 * segments make up the strategy object, which gets `type: RollingUpdate` when created (required
 * in v1beta2). Undefined when an ancestor exists but is not an object (validation reports it).
 */
function addAt(obj: unknown, path: readonly string[], value: unknown, strategyDepth: number): JsonPatchOp | undefined {
  for (let depth = 1; depth <= path.length; depth++) {
    const prefix = path.slice(0, depth)
    const existing = getPath(obj, prefix)
    if (existing === undefined) {
      let nested: unknown = value
      for (let i = path.length - 1; i >= depth; i--) {
        const level: Record<string, unknown> = { [path[i] as string]: nested }
        nested = i === strategyDepth ? { type: 'RollingUpdate', ...level } : level
      }
      return { op: 'add', path: pointer(prefix), value: nested }
    }
    if (depth < path.length && !isRecord(existing)) return undefined
  }
  return undefined // already set
}

function surgeOps(obj: unknown, g: GuardedObject, operation: Operation, policy: Policy, warnings: string[]): JsonPatchOp[] {
  const ops: JsonPatchOp[] = []
  const strategyDepth = g.paths.strategy.length
  if (g.kind === 'KubeadmControlPlane') {
    const strategy = getPath(obj, g.paths.strategy)
    if (operation === 'CREATE' && g.level === 'v1beta1' && policy.mutation.rewriteDefaultedKcpSurge && jsonEqual(strategy, KCP_V1BETA1_CRD_DEFAULT)) {
      ops.push({ op: 'replace', path: pointer(g.paths.maxSurge), value: 0 })
      warnings.push(`[max-surge-zero] spec.rolloutStrategy.rollingUpdate.maxSurge: set to 0 (was the CRD default 1; bare metal replaces nodes delete-then-add)`)
      return ops
    }
    if (g.maxSurge === undefined) {
      const op = addAt(obj, g.paths.maxSurge, 0, strategyDepth)
      if (op !== undefined) ops.push(op)
    }
    return ops
  }
  if (g.strategyType === 'OnDelete') return ops
  if (g.maxSurge === undefined) {
    const unavailable = g.maxUnavailable === undefined ? { maxSurge: 0, maxUnavailable: 1 } : { maxSurge: 0 }
    const rolling = getPath(obj, g.paths.rollingUpdate)
    if (rolling === undefined) {
      const op = addAt(obj, g.paths.rollingUpdate, unavailable, strategyDepth)
      if (op !== undefined) ops.push(op)
      return ops
    }
    const op = addAt(obj, g.paths.maxSurge, 0, strategyDepth)
    if (op !== undefined) ops.push(op)
  }
  const surgeIsZero = g.maxSurge === undefined || g.maxSurge === 0 || g.maxSurge === '0%'
  if (surgeIsZero && g.maxUnavailable === undefined && getPath(obj, g.paths.rollingUpdate) !== undefined) {
    const op = addAt(obj, g.paths.maxUnavailable, 1, strategyDepth)
    if (op !== undefined) ops.push(op)
  }
  return ops
}

function versionOps(g: GuardedObject, warnings: string[]): JsonPatchOp[] {
  if (typeof g.version !== 'string') return []
  const parsed = parseVersion(g.version)
  if (parsed.ok || parsed.fixed === undefined) return []
  warnings.push(`[catalog-key] ${dotted(g.paths.version)}: set to ${JSON.stringify(clip(parsed.fixed))} (was ${JSON.stringify(clip(g.version))}: catalog keys carry the leading "v")`)
  return [{ op: 'replace', path: pointer(g.paths.version), value: parsed.fixed }]
}

/** What a defaulting op set, for the one max-surge-zero warning of the request. */
function describeDefaults(g: GuardedObject, ops: readonly JsonPatchOp[]): string | undefined {
  const set: string[] = []
  const surgeWhy = 'unset; CAPI would default it to 1 and surge an extra physical host'
  for (const op of ops) {
    const value = op.value
    if (op.path === pointer(g.paths.maxSurge)) set.push(`${dotted(g.paths.maxSurge)}: set to 0 (${surgeWhy})`)
    else if (op.path === pointer(g.paths.maxUnavailable)) set.push(`${dotted(g.paths.maxUnavailable)}: set to 1 (unset; with maxSurge 0 a rollout needs at least 1)`)
    else if (isRecord(value)) {
      // A parent created with the leaves inside: name the leaves.
      const inner = JSON.stringify(value)
      if (inner.includes('"maxSurge":0')) set.push(`${dotted(g.paths.maxSurge)}: set to 0 (${surgeWhy})`)
      if (inner.includes('"maxUnavailable":1')) set.push(`${dotted(g.paths.maxUnavailable)}: set to 1 (unset; with maxSurge 0 a rollout needs at least 1)`)
    }
  }
  return set.length === 0 ? undefined : `[max-surge-zero] ${set.join('; ')}`
}

export interface MutationRequest {
  readonly operation: Operation
  /** What the API server routed (request.kind): only an object of that kind is ever patched. */
  readonly kind?: RequestKind
  readonly subResource?: string
  readonly object: unknown
  /** The stored object on UPDATE. */
  readonly oldObject?: unknown
}

export function mutate(req: MutationRequest, policy: Policy): Mutation {
  if (!policy.mutation.enabled || req.subResource !== undefined) return NONE
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return NONE
  // Ratcheting for the mutation too: an UPDATE that leaves spec alone (CAPI's controllers adding a
  // finalizer or a label) is never turned into a spec change that validation could then deny.
  if (req.operation === 'UPDATE' && isRecord(req.oldObject) && isRecord(req.object) && jsonEqual(req.oldObject.spec, req.object.spec)) return NONE
  const read = readGuarded(req.object)
  if (!read.ok) return NONE
  const g = read.object
  // An object that is not what the request was routed as is never patched (validation refuses it).
  if (req.kind !== undefined && req.kind.kind !== '' && (req.kind.kind !== g.kind || `${req.kind.group}/${req.kind.version}` !== getPath(req.object, ['apiVersion']))) return NONE
  if (!isBareMetal(g, policy) || policy.scope.exemptNamespaces.includes(g.namespace)) return NONE
  const warnings: string[] = []
  const versions = versionOps(g, warnings)
  const surgeWarnings: string[] = []
  const surge = surgeOps(req.object, g, req.operation, policy, surgeWarnings)
  // Every change made on purpose says so, one warning per rule.
  const defaults = surgeWarnings.length > 0 ? surgeWarnings[0] : describeDefaults(g, surge)
  if (defaults !== undefined) warnings.push(defaults)
  return { patch: [...versions, ...surge], warnings }
}

/** Applies our own add/replace ops to a copy (the CLI's dry run does what the API server would). */
export function applyPatch<T>(obj: T, patch: readonly JsonPatchOp[]): T {
  const copy = structuredClone(obj) as unknown
  for (const op of patch) {
    const segments = op.path.split('/').slice(1).map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    const leaf = segments.pop()
    let parent: unknown = copy
    for (const s of segments) parent = isRecord(parent) ? parent[s] : undefined
    if (leaf === undefined || !isRecord(parent)) throw new Error(`patch path ${op.path} does not apply`)
    ;(parent as Record<string, unknown>)[leaf] = structuredClone(op.value)
  }
  return copy as T
}
