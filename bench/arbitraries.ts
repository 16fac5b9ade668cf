/**
 * @module bench/arbitraries
 * fast-check generators shared by `npm run fuzz` and test/fuzz: valid AdmissionReviews built from
 * the real request shapes (bench/bodies), structural mutations of them (wrong types, missing
 * fields, huge strings, odd versions, unicode, prototype-pollution keys), and "noise" that leaves
 * every guarded field alone, applied to requests the engine denies.
 *
 * Everything a generator returns is plain JSON: own `__proto__` keys are defined with
 * defineProperty, so they survive JSON.stringify exactly as an attacker's body would carry them.
 */
import fc from 'fast-check'
import { review, serializeOutcome, type Endpoint, type ReviewDeps, type ReviewOutcome } from '../src/admission/review.js'
import {
  admissionReview,
  CATALOG_KEYS,
  catalogObject,
  clusterObject,
  EXAMPLE_TARGET,
  kcpObject,
  mdObject,
  type Obj,
} from './bodies.js'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const { namespace: NS, cluster: CLUSTER } = EXAMPLE_TARGET
const KCP = `${CLUSTER}-control-plane`

/** Keys that reach Object.prototype (or shadow its methods) when code assigns them naively. */
export const DANGEROUS_KEYS = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf', 'toJSON', 'then', '__defineGetter__', 'isPrototypeOf'] as const

/** Annotation/label keys upgrade-guard reads: noise must never add or change these. */
export const KNOWN_KEYS: ReadonlySet<string> = new Set([
  'upgrade-guard.io/bypass',
  'upgrade-guard.io/bypass-reason',
  'upgrade-guard.io/worker-skew',
  'cpaas.io/registry-address',
  'cluster.x-k8s.io/cluster-name',
])

/** Sets an own enumerable property, even `__proto__` (plain assignment would set the prototype). */
export function defineOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

/** Deep copy through JSON text: what the server sees after JSON.parse (own `__proto__` kept). */
export function viaJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}

// ---------------------------------------------------------------------------------------------
// Leaves

export const ODD_VERSIONS = [
  '1.33.7-2', 'v1.33', 'v1', 'v', '', ' v1.33.7-2', 'v1.33.7-2\n', 'V1.33.7-2', 'v1.33.7-', 'v1.33.7--2', 'v01.033.007',
  'v1.33.7-2-3', 'v1.33.7+build.5', 'v1.33.7-rc.1', 'v1.28.100-gke.146', 'v1.35.6-acp.1', 'v1.9999999999999999999.0',
  'v-1.33.7', 'v1.-33.7', 'v１.３３.７', 'v1.33.7\u0000', 'v1.33.7\u202e', 'latest', 'v2.0.0', 'v0.0.0', 'v1.32.7.1',
  'v1e3.2.1', 'v0x1.33.7', 'v1.33.7-2'.repeat(200),
] as const

export const unicodeString = (maxLength = 24): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength })

/** 10 kB to 300 kB of one (possibly multi-byte) character. */
export const hugeString: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 10_000, max: 300_000 }), fc.constantFrom('a', 'é', '🚀', '\u0000', '"', '\\', '\u2028'))
  .map(([n, c]) => c.repeat(n))

export const versionString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...CATALOG_KEYS) },
  { weight: 3, arbitrary: fc.constantFrom(...ODD_VERSIONS) },
  { weight: 2, arbitrary: fc.stringMatching(/^v?\d{1,3}\.\d{1,3}(\.\d{1,4})?(-[0-9a-z.]{1,8})?$/) },
  { weight: 1, arbitrary: unicodeString() },
)

/** A value of the wrong type for almost any field. */
export const wrongType: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 1e308, -0, '', '0', '1', '0%', '100%', '-1%', 'NaN', [], {}, [null], { '': null }),
  fc.integer().map((n): Json => n),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n): Json => n),
  unicodeString().map((s): Json => s),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
)

