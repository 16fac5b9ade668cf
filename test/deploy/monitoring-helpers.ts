/**
 * @module test/deploy/monitoring-helpers
 * What the monitoring tests share: the component's files, the overlays rendered with the
 * component switched on (a copy of manifests/ with the commented `components:` lines of an
 * overlay uncommented, exactly as docs/operations.md tells users to do), every PromQL
 * expression of the alerts and the dashboard, a PromQL reader (the Prometheus project's own
 * Lezer grammar) that lists the series and label names an expression uses, and a parser of the
 * Prometheus text format that lists what /metrics serves.
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parser } from '@prometheus-io/lezer-promql'
import { parse } from 'yaml'
import { MANIFESTS, tempDir } from './deploy-helpers.js'
import { render, type Obj, type Rendered } from './kustomize.js'

export const COMPONENT = join(MANIFESTS, 'components', 'monitoring')
export const COMPONENT_ENTRY = '../../components/monitoring'

/** The PrometheusRule as written in the component (not rendered: a Component cannot build alone). */
export const prometheusRuleFile = (): Obj => parse(readFileSync(join(COMPONENT, 'prometheusrule.yaml'), 'utf8')) as Obj
export const dashboardFile = (): Obj => JSON.parse(readFileSync(join(COMPONENT, 'dashboard.json'), 'utf8')) as Obj

/** Uncomments the `# components:` block of an overlay's kustomization.yaml; throws when it is not there. */
export function enableMonitoring(kustomization: string): string {
  const commented = `# components:\n#   - ${COMPONENT_ENTRY}\n`
  if (!kustomization.includes(commented)) throw new Error('the overlay does not list the monitoring component (commented)')
  return kustomization.replace(commented, `components:\n  - ${COMPONENT_ENTRY}\n`)
}

/**
 * A copy of manifests/ with the component on in `overlay`. self-signed needs certificate files:
 * copied from `certificatesFrom` (another rendered copy, so the two renders can be compared), or
 * made by gen-certs.sh.
 */
export function renderWithMonitoring(overlay: 'cert-manager' | 'self-signed', certificatesFrom?: string): { readonly dir: string; readonly rendered: Rendered } {
  const tmp = tempDir('ug-monitoring-')
  cpSync(MANIFESTS, join(tmp, 'manifests'), { recursive: true })
  const dir = join(tmp, 'manifests', 'overlays', overlay)
  const file = join(dir, 'kustomization.yaml')
  writeFileSync(file, enableMonitoring(readFileSync(file, 'utf8')))
  if (overlay === 'self-signed' && certificatesFrom !== undefined) for (const f of ['tls.crt', 'tls.key', 'ca.crt']) copyFileSync(join(certificatesFrom, f), join(dir, f))
  else if (overlay === 'self-signed') execFileSync('sh', [join(dir, 'gen-certs.sh'), '--out', dir], { stdio: 'pipe', timeout: 60_000 })
  return { dir, rendered: render(dir) }
}

export interface AlertRule {
  readonly alert: string
  readonly expr: string
  readonly for?: string
  readonly labels?: Readonly<Record<string, string>>
  readonly annotations?: Readonly<Record<string, string>>
}

export const alertRules = (rule: Obj): AlertRule[] => ((rule.spec?.groups ?? []) as Obj[]).flatMap((g) => (g.rules ?? []) as AlertRule[])

export interface DashboardQuery {
  readonly where: string
  readonly expr: string
}

/** Every query of the dashboard: panel targets (rows included) and query variables. */
export function dashboardQueries(dashboard: Obj): DashboardQuery[] {
  const out: DashboardQuery[] = []
  const visit = (panels: readonly Obj[]): void => {
    for (const panel of panels) {
      for (const t of (panel.targets ?? []) as Obj[]) out.push({ where: `panel "${String(panel.title)}" ${String(t.refId)}`, expr: String(t.expr) })
      visit((panel.panels ?? []) as Obj[])
    }
  }
  visit((dashboard.panels ?? []) as Obj[])
  for (const v of (dashboard.templating?.list ?? []) as Obj[]) {
    if (v.type !== 'query') continue
    const query = typeof v.query === 'string' ? v.query : String(v.query?.query)
    // label_values(metric, label) is Grafana's, not PromQL: check it as the selector `metric` plus `by (label)`.
    const lv = /^label_values\(\s*([^,]+?)\s*,\s*([a-zA-Z_]\w*)\s*\)$/.exec(query)
    out.push({ where: `variable ${String(v.name)}`, expr: lv === null ? query : `count by (${lv[2] as string}) (${lv[1] as string})` })
  }
  return out
}

