/**
 * @module test/deploy/kustomize
 * Renders a kustomization folder (`manifests/base`, `manifests/overlays/*`) to plain objects.
 *
 * With `kubectl` on the PATH the real thing renders (`kubectl kustomize DIR`). Without it, a
 * small built-in renderer does, and it knows only the kustomize features these manifests use:
 * `resources` (files and folders), `components` (`kind: Component` folders, applied after the
 * resources and before the generators, as kustomize does), `configMapGenerator` /
 * `secretGenerator` (files, no name hash), JSON 6902 `patches` with a `target`, and
 * `replacements` (field paths with `*`, `[key=value]` and `\.`, option `create`). Anything else in a kustomization.yaml makes it
 * throw rather than render something different from kustomize. A test renders every folder
 * both ways and compares, so the two cannot drift apart unnoticed where kubectl exists.
 *
 * UG_DEPLOY_RENDERER=builtin forces the built-in renderer.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'

export type Obj = Record<string, any>

export type Renderer = 'kubectl' | 'builtin'

export interface Rendered {
  readonly objects: Obj[]
  readonly renderer: Renderer
}

let kubectlChecked: string | null | undefined

/** `kubectl` when it is on the PATH and has the kustomize subcommand; undefined otherwise. */
export function kubectlWithKustomize(): string | undefined {
  if (kubectlChecked === undefined) {
    try {
      execFileSync('kubectl', ['kustomize', '--help'], { stdio: 'ignore', timeout: 20_000 })
      kubectlChecked = 'kubectl'
    } catch {
      kubectlChecked = null
    }
  }
  return kubectlChecked ?? undefined
}

/** Parses a multi-document YAML text; empty documents are dropped; a YAML error throws. */
export function parseDocs(text: string, source: string): Obj[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]?.message}`)
    const value: unknown = doc.toJS()
    if (value === null || value === undefined) return []
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${source}: a document is not an object`)
    return [value as Obj]
  })
}

export function renderWithKubectl(dir: string): Obj[] {
  const kubectl = kubectlWithKustomize()
  if (kubectl === undefined) throw new Error('kubectl with kustomize is not available')
  const out = execFileSync(kubectl, ['kustomize', dir], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] })
  return parseDocs(out, `kubectl kustomize ${dir}`)
}

export function render(dir: string): Rendered {
  if (process.env.UG_DEPLOY_RENDERER !== 'builtin' && kubectlWithKustomize() !== undefined) {
    return { objects: renderWithKubectl(dir), renderer: 'kubectl' }
  }
  return { objects: renderBuiltin(dir), renderer: 'builtin' }
}

/* ---------------------------------------------------------------- built-in renderer */

const SUPPORTED_KEYS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'components',
  'configMapGenerator',
  'secretGenerator',
  'generatorOptions',
  'patches',
  'replacements',
])

export function renderBuiltin(dir: string): Obj[] {
  const { k, file } = readKustomization(dir, 'Kustomization')
  const objects: Obj[] = []
  accumulate(objects, k, dir, file)

  const seen = new Set<string>()
  for (const obj of objects) {
    const id = objectId(obj)
    if (seen.has(id)) throw new Error(`${file}: ${id} appears twice`)
    seen.add(id)
  }
  return objects
}

const API_VERSIONS: Readonly<Record<string, string>> = {
  Kustomization: 'kustomize.config.k8s.io/v1beta1',
  Component: 'kustomize.config.k8s.io/v1alpha1',
}

function readKustomization(dir: string, kind: 'Kustomization' | 'Component'): { k: Obj; file: string } {
  const file = join(dir, 'kustomization.yaml')
  const [k] = parseDocs(readFileSync(file, 'utf8'), file)
  if (k === undefined) throw new Error(`${file}: empty`)
  for (const key of Object.keys(k)) {
    if (!SUPPORTED_KEYS.has(key)) throw new Error(`${file}: the built-in renderer does not support "${key}"`)
  }
  if (k.kind !== kind) throw new Error(`${file}: kind is ${String(k.kind)}, expected ${kind}`)
  if (k.apiVersion !== API_VERSIONS[kind]) throw new Error(`${file}: apiVersion of a ${kind} is ${API_VERSIONS[kind]}, not ${String(k.apiVersion)}`)
  return { k, file }
}

/**
 * kustomize's order (kusttarget AccumulateTarget): resources, then components (each one's own
 * resources, generators and patches work on everything accumulated so far), then this
 * kustomization's generators, patches and replacements.
 */