/** A JSON object carrying prototype-pollution keys as OWN properties. */
export const pollutingObject: fc.Arbitrary<Json> = fc
  .tuple(fc.constantFrom(...DANGEROUS_KEYS), fc.constantFrom<Json>({ polluted: 'yes' }, { allowed: true }, { maxSurge: 0 }, { version: 'v1.32.8' }, { 'upgrade-guard.io/bypass': 'max-surge-zero,control-plane-minor-step' }, 'polluted', 1, null, [{ polluted: true }]))
  .map(([key, value]) => {
    const o = {}
    defineOwn(o, key, value)
    return o as Json
  })

export const noiseValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 6, arbitrary: wrongType },
  { weight: 2, arbitrary: pollutingObject },
  { weight: 1, arbitrary: hugeString.map((s): Json => s) },
)

export const noiseKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...DANGEROUS_KEYS) },
  { weight: 3, arbitrary: unicodeString(16) },
  { weight: 1, arbitrary: fc.stringMatching(/^x-[a-z]{1,8}(\.example\.io\/[a-z]{1,8})?$/) },
  { weight: 1, arbitrary: hugeString.map((s) => s.slice(0, 70_000)) },
)

// ---------------------------------------------------------------------------------------------
// Valid AdmissionReviews, from the real shapes

const operation = fc.constantFrom<'CREATE' | 'UPDATE' | 'DELETE'>('CREATE', 'UPDATE', 'UPDATE', 'UPDATE', 'DELETE')
const surge = fc.constantFrom<number | string>(0, 0, 1, '0%', '25%', '1', 2, -1)
const uid = fc.oneof(fc.uuid(), unicodeString(40).filter((s) => s !== ''))

function envelope(op: 'CREATE' | 'UPDATE' | 'DELETE', oldObj: Obj, newObj: Obj, u: string, dryRun: boolean, user: string): Obj {
  return admissionReview({
    uid: u,
    operation: op,
    object: op === 'DELETE' ? null : newObj,
    oldObject: op === 'CREATE' ? null : oldObj,
    dryRun,
    username: user,
  })
}

const common = fc.record({ op: operation, uid, dryRun: fc.boolean(), user: fc.constantFrom('admin', 'system:serviceaccount:capi-system:capi-manager', 'kubernetes-admin') })

export const kcpReview: fc.Arbitrary<Obj> = fc
  .record({ c: common, version: versionString, oldVersion: versionString, statusVersion: versionString, maxSurge: surge, oldSurge: surge, replicas: fc.constantFrom(1, 3, 5, 0), managedFields: fc.boolean() })
  .map(({ c, version, oldVersion, statusVersion, maxSurge, oldSurge, replicas, managedFields }) =>
    envelope(
      c.op,
      kcpObject({ namespace: NS, name: KCP, cluster: CLUSTER, version: oldVersion, statusVersion, maxSurge: oldSurge, replicas, managedFields }),
      kcpObject({ namespace: NS, name: KCP, cluster: CLUSTER, version, statusVersion, maxSurge, replicas, managedFields, patched: ['spec', 'version'] }),
      c.uid,
      c.dryRun,
      c.user,
    ),
  )

export const mdReview: fc.Arbitrary<Obj> = fc
  .record({ c: common, version: versionString, oldVersion: versionString, maxSurge: surge, maxUnavailable: fc.constantFrom<number | string>(0, 1, '0%', '50%', 2), name: fc.constantFrom('bm-workload-workers', 'bm-workload-storage', 'new-pool') })
  .map(({ c, version, oldVersion, maxSurge, maxUnavailable, name }) =>
    envelope(
      c.op,
      mdObject({ namespace: NS, name, cluster: CLUSTER, version: oldVersion }),
      mdObject({ namespace: NS, name, cluster: CLUSTER, version, maxSurge, maxUnavailable, patched: ['spec', 'template', 'spec', 'version'] }),
      c.uid,
      c.dryRun,
      c.user,
    ),
  )

