/**
 * @module rules/field-path
 * Violation builders in the shape of apimachinery's field.Invalid / field.Forbidden /
 * field.Required, and the one way a violation is printed (webhook and CLI alike):
 * `[catalog-key] spec.version: Invalid value: "1.34.5": not a catalog key; use "v1.34.5"`.
 */
import { dotted } from '../objects/unstructured.js'
import type { CheckId, Violation, ViolationType } from './types.js'

type Path = readonly string[] | string

const toField = (path: Path): string => (typeof path === 'string' ? path : dotted(path))

export const path = (...segments: string[]): readonly string[] => segments

/** The most characters of user-supplied text echoed into a message or warning. */
export const MAX_ECHO = 256

/**
 * User text (a bypass reason, an annotation value, a version, an image reference) as it may be
 * echoed: cut to MAX_ECHO characters (code points, never half a pair) with `…`.
 */
export function clip(text: string, max = MAX_ECHO): string {
  if (text.length <= max) return text
  const runes = [...text]
  return runes.length <= max ? text : `${runes.slice(0, max - 1).join('')}…`
}

/** JSON text of any value off the wire; never throws (String() of `{toString: 1}` would). */
function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? typeof value
  } catch {
    return `(${typeof value})`
  }
}

/** Any value as echoed user text: strings clipped, anything else JSON then clipped. */
export function echo(value: unknown): string {
  return clip(typeof value === 'string' ? value : safeJson(value))
}

/** Like echo, but a string is shown quoted (`"ConfigMap"`), as in `Invalid value: "x"`. */
export function quoted(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(clip(value)) : echo(value)
}

export function invalid(field: Path, rule: CheckId, value: unknown, message: string, hint: string): Violation {
  return { rule, field: toField(field), type: 'Invalid', value, message, hint }
}

export function forbidden(field: Path, rule: CheckId, message: string, hint: string, value?: unknown): Violation {
  return value === undefined ? { rule, field: toField(field), type: 'Forbidden', message, hint } : { rule, field: toField(field), type: 'Forbidden', value, message, hint }
}

export function required(field: Path, rule: CheckId, message: string, hint: string): Violation {
  return { rule, field: toField(field), type: 'Required', message, hint }
}

export function notFound(field: Path, rule: CheckId, value: unknown, message: string, hint: string): Violation {
  return { rule, field: toField(field), type: 'NotFound', value, message, hint }
}

const TYPE_TEXT: Readonly<Record<ViolationType, string>> = {
  Invalid: 'Invalid value',
  Forbidden: 'Forbidden',
  Required: 'Required value',
  NotFound: 'Not found',
}

/** The printed value: strings quoted, long values cut so one violation stays one short line. */
export function formatValue(value: unknown): string {
  const text = safeJson(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/** `field: Invalid value: "x": message; hint` (no rule id). */
export function formatDetail(v: Violation): string {
  const value = (v.type === 'Invalid' || v.type === 'NotFound') && v.value !== undefined ? `: ${formatValue(v.value)}` : ''
  return `${v.field}: ${TYPE_TEXT[v.type]}${value}: ${v.message}; ${v.hint}`
}

/** `[rule-id] field: Invalid value: "x": message; hint` */
export const formatViolation = (v: Violation): string => `[${v.rule}] ${formatDetail(v)}`
