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
import { CORE_SCHEMA, loadAll } from 'js-yaml'
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml'
import { UpgradeGuardError } from '../errors.js'
import { isRecord } from '../objects/unstructured.js'

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
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new UpgradeGuardError('UG_ERR_STATE_READ', `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file, cause: e })
  }
  return parseStateObjects(text, file)
}

function isListKind(value: Readonly<Record<string, unknown>>): boolean {
  return typeof value.kind === 'string' && value.kind.endsWith('List') && 'items' in value
}

type ErrorCode = 'UG_ERR_STATE_INVALID' | 'UG_ERR_INPUT'

/** Checks one object of a document: a Kubernetes object with apiVersion, kind and metadata.name. */
function checkObject(file: string, doc: number, prefix: readonly (string | number)[], value: unknown, errorCode: ErrorCode): Readonly<Record<string, unknown>> {
  const where = prefix.length === 0 ? `document ${doc}` : `document ${doc} ${prefix.join('[')}]`
  if (!isRecord(value)) throw new UpgradeGuardError(errorCode, `${where}: expected a Kubernetes object`, { file })
  for (const field of ['apiVersion', 'kind'] as const) {
    if (typeof value[field] !== 'string' || value[field] === '') throw new UpgradeGuardError(errorCode, `${where}: ${field}: is required (a string)`, { file, field })
  }
  const name = isRecord(value.metadata) ? value.metadata.name : undefined
  if (typeof name !== 'string' || name === '') throw new UpgradeGuardError(errorCode, `${where}: metadata.name: is required (a string)`, { file, field: 'metadata.name' })
  return value
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