export const catalogReview: fc.Arbitrary<Obj> = fc
  .record({ c: common, keys: fc.subarray([...CATALOG_KEYS]), extra: fc.array(versionString, { maxLength: 3 }) })
  .map(({ c, keys, extra }) => envelope(c.op, catalogObject(CATALOG_KEYS), catalogObject([...keys, ...extra]), c.uid, c.dryRun, c.user))

/** Kinds upgrade-guard leaves alone, and a KCP /scale. */
export const otherReview: fc.Arbitrary<Obj> = fc.record({ c: common, replicas: fc.constantFrom(1, 2, 3, 5) }).map(({ c, replicas }) => {
  const choice = replicas % 3
  if (choice === 0) return envelope(c.op, clusterObject({ namespace: NS, name: CLUSTER }), clusterObject({ namespace: NS, name: CLUSTER, skewOptIn: true }), c.uid, c.dryRun, c.user)
  const scale = (n: number): Obj => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: KCP, namespace: NS }, spec: { replicas: n }, status: { replicas: 3 } })
  const body = admissionReview({ uid: c.uid, operation: 'UPDATE', object: scale(replicas), oldObject: scale(3) })
  const req = body.request as Obj
  req.kind = { group: 'autoscaling', version: 'v1', kind: 'Scale' }
  req.resource = { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta1', resource: 'kubeadmcontrolplanes' }
  req.subResource = choice === 1 ? 'scale' : 'status'
  return body
})

export const validReview: fc.Arbitrary<Obj> = fc.oneof(kcpReview, mdReview, catalogReview, otherReview)

// ---------------------------------------------------------------------------------------------
// Structural mutations: anything goes

export type MutationOp = 'delete' | 'replace' | 'huge' | 'version' | 'ownKey' | 'root'

export interface Mutation {
  readonly at: number
  readonly op: MutationOp
  readonly key: string
  readonly value: Json
  readonly version: string
  readonly huge: string
}

export const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom<MutationOp>('delete', 'delete', 'replace', 'replace', 'replace', 'huge', 'version', 'version', 'ownKey', 'ownKey', 'root'),
  key: noiseKey,
  value: noiseValue,
  version: versionString,
  // Shared and short-lived: materialised only when the op is 'huge'.
  huge: fc.constantFrom('a', 'é', '🚀', '\u0000', '"').map((c) => c),
})

type Path = readonly (string | number)[]

/** Every path in a JSON tree (root first); containers and leaves. */
export function pathsOf(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix)
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out))
  else if (value !== null && typeof value === 'object') for (const k of Object.keys(value)) pathsOf((value as Obj)[k], [...prefix, k], out)
  return out
}

function at(root: unknown, path: Path): unknown {
  let cur: unknown = root
  for (const k of path) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[k] : undefined
  return cur
}

function setAt(root: Json, path: Path, value: Json | undefined): Json {
  if (path.length === 0) return value === undefined ? null : value
  const parent = at(root, path.slice(0, -1))
  const key = path[path.length - 1] as string | number
  if (Array.isArray(parent)) {
    if (value === undefined) parent.splice(Number(key), 1)
    else parent[Number(key)] = value
  } else if (parent !== null && typeof parent === 'object') {
    if (value === undefined) delete (parent as Obj)[key]
    else defineOwn(parent, String(key), value)
  }
  return root
}

/**
 * A private copy of a generated value: fast-check hands out the same instance of a constant more
 * than once, and inserting one instance twice (then mutating inside it) could build a cycle.
 */
const fresh = (value: Json): Json => (value !== null && typeof value === 'object' ? viaJson(value) : value)

