/**
 * @module status/model
 * `upgrade-guard status`: where an upgrade of one cluster stands and what blocks it, computed
 * from the cluster-state view alone (pure; the CLI renders it). It follows the ACP guide's own
 * checks: the rollout of the control plane and of each MachineDeployment (machines replaced),
 * the "Verification" list one by one, and a diagnosis of the "Troubleshooting" table, each with
 * the fix as a command.
 */
import type { ClusterInfo, GuardedObject } from '../objects/capi.js'
import {
  desiredReplicas,
  LIFECYCLE_KINDS,
  infrastructureTemplateName,
  isMachineOfControlPlane,
  isMachineOfDeployment,
  machineProblem,
  type BaremetalMachineRecord,
  type MachineRecord,
  type PoolCounters,
  type PoolRecord,
} from '../objects/lifecycle.js'
import type { Policy } from '../policy/types.js'
import type { ClusterView } from '../state/cluster-view.js'
import { diagnose, type Diagnosis } from './diagnose.js'

export interface MachineStatus {
  readonly name: string
  readonly version: string | undefined
  readonly phase: string | undefined
  /** Why it is not healthy; undefined when it is. */
  readonly problem: string | undefined
  readonly isAtTarget: boolean
  readonly host: { readonly name: string; readonly phase: string | undefined; readonly imageResolved?: string } | undefined
}

export interface RolloutStatus {
  readonly kind: 'KubeadmControlPlane' | 'MachineDeployment'
  readonly name: string
  /** The version asked for (spec). */
  readonly target: string | undefined
  /** KCP status.version (the oldest machine); for an MD the lowest of its machines. */
  readonly running: string | undefined
  readonly replicas: number
  /** Machines at the target version, healthy and not being deleted. */
  readonly replaced: number
  readonly machines: readonly MachineStatus[]
  readonly isDone: boolean
  readonly pool: string | undefined
}

export interface PoolStatus extends PoolCounters {
  readonly name: string
  /** available + allocated + preparing + reprovisioning + unavailable = total */
  readonly balances: boolean
  /** balances, and preparing = reprovisioning = 0 (the seed's verification). */
  readonly isSettled: boolean
}

export interface Check {
  readonly id: string
  /** The seed's sentence, shortened. */
  readonly text: string
  readonly ok: boolean
  /** What does not hold (names), when it does not. */
  readonly detail?: string
}

export type Phase = 'done' | 'progressing' | 'blocked'

export interface ClusterStatus {
  readonly cluster: string
  readonly managementVersion: string | undefined
  readonly phase: Phase
  readonly exitCode: 0 | 1 | 3
  readonly rollouts: readonly RolloutStatus[]
  readonly pools: readonly PoolStatus[]
  readonly hostsNotRunning: readonly { readonly name: string; readonly phase: string | undefined; readonly condition?: string }[]
  readonly failedPlans: readonly string[]
  readonly checks: readonly Check[]
  readonly diagnoses: readonly Diagnosis[]
  /** Lifecycle kinds the state does not hold (not installed, or left out of the snapshot): what the checks cannot see. */
  readonly notPresent: readonly string[]
}

/** The facts diagnose() and the checks read, gathered once. */
export interface StatusFacts {
  readonly cluster: ClusterInfo
  readonly kcp: GuardedObject | undefined
  readonly mds: readonly GuardedObject[]
  readonly rollouts: readonly RolloutStatus[]
  readonly machines: readonly MachineRecord[]
  readonly hosts: ReadonlyMap<string, BaremetalMachineRecord>
  readonly pools: readonly PoolRecord[]
  readonly failedPlans: readonly string[]
  readonly view: ClusterView
  readonly policy: Policy
}