/** Grafana's variables, replaced by what they stand for so the text parses as PromQL. */
export const expandGrafana = (expr: string): string =>
  expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{?(\w+)\}?/g, (_m, name: string) => `grafana-${name}`)

/* ---------------------------------------------------------------- PromQL */

export interface SelectorUse {
  readonly metric: string
  readonly labels: readonly string[]
}

export interface GroupingUse {
  /** by / without / on / ignoring / group_left / group_right */
  readonly clause: string
  readonly label: string
  /** Metrics of the selectors under the aggregation or binary expression the clause belongs to. */
  readonly metrics: readonly string[]
}

export interface PromqlUses {
  readonly selectors: readonly SelectorUse[]
  readonly groupings: readonly GroupingUse[]
  readonly errors: readonly string[]
}

type SyntaxNode = ReturnType<typeof parser.parse>['topNode']

const text = (expr: string, node: SyntaxNode): string => expr.slice(node.from, node.to)

function descendants(node: SyntaxNode, name: string, out: SyntaxNode[] = []): SyntaxNode[] {
  for (let child = node.firstChild; child !== null; child = child.nextSibling) {
    if (child.name === name) out.push(child)
    descendants(child, name, out)
  }
  return out
}

function selectorOf(expr: string, node: SyntaxNode): SelectorUse {
  const name = node.getChild('Identifier')
  const labels: string[] = []
  let metric = name === null ? '' : text(expr, name)
  for (const matcher of descendants(node, 'LabelName')) {
    const label = text(expr, matcher)
    if (label === '__name__') {
      const value = matcher.parent?.getChild('StringLiteral')
      if (value !== null && value !== undefined) metric = JSON.parse(text(expr, value)) as string
    } else labels.push(label)
  }
  return { metric, labels }
}

/** The series names and label names an expression reads; syntax errors as text. */
export function promqlUses(expr: string): PromqlUses {
  const tree = parser.parse(expr)
  const errors: string[] = []
  const selectors: SelectorUse[] = []
  const groupings: GroupingUse[] = []
  tree.iterate({
    enter: (ref) => {
      if (ref.type.isError) errors.push(`syntax error at ${ref.from}: ${JSON.stringify(expr.slice(Math.max(0, ref.from - 20), ref.to + 20))}`)
      if (ref.name === 'VectorSelector') selectors.push(selectorOf(expr, ref.node))
      if (ref.name === 'GroupingLabels') {
        const clauseNode = ref.node.prevSibling
        const clause = clauseNode === null ? '?' : text(expr, clauseNode)
        // The aggregation or binary expression this clause modifies.
        let owner: SyntaxNode | null = ref.node.parent
        while (owner !== null && owner.name !== 'AggregateExpr' && owner.name !== 'BinaryExpr') owner = owner.parent
        const metrics = owner === null ? [] : descendants(owner, 'VectorSelector').map((n) => selectorOf(expr, n).metric)
        for (const l of ref.node.getChildren('LabelName')) groupings.push({ clause, label: text(expr, l), metrics })
      }
    },
  })
  return { selectors, groupings, errors }
}

/* ---------------------------------------------------------------- /metrics */

export interface Exposition {
  /** Series names with at least one sample, and the label names seen on them. */
  readonly series: ReadonlyMap<string, ReadonlySet<string>>
  /** Every name declared by # TYPE (histograms and summaries also as _bucket/_sum/_count). */
  readonly declared: ReadonlyMap<string, string>
}

/** Reads the Prometheus text exposition format (what prom-client writes). */
export function parseExposition(body: string): Exposition {
  const series = new Map<string, Set<string>>()
  const declared = new Map<string, string>()
  for (const line of body.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (type !== null) {
      const [, name, kind] = type as unknown as [string, string, string]
      declared.set(name, kind)
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) declared.set(name + s, kind)
      if (kind === 'summary') for (const s of ['_sum', '_count']) declared.set(name + s, kind)
      continue
    }
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+/.exec(line)
    if (m === null) throw new Error(`not an exposition line: ${line}`)
    const labels = series.get(m[1] as string) ?? new Set<string>()
    for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)) labels.add(pair[1] as string)
    series.set(m[1] as string, labels)
  }
  return { series, declared }
}