/** Applies mutations to a copy of a review; the result is JSON (own `__proto__` keys included). */
export function applyMutations(base: Obj, mutations: readonly Mutation[]): Json {
  let root = viaJson(base) as Json
  for (const m of mutations) {
    const paths = pathsOf(root)
    const path = paths[m.at % paths.length] ?? []
    const target = at(root, path)
    switch (m.op) {
      case 'delete':
        root = setAt(root, path, path.length === 0 ? null : undefined)
        break
      case 'replace':
        root = setAt(root, path, fresh(m.value))
        break
      case 'huge':
        root = setAt(root, path, m.huge.repeat(20_000 + (m.at % 200_000)))
        break
      case 'version':
        root = setAt(root, path, m.version)
        break
      case 'ownKey':
        if (target !== null && typeof target === 'object' && !Array.isArray(target)) defineOwn(target, m.key, fresh(m.value))
        else root = setAt(root, path, fresh(m.value))
        break
      case 'root':
        root = fresh(m.value)
        break
    }
  }
  return root
}

export const mutatedReview: fc.Arbitrary<Json> = fc
  .tuple(validReview, fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([base, muts]) => applyMutations(base, muts))

/** Odd envelopes: a wrong apiVersion/kind, missing request, a non-object body. */
export const oddEnvelope: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  fc.record({ apiVersion: fc.constantFrom<Json>('admission.k8s.io/v1', 'admission.k8s.io/v1beta1', 'admission.k8s.io/v2', 'v1', null, 1), kind: fc.constantFrom<Json>('AdmissionReview', 'AdmissionResponse', '', null), request: fc.oneof(wrongType, fc.record({ uid: fc.oneof(uid.map((u): Json => u), wrongType) })) }) as fc.Arbitrary<Json>,
)

// ---------------------------------------------------------------------------------------------
// Noise that leaves every guarded field alone, on requests the engine denies

/** Requests against examples/state that the default policy denies, and the rule that denies. */
export function deniedBases(): readonly { readonly name: string; readonly rule: string; readonly review: Obj }[] {
  const kcp = (o: Partial<Parameters<typeof kcpObject>[0]>): Obj => kcpObject({ namespace: NS, name: KCP, cluster: CLUSTER, version: 'v1.32.8', statusVersion: 'v1.32.8', ...o })
  const md = (o: Partial<Parameters<typeof mdObject>[0]>): Obj => mdObject({ namespace: NS, name: 'bm-workload-workers', cluster: CLUSTER, version: 'v1.32.8', ...o })
  const u = (n: number): string => `0000000${n}-dead-4bad-8000-00000000000${n}`
  return [
    { name: 'KCP maxSurge 0 → 1', rule: 'max-surge-zero', review: admissionReview({ uid: u(1), operation: 'UPDATE', oldObject: kcp({}), object: kcp({ maxSurge: 1 }) }) },
    { name: 'KCP skips a minor', rule: 'control-plane-minor-step', review: admissionReview({ uid: u(2), operation: 'UPDATE', oldObject: kcp({}), object: kcp({ version: 'v1.34.5-3', tagsFor: 'v1.34.5-3' }) }) },
    { name: 'KCP version without v', rule: 'catalog-key', review: admissionReview({ uid: u(3), operation: 'UPDATE', oldObject: kcp({}), object: kcp({ version: '1.33.7-2', tagsFor: 'v1.33.7-2' }) }) },
    { name: 'MD ahead of control plane', rule: 'workers-follow-control-plane', review: admissionReview({ uid: u(4), operation: 'UPDATE', oldObject: md({}), object: md({ version: 'v1.33.7-2' }) }) },
    { name: 'MD CREATE maxSurge 1', rule: 'max-surge-zero', review: admissionReview({ uid: u(5), operation: 'CREATE', oldObject: null, object: md({ name: 'bm-workload-new', maxSurge: 1 }) }) },
    { name: 'catalog drops a key in use', rule: 'catalog-in-use', review: admissionReview({ uid: u(6), operation: 'UPDATE', oldObject: catalogObject(CATALOG_KEYS), object: catalogObject(CATALOG_KEYS.filter((k) => k !== 'v1.32.8')) }) },
  ]
}

