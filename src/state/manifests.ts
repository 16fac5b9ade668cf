/**
 * @module state/manifests
 * Reads Kubernetes manifests exactly as `kubectl get … -o yaml` prints them: YAML or JSON files,
 * multi-document streams, `kind: List` (and `*List`) wrappers, whole folders (sorted, recursive).
 * Manifests to validate keep their YAML source, so CI output can point at the line of an offending
 * field; state snapshots (which can be megabytes: every KCP and MD of a fleet) take a fast path
 * without it: JSON.parse for .json, js-yaml for YAML — several times faster and a fraction of the
 * memory of the `yaml` Document API, which a 16 MiB snapshot pushed past 600 MiB RSS.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { CORE_SCHEMA, load, loadAll, type LoadOptions } from 'js-yaml'
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml'
import { UpgradeGuardError } from '../errors.js'
import { isRecord } from '../objects/unstructured.js'
import { listLayout } from './list-items.js'

export interface ManifestEntry {
  readonly file: string
  /** 1-based document number within the file. */
  readonly doc: number
  /** 1-based line where the object starts. */
  readonly line: number
  readonly object: Readonly<Record<string, unknown>>
  /** Line of a field (dotted path segments), for annotations; falls back to the object's line. */
  lineOf(path: readonly (string | number)[]): number
}

const MANIFEST_EXTENSIONS = /\.(ya?ml|json)$/i

/** Expands files and folders into a sorted list of manifest files. */
export function listManifestFiles(paths: readonly string[]): string[] {
  const out: string[] = []
  for (const p of paths) {
    let st
    try {
      st = statSync(p)
    } catch (e) {
      throw new UpgradeGuardError('UG_ERR_STATE_READ', `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file: p, cause: e })
    }
    if (st.isDirectory()) {
      const children = readdirSync(p).sort().map((c) => join(p, c))
      out.push(...listManifestFiles(children.filter((c) => statSync(c).isDirectory() || MANIFEST_EXTENSIONS.test(c))))
    } else {
      out.push(p)
    }
  }
  return out
}

export function readManifestFile(file: string, errorCode: 'UG_ERR_STATE_INVALID' | 'UG_ERR_INPUT' = 'UG_ERR_STATE_INVALID'): ManifestEntry[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new UpgradeGuardError(errorCode, `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file, cause: e })
  }
  return parseManifests(text, file, errorCode)
}

export function parseManifests(text: string, file: string, errorCode: 'UG_ERR_STATE_INVALID' | 'UG_ERR_INPUT' = 'UG_ERR_STATE_INVALID'): ManifestEntry[] {
  const lineCounter = new LineCounter()
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false })
  if (!Array.isArray(docs)) return [] // an empty stream
  const entries: ManifestEntry[] = []
  docs.forEach((document, index) => {
    const doc = index + 1
    const error = document.errors[0]
    if (error !== undefined) {
      const pos = error.linePos?.[0]
      throw new UpgradeGuardError(errorCode, `document ${doc}${pos ? ` line ${pos.line}` : ''}: not valid YAML: ${error.message.split('\n')[0]}`, { file })
    }
    const value: unknown = document.toJS({ maxAliasCount: 100 })
    if (value === null || value === undefined) return // empty document (`---` at the end)
    for (const { prefix, object } of documentObjects(file, doc, value, errorCode)) entries.push(makeEntry(file, doc, document, lineCounter, prefix, object))
  })
  return entries
}

export interface StateObject {
  readonly file: string
  readonly doc: number
  readonly object: Readonly<Record<string, unknown>>
}

/** A state snapshot's objects, without source positions (the fast path). */
export function parseStateObjects(text: string, file: string): StateObject[] {
  let docs: unknown[]
  try {
    docs = /\.json$/i.test(file) ? [JSON.parse(text) as unknown] : loadAll(text, undefined, { schema: CORE_SCHEMA, filename: file })
  } catch (e) {
    const reason = e instanceof Error ? e.message.split('\n')[0] : String(e)
    throw new UpgradeGuardError('UG_ERR_STATE_INVALID', `not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${reason}`, { file, cause: e })
  }
  const out: StateObject[] = []
  docs.forEach((value, index) => {
    if (value === null || value === undefined) return
    for (const { object } of documentObjects(file, index + 1, value, 'UG_ERR_STATE_INVALID')) out.push({ file, doc: index + 1, object })
  })
  return out
}

/** Every object of a state snapshot below the given paths, one file at a time. */
export function readStateObjects(paths: readonly string[]): StateObject[] {
  return listManifestFiles(paths).flatMap((file) => readStateFile(file))
}

/** The objects of one state file (for callers that take them a file at a time). */
export function readStateFile(file: string): StateObject[] {
  return parseStateObjects(readStateText(file), file)
}

