/**
 * @module status/diagnose
 * The ACP guide's "Troubleshooting" table, read from state. Each row that matches becomes a
 * Diagnosis with the fix as a command an operator can paste:
 * - "Rollout stuck on the first new node": BaremetalMachine ImageResolved=False /
 *   ImageCatalogMiss (the key to add), or the Cluster lacks cpaas.io/registry-address;
 * - "Host reboots into a state that never joins the cluster": MachineInventory plan Failed
 *   ("Failed is terminal"; the host's serial console);
 * - "Pool capacity exhausted mid-rollout": available 0 while a replacement waits for a host;
 * - "Worker rollout stalls with maxSurge > 0": the MachineDeployment's strategy.
 */
import type { GuardedObject } from '../objects/capi.js'
import type { Policy } from '../policy/types.js'
import { parseIntOrPercent } from '../rules/max-surge-zero.js'
import type { StatusFacts } from './model.js'

export type DiagnosisId = 'ImageCatalogMiss' | 'RegistryAddressMissing' | 'PlanFailed' | 'PoolExhausted' | 'MaxSurgeAboveZero' | 'MachineNotHealthy'

export interface Diagnosis {
  readonly id: DiagnosisId
  readonly message: string
  /** A command (or the one step) that fixes it. */
  readonly fix: string
}

/** `<registry>/<repository>:<tag>` for a new catalog key, shaped like the catalog's own entries. */
function imageFor(facts: StatusFacts, version: string): string {
  const sample = [...(facts.view.catalog()?.entries.values() ?? [])][0]
  const registry = facts.cluster.annotations[facts.policy.registryAnnotation]
  const repository = sample === undefined ? undefined : sample.replace(/[:@][^/]*$/, '')
  const base = repository ?? `${registry ?? '<registry-address>'}/tkestack/baremetal-base-image`
  return `${base}:<tag for ${version}>`
}

function imageCatalogMisses(f: StatusFacts): Diagnosis[] {
  const catalog = f.view.catalog()
  const ref = f.policy.catalog
  const out: Diagnosis[] = []
  for (const host of f.hosts.values()) {
    if (host.imageResolved?.status !== 'False' || host.imageResolved.reason !== 'ImageCatalogMiss') continue
    const machine = f.machines.find((m) => m.infrastructureName === host.name)
    const version = machine?.version
    if (version === undefined) {
      out.push({ id: 'ImageCatalogMiss', message: `BaremetalMachine ${host.name}: ImageResolved=False (ImageCatalogMiss); its Machine is not in the state`, fix: `kubectl -n ${ref.namespace} get configmap ${ref.name} -o yaml` })
      continue
    }
    // "adding the key later restarts the reconciliation automatically": once it is there, nothing to fix.
    if (catalog?.entries.has(version) === true) continue
    const patch = JSON.stringify([{ op: 'add', path: `/data/${version}`, value: imageFor(f, version) }])
    out.push({
      id: 'ImageCatalogMiss',
      message: `BaremetalMachine ${host.name} (Machine ${machine?.name ?? '?'}) wants ${version}: not a key of ${ref.namespace}/${ref.name}`,
      fix: `kubectl -n ${ref.namespace} patch configmap ${ref.name} --type=json -p='${patch}'`,
    })
  }
  return out
}

function registryAddress(f: StatusFacts): Diagnosis[] {
  const annotation = f.policy.registryAnnotation
  if ((f.cluster.annotations[annotation] ?? '').trim() !== '') return []
  return [{ id: 'RegistryAddressMissing', message: `Cluster ${f.cluster.namespace}/${f.cluster.name} lacks ${annotation}: the provider cannot resolve the OS image`, fix: `kubectl -n ${f.cluster.namespace} annotate cluster ${f.cluster.name} ${annotation}=<registry host:port>` }]
}