export type NoiseKind = 'unknownField' | 'label' | 'annotation' | 'managedFields' | 'protoKey'

export interface Noise {
  readonly kind: NoiseKind
  readonly at: number
  readonly key: string
  readonly value: Json
  readonly text: string
}

export const noise: fc.Arbitrary<Noise> = fc.record({
  kind: fc.constantFrom<NoiseKind>('unknownField', 'unknownField', 'label', 'annotation', 'managedFields', 'protoKey', 'protoKey'),
  at: fc.nat(),
  key: noiseKey,
  value: noiseValue,
  text: fc.oneof(unicodeString(64), fc.constant('🚀 ünïcødé ‮ reversed'), hugeString.map((s) => s.slice(0, 50_000))),
})

/** Paths under which noise may go: containers of unknown fields, never the reading paths' leaves. */
const NOISE_FORBIDDEN_PARENTS = new Set(['request.userInfo', 'request.userInfo.groups'])

function objectContainers(root: Json): Path[] {
  return pathsOf(root).filter((p) => {
    const v = at(root, p)
    return v !== null && typeof v === 'object' && !Array.isArray(v) && !NOISE_FORBIDDEN_PARENTS.has(p.join('.'))
  })
}

const isKnownKey = (k: string): boolean => KNOWN_KEYS.has(k)

/**
 * Adds noise in places no rule reads: unknown fields (any object, never a key the object already
 * has), unicode labels/annotations (never one upgrade-guard reads), managedFields garbage, own
 * `__proto__`/`constructor` keys. Catalog `data` is left alone (its keys ARE the catalog).
 */
export function addNoise(base: Obj, items: readonly Noise[]): Json {
  const root = viaJson(base) as Json
  const req = (root as Obj).request as Obj
  const subjects = [req.object, req.oldObject].filter((o): o is Obj => o !== null && typeof o === 'object')
  for (const n of items) {
    const subject = subjects[n.at % subjects.length]
    if (subject === undefined) continue
    const meta = subject.metadata as Obj
    switch (n.kind) {
      case 'unknownField':
      case 'protoKey': {
        const containers = objectContainers(root).filter((p) => !(p.length >= 3 && p[p.length - 1] === 'data'))
        const parent = at(root, containers[n.at % containers.length] ?? []) as Obj
        const key = n.kind === 'protoKey' ? (['__proto__', 'constructor', 'prototype'][n.at % 3] as string) : n.key
        if (Object.hasOwn(parent, key) || isKnownKey(key)) break
        defineOwn(parent, key, fresh(n.value))
        break
      }
      case 'label':
      case 'annotation': {
        const field = n.kind === 'label' ? 'labels' : 'annotations'
        if (typeof meta[field] !== 'object' || meta[field] === null) meta[field] = {}
        const map = meta[field] as Obj
        if (Object.hasOwn(map, n.key) || isKnownKey(n.key)) break
        defineOwn(map, n.key, n.text)
        break
      }
      case 'managedFields':
        meta.managedFields = fresh(n.value)
        break
    }
  }
  return root
}

// ---------------------------------------------------------------------------------------------
// The properties, shared by the vitest suites and `npm run fuzz`

export class PropertyViolation extends Error {
  override readonly name = 'PropertyViolation'
}

function fail(message: string): never {
  throw new PropertyViolation(message)
}

const uidIn = (body: unknown): string | undefined => {
  const request = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Obj).request : undefined
  const u = request !== null && typeof request === 'object' && !Array.isArray(request) && Object.hasOwn(request, 'uid') ? (request as Obj).uid : undefined
  return typeof u === 'string' && u !== '' ? u : undefined
}

