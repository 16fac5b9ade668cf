/**
 * @module plan/draft
 * The planner's building blocks: a version a step sets (concrete, or a placeholder for an unknown
 * patch), a step before it is numbered, and merge-patch bodies applied to the objects as the
 * steps leave them.
 */
import type { GuardedObject } from '../objects/capi.js'
import { isRecord, type Unstructured } from '../objects/unstructured.js'
import type { Version } from '../versions/version.js'
import type { PlanStep, StepKind } from './types.js'

/** A version the plan sets: concrete, or a placeholder for an unknown patch of a known minor. */
export interface Target {
  readonly text: string
  readonly major: number
  readonly minor: number
  readonly version: Version | undefined
}

export const concrete = (v: Version): Target => ({ text: v.raw, major: v.major, minor: v.minor, version: v })
export const placeholderVersion = (major: number, minor: number): Target => ({ text: `v${major}.${minor}.<patch>`, major, minor, version: undefined })

/** Stand-ins for placeholders when the plan is replayed: valid values with the same meaning. */
export const standInVersion = (t: Target): string => `v${t.major}.${t.minor}.0`

export type Draft = Omit<PlanStep, 'number'>

export function draft(kind: StepKind, title: string, parts: Partial<Omit<Draft, 'kind' | 'title'>> = {}): Draft {
  return { kind, title, commands: parts.commands ?? [], notes: parts.notes ?? [], objects: parts.objects ?? [], waitFor: parts.waitFor ?? [], placeholders: parts.placeholders ?? [] }
}

export type Mutable = Record<string, unknown>

/** Sets a nested value, creating plain-object parents. */
export function setPath(obj: Mutable, path: readonly string[], value: unknown): void {
  let current = obj
  path.slice(0, -1).forEach((key) => {
    const next = current[key]
    if (!isRecord(next)) current[key] = {}
    current = current[key] as Mutable
  })
  const leaf = path[path.length - 1]
  if (leaf !== undefined) current[leaf] = value
}

/** `{a:{b:{c:value}}}` for path a.b.c: the body of a merge patch. */
export function nest(path: readonly string[], value: unknown): Mutable {
  const out: Mutable = {}
  setPath(out, path, value)
  return out
}

/** Deep merge of merge-patch bodies (objects only). */
export function merge(into: Mutable, from: Mutable): Mutable {
  for (const [k, v] of Object.entries(from)) {
    const existing = into[k]
    if (isRecord(existing) && isRecord(v)) merge(existing as Mutable, v as Mutable)
    else into[k] = v
  }
  return into
}

/** The object without status (a step's object is what the client sends). */
export function withoutStatus(raw: Unstructured): Mutable {
  const { status: _status, ...rest } = structuredClone(raw) as Mutable
  return rest
}

export function machinesOf(obj: GuardedObject): number {
  return typeof obj.replicas === 'number' && obj.replicas > 0 ? obj.replicas : 1
}

/** The KCP and MDs as the steps so far leave them (no status). */
export interface Working {
  readonly kcp: Mutable
  readonly mds: ReadonlyMap<string, Mutable>
}