function accumulate(objects: Obj[], k: Obj, dir: string, file: string): void {
  for (const entry of (k.resources ?? []) as string[]) {
    const path = resolve(dir, entry)
    if (statSync(path).isDirectory()) objects.push(...renderBuiltin(path))
    else objects.push(...parseDocs(readFileSync(path, 'utf8'), path))
  }
  for (const entry of (k.components ?? []) as string[]) {
    const path = resolve(dir, entry)
    const component = readKustomization(path, 'Component')
    accumulate(objects, component.k, path, component.file)
  }
  for (const gen of (k.configMapGenerator ?? []) as Obj[]) objects.push(generate('ConfigMap', gen, dir, k.generatorOptions, file))
  for (const gen of (k.secretGenerator ?? []) as Obj[]) objects.push(generate('Secret', gen, dir, k.generatorOptions, file))
  for (const patch of (k.patches ?? []) as Obj[]) applyPatch(objects, patch, dir, file)
  for (const repl of (k.replacements ?? []) as Obj[]) applyReplacement(objects, repl, file)
}

export const objectId = (obj: Obj): string =>
  `${String(obj.apiVersion)}/${String(obj.kind)}/${String(obj.metadata?.namespace ?? '')}/${String(obj.metadata?.name)}`

/** kustomize's base64 for generated Secret data: lines of 70, each ended by "\n" once there are several. */
export function kustomizeBase64(bytes: Buffer): string {
  const enc = bytes.toString('base64')
  if (enc.length < 70) return enc
  let out = ''
  for (let i = 0; i < enc.length; i += 70) out += `${enc.slice(i, i + 70)}\n`
  return out
}

function generate(kind: 'ConfigMap' | 'Secret', gen: Obj, dir: string, globalOptions: Obj | undefined, file: string): Obj {
  const known = new Set(['name', 'namespace', 'files', 'type', 'options'])
  for (const key of Object.keys(gen)) {
    if (!known.has(key)) throw new Error(`${file}: generator field "${key}" is not supported by the built-in renderer`)
  }
  const options: Obj = { ...(globalOptions ?? {}), ...(gen.options ?? {}) }
  for (const key of Object.keys(options)) {
    if (key !== 'disableNameSuffixHash' && key !== 'labels') throw new Error(`${file}: generator option "${key}" is not supported`)
  }
  if (options.disableNameSuffixHash !== true) throw new Error(`${file}: ${String(gen.name)}: name hashes are not supported by the built-in renderer`)
  const data: Record<string, string> = {}
  for (const spec of (gen.files ?? []) as string[]) {
    const eq = spec.indexOf('=')
    const key = eq >= 0 ? spec.slice(0, eq) : basename(spec)
    const path = resolve(dir, eq >= 0 ? spec.slice(eq + 1) : spec)
    const bytes = readFileSync(path)
    data[key] = kind === 'Secret' ? kustomizeBase64(bytes) : bytes.toString('utf8')
  }
  const metadata: Obj = { name: gen.name }
  if (gen.namespace !== undefined) metadata.namespace = gen.namespace
  if (options.labels !== undefined) metadata.labels = { ...options.labels }
  const obj: Obj = { apiVersion: 'v1', kind, metadata, data }
  if (kind === 'Secret') obj.type = gen.type ?? 'Opaque'
  return obj
}

/* JSON 6902 patches */

function matchesTarget(obj: Obj, target: Obj): boolean {
  const [group, version] = String(obj.apiVersion).includes('/') ? String(obj.apiVersion).split('/') : ['', String(obj.apiVersion)]
  if (target.group !== undefined && target.group !== group) return false
  if (target.version !== undefined && target.version !== version) return false
  if (target.kind !== undefined && target.kind !== obj.kind) return false
  if (target.name !== undefined && target.name !== obj.metadata?.name) return false
  if (target.namespace !== undefined && target.namespace !== obj.metadata?.namespace) return false
  for (const key of Object.keys(target)) {
    if (!['group', 'version', 'kind', 'name', 'namespace'].includes(key)) throw new Error(`patch target field "${key}" is not supported`)
  }
  return true
}

function applyPatch(objects: Obj[], patch: Obj, dir: string, file: string): void {
  if (patch.target === undefined) throw new Error(`${file}: a patch without target is not supported by the built-in renderer`)
  const text: string = patch.path !== undefined ? readFileSync(resolve(dir, String(patch.path)), 'utf8') : String(patch.patch)
  const ops: unknown = parse(text)
  if (!Array.isArray(ops)) throw new Error(`${file}: only JSON 6902 patches (a list of operations) are supported`)
  const targets = objects.filter((o) => matchesTarget(o, patch.target as Obj))
  if (targets.length === 0) throw new Error(`${file}: patch target ${JSON.stringify(patch.target)} matches nothing`)
  for (const obj of targets) for (const op of ops as Obj[]) applyOperation(obj, op, file)
}