/** Checks one response body (parsed) against the AdmissionReview response contract. */
export function checkResponseBody(body: unknown, expectedUid: string): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) fail('response is not an object')
  const b = body as Obj
  if (b.apiVersion !== 'admission.k8s.io/v1' && b.apiVersion !== 'admission.k8s.io/v1beta1') fail(`apiVersion ${JSON.stringify(b.apiVersion)}`)
  if (b.kind !== 'AdmissionReview') fail(`kind ${JSON.stringify(b.kind)}`)
  const r = b.response
  if (r === null || typeof r !== 'object' || Array.isArray(r)) fail('response.response is not an object')
  const resp = r as Obj
  if (resp.uid !== expectedUid) fail(`uid not echoed: sent ${JSON.stringify(expectedUid).slice(0, 80)}, got ${JSON.stringify(resp.uid)?.slice(0, 80)}`)
  if (typeof resp.allowed !== 'boolean') fail(`allowed is ${typeof resp.allowed}`)
  if (resp.warnings !== undefined) {
    if (!Array.isArray(resp.warnings) || !resp.warnings.every((w) => typeof w === 'string' && !/[\n\t]/.test(w))) fail('warnings are not single-line strings')
  }
  if (resp.status !== undefined) {
    const s = resp.status as Obj
    if (typeof s.code !== 'number' || typeof s.message !== 'string') fail('status without numeric code / string message')
    if (/\n\s+at .+:\d+:\d+/.test(s.message)) fail('status message carries a stack trace')
  }
  if (resp.allowed === false && resp.status === undefined) fail('denied without a status')
  if (resp.patch !== undefined && (resp.patchType !== 'JSONPatch' || typeof resp.patch !== 'string' || !Array.isArray(JSON.parse(Buffer.from(resp.patch, 'base64').toString('utf8'))))) fail('patch is not base64 JSONPatch')
}

/** review() on one body: never throws, echoes the uid, answers a well-formed AdmissionReview (or 400). */
export function checkReview(body: unknown, endpoint: Endpoint, deps: ReviewDeps): ReviewOutcome {
  let outcome: ReviewOutcome
  try {
    outcome = review(body, endpoint, deps)
  } catch (e) {
    fail(`review() threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  }
  const u = uidIn(body)
  if (u === undefined) {
    if (outcome.kind !== 'error' || outcome.statusCode !== 400) fail(`no uid, yet answered ${outcome.kind}`)
    return outcome
  }
  if (outcome.kind !== 'response') fail(`uid ${JSON.stringify(u).slice(0, 60)} given, yet answered ${outcome.statusCode}: ${outcome.message}`)
  let text: string
  try {
    text = serializeOutcome(outcome)
  } catch (e) {
    fail(`serializeOutcome threw: ${String(e)}`)
  }
  checkResponseBody(JSON.parse(text), u)
  return outcome
}

/** What Object.prototype (and friends) look like now; compare before and after a run. */
export function prototypeFingerprint(): string {
  const protos: [string, object][] = [['Object', Object.prototype], ['Array', Array.prototype], ['Function', Function.prototype], ['String', String.prototype]]
  return protos.map(([n, p]) => `${n}:${Reflect.ownKeys(p).map(String).sort().join(',')}`).join('|')
}

export function checkNotPolluted(before: string): void {
  const probe = {} as Record<string, unknown>
  for (const k of ['polluted', 'allowed', 'maxSurge', 'version', 'upgrade-guard.io/bypass']) if (probe[k] !== undefined) fail(`Object.prototype polluted: ${k}`)
  if (prototypeFingerprint() !== before) fail('a built-in prototype gained or lost a property')
}

/** Noise on a denied base: still denied. */
export function checkStillDenied(base: Obj, noisy: Json, deps: ReviewDeps): void {
  const outcome = checkReview(viaJson(noisy), 'validate', deps)
  if (outcome.kind === 'response' && outcome.body.response.allowed) {
    const before = review(viaJson(base), 'validate', deps)
    fail(`noise turned a denial into an allow (base: ${before.kind === 'response' ? JSON.stringify(before.body.response.status?.message) : before.message})`)
  }
}
