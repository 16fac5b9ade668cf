/**
 * @module bench/generate-state
 * Generates a big cluster-state folder (default 1,000 Clusters, 1,000 KCPs, 5,000 MDs and the
 * catalog) as `kubectl get <kind> -A -o yaml` prints it (one `kind: List` file per kind, no
 * managedFields), and a folder of proposed manifests for `upgrade-guard validate`.
 *
 * Usage: node dist-bench/bench/generate-state.js <dir> [clusters] [mdsPerCluster]
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { CATALOG_KEYS, catalogObject, clusterObject, kcpObject, mdObject, nextMinorKey, uidOf, type ClusterTarget, type Obj } from './bodies.js'

export interface StateShape {
  readonly clusters: number
  readonly mdsPerCluster: number
  /** Spread the clusters over this many namespaces. */
  readonly namespaces: number
}

export const BIG_STATE: StateShape = { clusters: 1000, mdsPerCluster: 5, namespaces: 50 }

/** Running versions, rotated over the clusters (every key a catalog key). */
const RUNNING = ['v1.32.8', 'v1.33.7-2', 'v1.33.7-3', 'v1.34.5-3'] as const

export interface GeneratedCluster extends ClusterTarget {
  readonly mds: readonly { readonly name: string; readonly version: string }[]
}

/** The deterministic layout of the generated state: cluster i, its KCP and its pools. */
export function clusterLayout(shape: StateShape = BIG_STATE): GeneratedCluster[] {
  const out: GeneratedCluster[] = []
  for (let i = 0; i < shape.clusters; i++) {
    const namespace = `tenant-${String(i % shape.namespaces).padStart(2, '0')}`
    const cluster = `bm-${String(i).padStart(4, '0')}`
    const kcpVersion = RUNNING[i % RUNNING.length] ?? 'v1.32.8'
    // Workers on the control plane's version, except every third pool one minor behind (skew 1).
    const behind = CATALOG_KEYS.filter((k) => Number(k.split('.')[1]) === Number(kcpVersion.split('.')[1]) - 1).at(-1)
    const mds = Array.from({ length: shape.mdsPerCluster }, (_, j) => ({
      name: `${cluster}-pool-${j}`,
      version: j % 3 === 2 && behind !== undefined ? behind : kcpVersion,
    }))
    const first = mds[0] ?? { name: `${cluster}-pool-0`, version: kcpVersion }
    out.push({ namespace, cluster, kcpVersion, mdName: first.name, mdVersion: first.version, mds })
  }
  return out
}

/** kubectl never writes anchors/aliases: shared sub-objects are written out in full. */
const YAML_OPTIONS = { lineWidth: 0, aliasDuplicateObjects: false } as const
const toYaml = (value: unknown): string => stringify(value, YAML_OPTIONS)
const list = (items: readonly Obj[]): string => toYaml({ apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } })

export interface GeneratedState {
  readonly dir: string
  readonly layout: readonly GeneratedCluster[]
  readonly counts: { readonly clusters: number; readonly controlPlanes: number; readonly machineDeployments: number }
  readonly bytes: number
}

/**
 * Writes clusters.yaml, control-planes.yaml, machine-deployments.yaml and catalog.yaml into dir;
 * with jsonDir, also the same lists as JSON (what a list call of the API server returns).
 */
export function generateState(dir: string, shape: StateShape = BIG_STATE, jsonDir?: string): GeneratedState {
  mkdirSync(dir, { recursive: true })
  const layout = clusterLayout(shape)
  const clusters: Obj[] = []
  const kcps: Obj[] = []
  const mds: Obj[] = []
  let n = 0
  for (const c of layout) {
    clusters.push(clusterObject({ namespace: c.namespace, name: c.cluster, skewOptIn: n % 10 === 0, uid: uidOf(++n, 0xc1) }))
    kcps.push(kcpObject({ namespace: c.namespace, name: `${c.cluster}-control-plane`, cluster: c.cluster, version: c.kcpVersion, statusVersion: c.kcpVersion, uid: uidOf(++n, 0xc2), managedFields: false }))
    for (const md of c.mds) mds.push(mdObject({ namespace: c.namespace, name: md.name, cluster: c.cluster, version: md.version, uid: uidOf(++n, 0xc3), managedFields: false }))
  }
  const files: [string, string][] = [
    ['catalog.yaml', toYaml(catalogObject(CATALOG_KEYS, { managedFields: false }))],
    ['clusters.yaml', list(clusters)],
    ['control-planes.yaml', list(kcps)],
    ['machine-deployments.yaml', list(mds)],
  ]
  let bytes = 0
  for (const [name, text] of files) {
    writeFileSync(join(dir, name), text)
    bytes += Buffer.byteLength(text)
  }
  if (jsonDir !== undefined) {
    mkdirSync(jsonDir, { recursive: true })
    const catalog = catalogObject(CATALOG_KEYS, { managedFields: false })
    const lists: [string, readonly Obj[]][] = [['catalog.json', [catalog]], ['clusters.json', clusters], ['control-planes.json', kcps], ['machine-deployments.json', mds]]
    for (const [name, items] of lists) writeFileSync(join(jsonDir, name), JSON.stringify({ apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } }))
  }
  return { dir, layout, counts: { clusters: clusters.length, controlPlanes: kcps.length, machineDeployments: mds.length }, bytes }
}

/**
 * Writes `count` proposed manifests (one file each, as a CI repository holds them): alternately a
 * KCP asking for the next minor and a pool of the same cluster with maxUnavailable raised to 2.
 * Returns how many of each.
 */
export function generateProposed(dir: string, layout: readonly GeneratedCluster[], count = 1000): { readonly files: number; readonly bytes: number } {
  mkdirSync(dir, { recursive: true })
  let bytes = 0
  for (let i = 0; i < count; i++) {
    const c = layout[Math.floor(i / 2) % layout.length]
    if (c === undefined) break
    const obj =
      i % 2 === 0
        ? kcpObject({ namespace: c.namespace, name: `${c.cluster}-control-plane`, cluster: c.cluster, version: nextMinorKey(c.kcpVersion) ?? c.kcpVersion, statusVersion: c.kcpVersion, tagsFor: nextMinorKey(c.kcpVersion) ?? c.kcpVersion, managedFields: false })
        : mdObject({ namespace: c.namespace, name: c.mdName, cluster: c.cluster, version: c.mdVersion, maxUnavailable: 2, managedFields: false })
    const meta = obj.metadata as Obj
    // A proposed manifest carries neither server fields nor status.
    for (const k of ['creationTimestamp', 'generation', 'resourceVersion', 'uid']) delete meta[k]
    delete obj.status
    const text = toYaml(obj)
    writeFileSync(join(dir, `${String(i).padStart(4, '0')}-${String(meta.name)}.yaml`), text)
    bytes += Buffer.byteLength(text)
  }
  return { files: Math.min(count, layout.length * 2), bytes }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [dir, clusters, mdsPerCluster] = process.argv.slice(2)
  if (dir === undefined) {
    process.stderr.write('usage: node dist-bench/bench/generate-state.js <dir> [clusters] [mdsPerCluster]\n')
    process.exit(2)
  }
  const shape: StateShape = { ...BIG_STATE, ...(clusters ? { clusters: Number(clusters) } : {}), ...(mdsPerCluster ? { mdsPerCluster: Number(mdsPerCluster) } : {}) }
  const g = generateState(dir, shape)
  process.stdout.write(`${JSON.stringify({ dir: g.dir, counts: g.counts, bytes: g.bytes })}\n`)
}