function rolloutOf(obj: GuardedObject, machines: readonly MachineRecord[], facts: { view: ClusterView; hosts: Map<string, BaremetalMachineRecord> }): RolloutStatus {
  if (!facts.view.lifecycle().has('Machine')) return rolloutWithoutMachines(obj, facts.view)
  const target = typeof obj.version === 'string' ? obj.version : undefined
  const statuses = machines.map((m): MachineStatus => {
    const host = m.infrastructureName === undefined ? undefined : facts.view.lifecycle().baremetalMachine(m.namespace, m.infrastructureName)
    if (host !== undefined) facts.hosts.set(host.name, host)
    const problem = machineProblem(m)
    return {
      name: m.name,
      version: m.version,
      phase: m.phase,
      problem,
      isAtTarget: target !== undefined && m.version === target,
      host: host === undefined ? undefined : { name: host.name, phase: host.phase, ...(host.imageResolved === undefined ? {} : { imageResolved: `${host.imageResolved.status}${host.imageResolved.reason === undefined ? '' : `/${host.imageResolved.reason}`}` }) },
    }
  })
  const replicas = desiredReplicas(obj)
  const replaced = statuses.filter((s) => s.isAtTarget && s.problem === undefined).length
  const versions = statuses.map((s) => s.version).filter((v): v is string => v !== undefined)
  const running = obj.kind === 'KubeadmControlPlane' && typeof obj.statusVersion === 'string' ? obj.statusVersion : versions.find((v) => v !== target) ?? versions[0]
  const template = infrastructureTemplateName(obj)
  const pool = template === undefined ? undefined : facts.view.lifecycle().machineTemplate(obj.namespace, template)?.poolName
  // Done is about versions; a node down after the rollout is a health problem, not a rollout.
  const atTarget = machines.filter((m, i) => statuses[i]?.isAtTarget === true && !m.isDeleting).length
  const isDone = atTarget >= replicas && statuses.every((s) => s.isAtTarget) && (obj.kind !== 'KubeadmControlPlane' || obj.statusVersion === target)
  return { kind: obj.kind, name: obj.name, target, running, replicas, replaced, machines: statuses, isDone, pool }
}

/**
 * Machines not present: a KCP is done when status.version reached spec.version (the oldest
 * machine runs it); an MD cannot be told from its spec alone and counts as done.
 */
function rolloutWithoutMachines(obj: GuardedObject, view: ClusterView): RolloutStatus {
  const target = typeof obj.version === 'string' ? obj.version : undefined
  const replicas = desiredReplicas(obj)
  const running = obj.kind === 'KubeadmControlPlane' && typeof obj.statusVersion === 'string' ? obj.statusVersion : target
  const isDone = running === target
  const template = infrastructureTemplateName(obj)
  const pool = template === undefined ? undefined : view.lifecycle().machineTemplate(obj.namespace, template)?.poolName
  return { kind: obj.kind, name: obj.name, target, running, replicas, replaced: isDone ? replicas : 0, machines: [], isDone, pool }
}

function poolStatus(p: PoolRecord): PoolStatus | undefined {
  const c = p.counters
  if (c === undefined) return undefined
  const balances = c.available + c.allocated + c.preparing + c.reprovisioning + c.unavailable === c.total
  return { name: p.name, ...c, balances, isSettled: balances && c.preparing === 0 && c.reprovisioning === 0 }
}

