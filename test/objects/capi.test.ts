/**
 * objects/capi: readGuarded and rolloutInputsOf read the fixed CAPI paths with literal property
 * reads (issue 12: per-site inline caches). These check them against the definition they replace,
 * getPath / ownField over the paths, on generated objects of every kind and API level: any step
 * may be missing, null, a string, a number, an array, or an object carrying own prototype-named
 * keys (`__proto__`, `constructor`, ...).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { API_LEVELS, CAPI_GROUP, CLUSTER_NAME_LABEL, fieldPaths, KCP_GROUP, readGuarded, rolloutInputsOf, type ApiLevel, type GuardedKind } from '../../src/objects/capi.js'
import { getPath, getString, isRecord, ownField } from '../../src/objects/unstructured.js'

/** The definition: what readGuarded read field by field with getPath before (SOURCES.md §3 layouts). */
function reference(obj: Readonly<Record<string, unknown>>, kind: GuardedKind, level: ApiLevel) {
  const paths = fieldPaths(kind, level)
  const isKcp = kind === 'KubeadmControlPlane'
  const infraRef = isKcp ? (level === 'v1beta1' ? ['spec', 'machineTemplate', 'infrastructureRef'] : ['spec', 'machineTemplate', 'spec', 'infrastructureRef']) : ['spec', 'template', 'spec', 'infrastructureRef']
  const first = isKcp ? getString(obj, ['metadata', 'labels', CLUSTER_NAME_LABEL]) : getString(obj, ['spec', 'clusterName'])
  const second = isKcp ? ownerClusterName(obj) : getString(obj, ['spec', 'template', 'spec', 'clusterName'])
  const claims: string[] = []
  if (first !== undefined && first !== '') claims.push(first)
  if (second !== undefined && second !== '' && second !== first) claims.push(second)
  const config = ['spec', 'kubeadmConfigSpec', 'clusterConfiguration']
  return {
    namespace: getString(obj, ['metadata', 'namespace']) ?? '',
    name: getString(obj, ['metadata', 'name']) ?? '',
    version: getPath(obj, paths.version),
    maxSurge: getPath(obj, paths.maxSurge),
    maxUnavailable: getPath(obj, paths.maxUnavailable),
    strategyType: getPath(obj, paths.strategyType),
    replicas: getPath(obj, paths.replicas),
    infrastructureKind: getString(obj, [...infraRef, 'kind']),
    clusterName: claims[0],
    clusterClaims: claims,
    statusVersion: isKcp ? getPath(obj, ['status', 'version']) : undefined,
    dnsImageTag: isKcp ? getPath(obj, [...config, 'dns', 'imageTag']) : undefined,
    etcdImageTag: isKcp ? getPath(obj, [...config, 'etcd', 'local', 'imageTag']) : undefined,
  }
}

function ownerClusterName(obj: unknown): string | undefined {
  const owners = getPath(obj, ['metadata', 'ownerReferences'])
  if (!Array.isArray(owners)) return undefined
  const owner: unknown = owners.find((o) => isRecord(o) && o.kind === 'Cluster' && typeof o.apiVersion === 'string' && o.apiVersion.startsWith(`${CAPI_GROUP}/`))
  return isRecord(owner) && typeof owner.name === 'string' ? owner.name : undefined
}

/** The rollout inputs by the paths, as ownField read them before. */
function referenceInputs(obj: unknown, kind: GuardedKind, level: ApiLevel): unknown[] {
  const at = (...path: string[]): unknown => path.reduce<unknown>((o, k) => ownField(o, k), obj)
  const inputs = kind === 'KubeadmControlPlane' ? [at('spec', 'version'), at('spec', 'machineTemplate'), at('spec', 'kubeadmConfigSpec')] : [at('spec', 'template')]
  return level === 'v1beta1' ? [...inputs, at('spec', 'rolloutAfter'), at('spec', 'rolloutBefore')] : [...inputs, at('spec', 'rollout', 'after'), at('spec', 'rollout', 'before')]
}

