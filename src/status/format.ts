/**
 * @module status/format
 * Renders a ClusterStatus for a terminal an operator keeps open during a rollout: short,
 * aligned columns, a progress bar of machines replaced per control plane and MachineDeployment,
 * colour only when asked (the CLI asks on a TTY).
 */
import type { ClusterStatus, RolloutStatus } from './model.js'

const BAR_WIDTH = 20

type Paint = (code: number, text: string) => string

/** `[#######.............]` for replaced of total. */
export function progressBar(replaced: number, total: number, width = BAR_WIDTH): string {
  const ratio = total <= 0 ? 1 : Math.min(1, replaced / total)
  const filled = Math.round(ratio * width)
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`
}

/** Rows of cells, each column padded to its widest cell; trailing spaces trimmed. */
export function table(rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths: number[] = []
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(cell).length)))
  return rows.map((row) => (indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visible(cell).length))).join('  ')).trimEnd())
}

// eslint-disable-next-line no-control-regex
const visible = (s: string): string => s.replace(/\u001b\[\d+m/g, '')

function rolloutRow(r: RolloutStatus, paint: Paint): string[] {
  const versions = r.running !== undefined && r.running !== r.target ? `${r.running} -> ${r.target ?? '?'}` : (r.target ?? '?')
  const state = r.isDone ? paint(32, 'done') : paint(33, 'rolling')
  return [r.kind === 'KubeadmControlPlane' ? 'control plane' : 'workers', r.name, versions, progressBar(r.replaced, r.replicas), `${r.replaced}/${r.replicas}`, state]
}

export function formatStatusText(s: ClusterStatus, options: { readonly colour: boolean }): string {
  const paint: Paint = options.colour ? (code, text) => `\u001b[${code}m${text}\u001b[0m` : (_code, text) => text
  const phaseText = s.phase === 'done' ? paint(32, 'at target, every check holds') : s.phase === 'progressing' ? paint(33, 'rollout in progress') : paint(31, 'blocked')
  const header = [['cluster', s.cluster], ['state', `${phaseText} (exit ${s.exitCode})`], ['management', s.managementVersion ?? 'unknown (--management-version)']]
  if (s.notPresent.length > 0) header.push(['not present', `${s.notPresent.join(', ')} (not installed, or not in the state): the checks cannot see them`])
  const lines: string[] = [...table(header)]
  lines.push('', 'ROLLOUT', ...table(s.rollouts.map((r) => rolloutRow(r, paint)), '  '))
  // Machines by version and phase, per control plane / MD (the seed's `kubectl get machines`).
  const byVersion = s.rollouts.flatMap((r) => {
    const groups = new Map<string, Map<string, number>>()
    for (const m of r.machines) {
      const phases = groups.get(m.version ?? '?') ?? new Map<string, number>()
      phases.set(m.phase ?? '?', (phases.get(m.phase ?? '?') ?? 0) + 1)
      groups.set(m.version ?? '?', phases)
    }
    return [...groups].map(([version, phases]) => [r.name, version, [...phases].map(([phase, n]) => `${n} ${phase}`).join(', ')])
  })
  if (byVersion.length > 0) lines.push('', 'MACHINES BY VERSION', ...table(byVersion, '  '))
  const pending = s.rollouts.flatMap((r) => r.machines.filter((m) => !m.isAtTarget || m.problem !== undefined).map((m) => [m.name, m.version ?? '?', m.phase ?? '?', m.problem ?? '', m.host === undefined ? '' : `host ${m.host.phase ?? '?'}`]))
  if (pending.length > 0) lines.push('', 'MACHINES NOT REPLACED', ...table(pending, '  '))
  if (s.pools.length > 0) {
    lines.push(
      '',
      'POOLS',
      ...table(
        s.pools.map((p) => [p.name, `available ${p.available}`, `allocated ${p.allocated}`, `preparing ${p.preparing}`, `reprovisioning ${p.reprovisioning}`, `unavailable ${p.unavailable}`, `total ${p.total}`, p.balances ? 'sum ok' : paint(31, 'sum != total')]),
        '  ',
      ),
    )
  }
  if (s.hostsNotRunning.length > 0) lines.push('', 'HOSTS NOT RUNNING', ...table(s.hostsNotRunning.map((h) => [h.name, h.phase ?? '?', h.condition ?? '']), '  '))
  if (s.failedPlans.length > 0) lines.push('', 'PLANS FAILED', ...s.failedPlans.map((p) => `  ${p}`))
  lines.push('', 'CHECKS', ...table(s.checks.map((c) => [c.ok ? paint(32, 'ok') : paint(31, 'FAIL'), c.ok ? c.text : `${c.text}: ${c.detail ?? ''}`]), '  '))
  if (s.diagnoses.length > 0) {
    lines.push('', 'DIAGNOSIS')
    for (const d of s.diagnoses) lines.push(`  ${paint(31, d.id)}: ${d.message}`, `    fix: ${d.fix}`)
  }
  return `${lines.join('\n')}\n`
}
