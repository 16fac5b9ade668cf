/**
 * @module test/deploy/monitoring-crd-fields
 * Unknown fields in prometheus-operator objects (ServiceMonitor, PrometheusRule). The CRDs'
 * structural schemas make the API server reject (strict field validation, kubectl's default) or
 * drop an unknown field, so `honorLabel: true` would quietly do nothing. The JSON Schemas of
 * @kubernetes-models/prometheus-operator allow unknown keys; its TypeScript interfaces, made
 * from the same CRDs, do not: every key is looked up in them with the TypeScript type checker.
 */
import { join } from 'node:path'
import ts from 'typescript'
import { ROOT } from './deploy-helpers.js'

const MODULE = '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
const TYPES: Readonly<Record<string, string>> = { ServiceMonitor: 'IServiceMonitor', PrometheusRule: 'IPrometheusRule' }

let checked: { checker: ts.TypeChecker; types: Map<string, ts.Type> } | undefined

/** One small program that declares a value of each interface; built once (about a second). */
function program(): { checker: ts.TypeChecker; types: Map<string, ts.Type> } {
  if (checked !== undefined) return checked
  const file = join(ROOT, 'test/deploy/__crd-types__.ts')
  const source = Object.values(TYPES)
    .map((t) => `import type { ${t} } from '${MODULE}'\nexport declare const ${t}_value: ${t}\n`)
    .join('')
  const options: ts.CompilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2023, strict: true, noEmit: true, skipLibCheck: true, types: [] }
  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, source, language) : getSourceFile(name, language, ...rest))
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (name) => name === file || fileExists(name)
  const p = ts.createProgram([file], options, host)
  const checker = p.getTypeChecker()
  const sf = p.getSourceFile(file)
  if (sf === undefined) throw new Error('the type program has no source file')
  const types = new Map<string, ts.Type>()
  for (const statement of sf.statements) {
    if (!ts.isVariableStatement(statement)) continue
    for (const decl of statement.declarationList.declarations) types.set(decl.name.getText(sf).replace(/_value$/, ''), checker.getTypeAtLocation(decl))
  }
  checked = { checker, types }
  return checked
}

function objectMembers(checker: ts.TypeChecker, type: ts.Type): ts.Type[] {
  const t = checker.getNonNullableType(type)
  const members = t.isUnion() ? t.types : [t]
  return members.filter((m) => (m.flags & ts.TypeFlags.Object) !== 0 || m.isIntersection())
}

function walk(checker: ts.TypeChecker, value: unknown, type: ts.Type, path: string, out: string[]): void {
  if (value === null || typeof value !== 'object') return
  const members = objectMembers(checker, type)
  if (members.length === 0) return // string, number, IntOrString …
  if (Array.isArray(value)) {
    const array = members.find((m) => checker.isArrayType(m))
    const element = array === undefined ? undefined : checker.getTypeArguments(array as ts.TypeReference)[0]
    if (element === undefined) out.push(`${path}: must not be a list`)
    else value.forEach((item, i) => walk(checker, item, element, `${path}[${i}]`, out))
    return
  }
  for (const [key, item] of Object.entries(value)) {
    const found = members
      .map((m) => m.getProperty(key) ?? undefined)
      .find((p) => p !== undefined)
    if (found !== undefined) {
      walk(checker, item, checker.getTypeOfSymbol(found), `${path}.${key}`, out)
      continue
    }
    const index = members.map((m) => checker.getIndexTypeOfType(m, ts.IndexKind.String)).find((t) => t !== undefined)
    if (index !== undefined) walk(checker, item, index, `${path}.${key}`, out)
    else out.push(`${path}.${key}: unknown field`)
  }
}

/** Unknown fields of a ServiceMonitor or PrometheusRule, as `path: unknown field`; [] when there are none. */
export function crdUnknownFields(obj: Readonly<Record<string, unknown>>): string[] {
  const name = TYPES[String(obj.kind)]
  if (name === undefined) throw new Error(`no interface for kind ${String(obj.kind)}`)
  const { checker, types } = program()
  const type = types.get(name)
  if (type === undefined) throw new Error(`${name} did not resolve`)
  const out: string[] = []
  walk(checker, obj, type, '', out)
  return out.map((l) => l.replace(/^\./, ''))
}