// The shape readGuarded walks, every layout at once; a leaf is any value.
type Shape = { readonly [key: string]: Shape | 'leaf' | 'owners' }
const rollingUpdate: Shape = { maxSurge: 'leaf', maxUnavailable: 'leaf' }
const strategy: Shape = { type: 'leaf', rollingUpdate }
const infrastructureRef: Shape = { kind: 'leaf', name: 'leaf' }
const SHAPE: Shape = {
  metadata: { namespace: 'leaf', name: 'leaf', labels: { [CLUSTER_NAME_LABEL]: 'leaf', other: 'leaf' }, ownerReferences: 'owners' },
  spec: {
    version: 'leaf',
    replicas: 'leaf',
    clusterName: 'leaf',
    rolloutStrategy: strategy,
    strategy,
    rollout: { strategy, after: 'leaf', before: 'leaf' },
    rolloutAfter: 'leaf',
    rolloutBefore: 'leaf',
    machineTemplate: { infrastructureRef, spec: { infrastructureRef } },
    template: { spec: { version: 'leaf', clusterName: 'leaf', infrastructureRef } },
    kubeadmConfigSpec: { clusterConfiguration: { dns: { imageTag: 'leaf' }, etcd: { local: { imageTag: 'leaf' } } } },
  },
  status: { version: 'leaf' },
}

const noise = fc.oneof(fc.constant(null), fc.string({ maxLength: 3 }), fc.integer({ min: -2, max: 5 }), fc.boolean(), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 2 }), fc.constant({}))
const leaf = fc.oneof(fc.constantFrom('v1.33.7', 'v1.34.1', '', 'c1', 'Metal3MachineTemplate', '0%', 'OnDelete'), fc.integer({ min: -1, max: 4 }), noise)
const prototypeNamed = fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 })
const owner = fc.record({ kind: fc.constantFrom('Cluster', 'Machine'), apiVersion: fc.constantFrom(`${CAPI_GROUP}/v1beta2`, 'other.io/v1', 7), name: leaf }, { requiredKeys: [] })
const owners = fc.oneof(fc.array(fc.oneof(owner, noise), { maxLength: 3 }), noise)

/** An object of the shape where any step may be missing, anything else, or carry own prototype-named keys. */
function shaped(shape: Shape): fc.Arbitrary<unknown> {
  const children: Record<string, fc.Arbitrary<unknown>> = {}
  for (const [k, v] of Object.entries(shape)) children[k] = v === 'leaf' ? leaf : v === 'owners' ? owners : shaped(v)
  const node = fc.tuple(fc.record(children, { requiredKeys: [] }), prototypeNamed).map(([own, extra]) => ({ ...extra, ...own }))
  return fc.oneof({ weight: 4, arbitrary: node }, { weight: 1, arbitrary: noise })
}

const GROUP: Readonly<Record<GuardedKind, string>> = { KubeadmControlPlane: KCP_GROUP, MachineDeployment: CAPI_GROUP }

describe.each((['KubeadmControlPlane', 'MachineDeployment'] as const).flatMap((kind) => API_LEVELS.map((level) => ({ kind, level }))))('$kind $level', ({ kind, level }) => {
  const object = shaped(SHAPE).map((body) => JSON.parse(JSON.stringify({ ...(isRecord(body) ? body : {}), apiVersion: `${GROUP[kind]}/${level}`, kind })) as Record<string, unknown>)

  it('readGuarded reads what getPath over the layout paths reads', () => {
    fc.assert(
      fc.property(object, (obj) => {
        const read = readGuarded(obj)
        if (!read.ok) throw new Error(read.reason)
        const { kind: k, level: l, paths, raw, ...fields } = read.object
        expect({ k, l, paths, raw }).toEqual({ k: kind, l: level, paths: fieldPaths(kind, level), raw: obj })
        expect(fields).toStrictEqual(reference(obj, kind, level))
      }),
      { numRuns: 1500 },
    )
  })

  it('rolloutInputsOf reads what ownField step by step reads', () => {
    fc.assert(
      fc.property(object, (obj) => {
        const read = readGuarded(obj)
        if (!read.ok) throw new Error(read.reason)
        expect(rolloutInputsOf(read.object)).toStrictEqual(referenceInputs(obj, kind, level))
      }),
      { numRuns: 500 },
    )
  })
})