function failedPlans(f: StatusFacts): Diagnosis[] {
  return f.failedPlans.map((inv) => ({
    id: 'PlanFailed' as const,
    message: `MachineInventory ${inv}: plan Failed (terminal): inspect the host's serial console for elemental upgrade errors; check the platform registry is reachable from it`,
    fix: `kubectl -n ${f.cluster.namespace} get machineinventory ${inv} -o jsonpath='{.status.plan}'`,
  }))
}

function poolsExhausted(f: StatusFacts): Diagnosis[] {
  const out: Diagnosis[] = []
  for (const pool of f.pools) {
    if (pool.counters === undefined || pool.counters.available > 0) continue
    // A replacement waiting for a host: a Machine of a rollout on this pool, not Running, not
    // being deleted, whose BaremetalMachine has no host yet (no providerID) and has not failed.
    const waiting = f.rollouts
      .filter((r) => r.pool === pool.name)
      .flatMap((r) => r.machines)
      .filter((m) => {
        const record = f.machines.find((x) => x.name === m.name)
        const host = m.host === undefined ? undefined : f.hosts.get(m.host.name)
        return record !== undefined && !record.isDeleting && m.phase !== 'Running' && host?.providerID === undefined && host?.phase !== 'Failed'
      })
      .map((m) => m.name)
    if (waiting.length === 0) continue
    const c = pool.counters
    const patch = JSON.stringify([{ op: 'add', path: '/spec/machineInventories/-', value: { name: '<machine-inventory>', hostname: '<hostname>' } }])
    out.push({
      id: 'PoolExhausted',
      message: `MachineInventoryPool ${pool.name}: available 0 (allocated ${c.allocated}, preparing ${c.preparing}) while ${waiting.join(', ')} wait${waiting.length === 1 ? 's' : ''} for a host`,
      fix: `kubectl -n ${pool.namespace} patch machineinventorypool ${pool.name} --type=json -p='${patch}'  (or wait for Preparing hosts to drain)`,
    })
  }
  return out
}

/** Whether a bare-metal MD rolls with maxSurge > 0 (unset counts: CAPI defaults it to 1). */
export function hasSurge(md: GuardedObject, policy: Policy): boolean {
  if (md.infrastructureKind === undefined || !policy.scope.infrastructureKinds.includes(md.infrastructureKind)) return false
  const surge = md.maxSurge === undefined ? { n: 1 } : parseIntOrPercent(md.maxSurge)
  return surge === undefined || surge.n > 0
}

function surges(f: StatusFacts): Diagnosis[] {
  return f.mds
    .filter((md) => hasSurge(md, f.policy))
    .map((md) => {
      const strategy = md.level === 'v1beta1' ? { strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } } : { rollout: { strategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } } }
      return {
        id: 'MaxSurgeAboveZero' as const,
        message: `MachineDeployment ${md.name}: maxSurge ${JSON.stringify(md.maxSurge ?? '1 (CAPI default)')}; bare-metal pools cannot over-provision`,
        fix: `kubectl -n ${md.namespace} patch machinedeployment ${md.name} --type=merge -p '${JSON.stringify({ spec: strategy })}'  (raise maxUnavailable for more parallel replacements)`,
      }
    })
}

function unhealthy(f: StatusFacts): Diagnosis[] {
  if (f.rollouts.some((r) => !r.isDone)) return []
  return f.rollouts.flatMap((r) =>
    r.machines
      .filter((m) => m.problem !== undefined)
      .map((m) => ({ id: 'MachineNotHealthy' as const, message: `Machine ${m.name} of ${r.name}: ${m.problem ?? ''}`, fix: `kubectl -n ${f.cluster.namespace} describe machine ${m.name}` })),
  )
}

export function diagnose(f: StatusFacts): Diagnosis[] {
  return [...imageCatalogMisses(f), ...registryAddress(f), ...failedPlans(f), ...poolsExhausted(f), ...surges(f), ...unhealthy(f)]
}