function readStateText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (e) {
    throw new UpgradeGuardError('UG_ERR_STATE_READ', `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file, cause: e })
  }
}

/** js-yaml's default nesting limit; an entry read alone sits one level higher than in its List. */
const MAX_DEPTH = 100

/**
 * Passes the objects of one state file to `each`, in order: the same objects, and the same
 * errors, as readStateFile. A `kind: List` YAML file whose layout is certain (state/list-items)
 * is parsed one entry at a time, so its objects need not all be alive at once (the 11 MiB
 * MachineDeployment list of a fleet would be one tree of some hundred MiB).
 *
 * Returns false when an entry read alone failed after `each` had been given earlier ones (an
 * alias to an anchor in another entry, a scalar left open across entries, a YAML error or a
 * bad object further down): the caller must drop what it got and call again with `whole`,
 * which reads the file as one document and so yields exactly readStateFile's objects or error.
 */
export function forEachStateObject(file: string, each: (object: StateObject) => void, whole = false): boolean {
  const text = readStateText(file)
  const layout = whole || /\.json$/i.test(file) ? undefined : listLayout(text)
  if (layout !== undefined && isEmptyList(layout.skeleton, file)) {
    const { bounds } = layout
    let i = 0
    for (; i + 1 < bounds.length; i++) {
      const object = listEntry(text.slice(bounds[i], bounds[i + 1]), file)
      if (object === undefined) break
      each({ file, doc: 1, object })
    }
    if (i + 1 === bounds.length) return true
    if (i > 0) return false
    // The first entry failed, nothing given yet: read the file whole right here.
  }
  for (const object of parseStateObjects(text, file)) each(object)
  return true
}

/** The skeleton of a cut List (its entries replaced by `[]`) parses to a List with no items. */
function isEmptyList(skeleton: string, file: string): boolean {
  let value: unknown
  try {
    value = load(skeleton, { schema: CORE_SCHEMA, filename: file })
  } catch {
    return false
  }
  return isRecord(value) && isListKind(value) && Array.isArray(value.items) && value.items.length === 0
}

/** One entry of a cut List, read alone: the object, or undefined if it is not one valid object. */
function listEntry(text: string, file: string): Readonly<Record<string, unknown>> | undefined {
  let value: unknown
  try {
    // `maxDepth` (js-yaml 4.3) is not in @types/js-yaml yet.
    const options: LoadOptions & { readonly maxDepth: number } = { schema: CORE_SCHEMA, filename: file, maxDepth: MAX_DEPTH - 1 }
    value = load(text, options)
  } catch {
    return undefined
  }
  if (!Array.isArray(value) || value.length !== 1) return undefined
  const object: unknown = value[0]
  return isRecord(object) && objectProblem(object) === undefined ? object : undefined
}

function isListKind(value: Readonly<Record<string, unknown>>): boolean {
  return typeof value.kind === 'string' && value.kind.endsWith('List') && 'items' in value
}

type ErrorCode = 'UG_ERR_STATE_INVALID' | 'UG_ERR_INPUT'

/** What keeps a value from being a Kubernetes object (apiVersion, kind and metadata.name), if anything. */
function objectProblem(value: unknown): { readonly field?: string; readonly message: string } | undefined {
  if (!isRecord(value)) return { message: 'expected a Kubernetes object' }
  for (const field of ['apiVersion', 'kind'] as const) {
    if (typeof value[field] !== 'string' || value[field] === '') return { field, message: `${field}: is required (a string)` }
  }
  const name = isRecord(value.metadata) ? value.metadata.name : undefined
  if (typeof name !== 'string' || name === '') return { field: 'metadata.name', message: 'metadata.name: is required (a string)' }
  return undefined
}

/** Checks one object of a document: a Kubernetes object with apiVersion, kind and metadata.name. */
function checkObject(file: string, doc: number, prefix: readonly (string | number)[], value: unknown, errorCode: ErrorCode): Readonly<Record<string, unknown>> {
  const problem = objectProblem(value)
  if (problem === undefined) return value as Readonly<Record<string, unknown>>
  const where = prefix.length === 0 ? `document ${doc}` : `document ${doc} ${prefix.join('[')}]`
  throw new UpgradeGuardError(errorCode, `${where}: ${problem.message}`, problem.field === undefined ? { file } : { file, field: problem.field })
}

/** The objects of one parsed document: itself, or the items of a `kind: List`, each checked. */
function documentObjects(file: string, doc: number, value: unknown, errorCode: ErrorCode): { readonly prefix: readonly (string | number)[]; readonly object: Readonly<Record<string, unknown>> }[] {
  if (!isRecord(value)) throw new UpgradeGuardError(errorCode, `document ${doc}: expected a Kubernetes object, got ${Array.isArray(value) ? 'a list' : typeof value}`, { file })
  if (!isListKind(value)) return [{ prefix: [], object: checkObject(file, doc, [], value, errorCode) }]
  if (!Array.isArray(value.items)) throw new UpgradeGuardError(errorCode, `document ${doc}: items: expected a list`, { file })
  return value.items.map((item: unknown, i: number) => ({ prefix: ['items', i], object: checkObject(file, doc, ['items', i], item, errorCode) }))
}

function makeEntry(file: string, doc: number, document: Document, lineCounter: LineCounter, prefix: readonly (string | number)[], value: Readonly<Record<string, unknown>>): ManifestEntry {
  const lineAt = (path: readonly (string | number)[]): number | undefined => {
    const node = document.getIn([...prefix, ...path], true)
    const range = isScalar(node) || isMap(node) || isSeq(node) ? node.range : undefined
    return range ? lineCounter.linePos(range[0]).line : undefined
  }
  const line = lineAt(['apiVersion']) ?? lineAt([]) ?? 1
  return {
    file,
    doc,
    line,
    object: value,
    lineOf(path) {
      // Walk up until some ancestor exists: a missing field points at its parent.
      for (let n = path.length; n >= 0; n--) {
        const l = lineAt(path.slice(0, n))
        if (l !== undefined) return l
      }
      return line
    },
  }
}

/** Reads every manifest below the given paths. */
export function readManifests(paths: readonly string[], errorCode: 'UG_ERR_STATE_INVALID' | 'UG_ERR_INPUT' = 'UG_ERR_STATE_INVALID'): ManifestEntry[] {
  return listManifestFiles(paths).flatMap((f) => readManifestFile(f, errorCode))
}