function pointer(path: string): string[] {
  if (!path.startsWith('/')) throw new Error(`bad JSON pointer ${path}`)
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function applyOperation(doc: Obj, op: Obj, file: string): void {
  const parts = pointer(String(op.path))
  const last = parts.pop() as string
  let parent: unknown = doc
  for (const part of parts) {
    parent = Array.isArray(parent) ? parent[Number(part)] : (parent as Obj | undefined)?.[part]
    if (parent === undefined || parent === null || typeof parent !== 'object') throw new Error(`${file}: ${String(op.op)} ${String(op.path)}: parent missing`)
  }
  const value = structuredClone(op.value)
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last)
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new Error(`${file}: ${String(op.path)}: bad index`)
    if (op.op === 'add') parent.splice(index, 0, value)
    else if (op.op === 'replace' && index < parent.length) parent[index] = value
    else if (op.op === 'remove' && index < parent.length) parent.splice(index, 1)
    else throw new Error(`${file}: ${String(op.op)} ${String(op.path)} is not supported`)
    return
  }
  const map = parent as Obj
  if (op.op === 'add') map[last] = value
  else if (op.op === 'replace' && last in map) map[last] = value
  else if (op.op === 'remove' && last in map) delete map[last]
  else throw new Error(`${file}: ${String(op.op)} ${String(op.path)} is not supported or the field is missing`)
}

/* replacements */

/** kustomize's SmarterPathSplitter: split on ".", keep "\." and "[k=v.w]" together. */
export function splitFieldPath(path: string): string[] {
  const raw = path.split('.')
  const escaped: string[] = []
  for (const piece of raw) {
    const prev = escaped.length - 1
    if (prev >= 0 && escaped[prev]?.endsWith('\\')) escaped[prev] = `${escaped[prev]?.slice(0, -1)}.${piece}`
    else escaped.push(piece)
  }
  const out: string[] = []
  for (let i = 0; i < escaped.length; i++) {
    let elem = escaped[i] as string
    if (elem.startsWith('[') && !elem.endsWith(']')) {
      while (i < escaped.length - 1 && !elem.endsWith(']')) elem = `${elem}.${escaped[++i]}`
    }
    out.push(elem.startsWith('[') && elem.endsWith(']') && !elem.includes('=') ? elem.slice(1, -1) : elem)
  }
  return out
}

/** Every node a field path reaches; with `create`, missing map fields on the way are made. */
function walk(node: unknown, parts: readonly string[], create: boolean, visit: (parent: Obj, key: string) => void): void {
  const [head, ...rest] = parts
  if (head === undefined) return
  if (head === '*') {
    if (!Array.isArray(node)) return
    for (const item of node) walkInto(item, rest, create, visit)
    return
  }
  const selector = /^\[([^=]+)=(.*)\]$/.exec(head)
  if (selector !== null) {
    if (!Array.isArray(node)) return
    for (const item of node) if ((item as Obj | null)?.[selector[1] as string] === selector[2]) walkInto(item, rest, create, visit)
    return
  }
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return
  const map = node as Obj
  if (rest.length === 0) {
    if (head in map || create) visit(map, head)
    return
  }
  if (!(head in map) && create) map[head] = {}
  walkInto(map[head], rest, create, visit)
}

function walkInto(node: unknown, parts: readonly string[], create: boolean, visit: (parent: Obj, key: string) => void): void {
  if (parts.length === 0) return
  walk(node, parts, create, visit)
}

function applyReplacement(objects: Obj[], repl: Obj, file: string): void {
  const source = repl.source as Obj
  const from = objects.filter((o) => o.kind === source.kind && (source.name === undefined || o.metadata?.name === source.name))
  if (from.length !== 1) throw new Error(`${file}: replacement source ${JSON.stringify(source)} matches ${from.length} objects`)
  let value: unknown
  walk(from[0], splitFieldPath(String(source.fieldPath ?? 'metadata.name')), false, (parent, key) => {
    value = parent[key]
  })
  if (value === undefined) throw new Error(`${file}: replacement source field ${String(source.fieldPath)} not found`)
  for (const target of (repl.targets ?? []) as Obj[]) {
    const select = target.select as Obj
    const create = target.options?.create === true
    for (const obj of objects.filter((o) => o.kind === select.kind && (select.name === undefined || o.metadata?.name === select.name))) {
      for (const fieldPath of (target.fieldPaths ?? []) as string[]) {
        walk(obj, splitFieldPath(fieldPath), create, (parent, key) => {
          parent[key] = structuredClone(value)
        })
      }
    }
  }
}