/** The seed's "Verification" section, one check per sentence. */
function verificationChecks(f: StatusFacts, pools: readonly PoolStatus[]): Check[] {
  const all = f.rollouts.flatMap((r) => r.machines.map((m) => ({ r, m })))
  const names = (list: readonly string[]): string | undefined => (list.length === 0 ? undefined : list.slice(0, 5).join(', ') + (list.length > 5 ? ` and ${list.length - 5} more` : ''))
  const check = (id: string, text: string, failing: readonly string[]): Check => {
    const detail = names(failing)
    return detail === undefined ? { id, text, ok: true } : { id, text, ok: false, detail }
  }
  const kcp = f.kcp
  return [
    check('control-plane-at-target', 'control plane status.version = spec.version', kcp === undefined || kcp.statusVersion === kcp.version ? [] : [`${kcp.name} ${String(kcp.statusVersion ?? 'none')} != ${String(kcp.version)}`]),
    check('machines-at-target', 'every Machine reports the new spec.version', all.filter(({ m }) => !m.isAtTarget).map(({ m, r }) => `${m.name} ${m.version ?? '?'} (want ${r.target ?? '?'})`)),
    check('hosts-running', 'every BaremetalMachine is Running', [...f.hosts.values()].filter((h) => h.phase !== 'Running').map((h) => `${h.name} ${h.phase ?? 'no phase'}`)),
    check('nodes-ready', 'every node is Ready', all.filter(({ m }) => m.problem !== undefined).map(({ m }) => `${m.name} (${m.problem ?? ''})`)),
    check('plans-applied', 'no MachineInventory plan Failed', f.failedPlans),
    check('pools-settled', 'pools: available + allocated + preparing + reprovisioning + unavailable = total, preparing = reprovisioning = 0', [
      ...pools.filter((p) => !p.isSettled).map((p) => (p.balances ? `${p.name} preparing ${p.preparing}, reprovisioning ${p.reprovisioning}` : `${p.name} counters sum to ${p.available + p.allocated + p.preparing + p.reprovisioning + p.unavailable}, total ${p.total}`)),
      ...f.pools.filter((p) => p.counters === undefined).map((p) => `${p.name} has no status`),
    ]),
  ]
}

export type StatusResult = { readonly ok: true; readonly status: ClusterStatus } | { readonly ok: false; readonly reason: string }

export function clusterStatus(view: ClusterView, policy: Policy, namespace: string, name: string): StatusResult {
  const cluster = view.cluster(namespace, name)
  if (cluster === undefined) return { ok: false, reason: `no Cluster ${namespace}/${name} in the cluster-state view` }
  const facts = view.lifecycle()
  const machines = facts.machinesOfCluster(namespace, name)
  const kcp = view.controlPlaneOfCluster(namespace, name)
  const mds = view.machineDeploymentsOfCluster(namespace, name)
  const hosts = new Map<string, BaremetalMachineRecord>()
  const rollouts = [
    ...(kcp === undefined ? [] : [rolloutOf(kcp, machines.filter((m) => isMachineOfControlPlane(m, kcp.name)), { view, hosts })]),
    ...mds.map((md) => rolloutOf(md, machines.filter((m) => isMachineOfDeployment(m, md.name)), { view, hosts })),
  ]
  const pools = facts.inventoryPoolsOfCluster(namespace, name)
  const failedPlans = pools.flatMap((p) => p.inventories.map((i) => i.name)).filter((inv, i, list) => list.indexOf(inv) === i && facts.machineInventory(namespace, inv)?.planState === 'Failed')
  const f: StatusFacts = { cluster, kcp, mds, rollouts, machines, hosts, pools, failedPlans, view, policy }
  const poolStatuses = pools.map(poolStatus).filter((p): p is PoolStatus => p !== undefined)
  const checks = verificationChecks(f, poolStatuses)
  const diagnoses = diagnose(f)
  const isRolling = rollouts.some((r) => !r.isDone)
  const isHealthy = checks.every((c) => c.ok)
  // Blocked: a Troubleshooting row matches, or a check fails with no rollout to explain it.
  const phase: Phase = diagnoses.length > 0 || (!isRolling && !isHealthy) ? 'blocked' : isHealthy && !isRolling ? 'done' : 'progressing'
  return {
    ok: true,
    status: {
      cluster: `${namespace}/${name}`,
      managementVersion: view.managementVersion(),
      phase,
      exitCode: phase === 'done' ? 0 : phase === 'blocked' ? 1 : 3,
      rollouts,
      pools: poolStatuses,
      hostsNotRunning: [...hosts.values()]
        .filter((h) => h.phase !== 'Running')
        .map((h) => ({ name: h.name, phase: h.phase, ...(h.imageResolved !== undefined && h.imageResolved.status !== 'True' ? { condition: `ImageResolved=${h.imageResolved.status}${h.imageResolved.reason === undefined ? '' : ` (${h.imageResolved.reason})`}` } : {}) })),
      failedPlans,
      checks,
      diagnoses,
      notPresent: LIFECYCLE_KINDS.filter((k) => !facts.has(k)),
    },
  }
}
