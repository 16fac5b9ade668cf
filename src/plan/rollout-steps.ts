/**
 * @module plan/rollout-steps
 * The version changes in order: control-plane hops (with pinned CoreDNS/etcd tags in the same
 * edit), a wait after each until status.version reaches it, worker moves (interleaved when the
 * skew requires it, else once after the control plane), and the seed's verification.
 *
 * ACP guide, "Cross-Version Upgrades": "Add the v1.33 entry … and upgrade the control plane to
 * v1.33; wait for the rollout to complete. … upgrade the control plane to v1.34. … Upgrade the
 * worker MachineDeployment to v1.34." GKE: "a worker node pool version can be up to two minor
 * versions behind the cluster (control plane) version" with the n-2 opt-in, one without.
 */
import type { GuardedObject } from '../objects/capi.js'
import { getPath } from '../objects/unstructured.js'
import type { Policy } from '../policy/types.js'
import { isBareMetal } from '../rules/common.js'
import { parseIntOrPercent } from '../rules/max-surge-zero.js'
import { compareVersions, tryParseVersion, type Version } from '../versions/version.js'
import { mergePatchCommand, verificationCommands, waitControlPlaneCommand, waitWorkersCommand } from './commands.js'
import { concrete, draft, machinesOf, merge, nest, type Draft, type Mutable, type Target, type Working } from './draft.js'
import type { Rollout, WorkerOrder } from './types.js'

const TAG_PATHS = {
  coredns: ['spec', 'kubeadmConfigSpec', 'clusterConfiguration', 'dns', 'imageTag'],
  etcd: ['spec', 'kubeadmConfigSpec', 'clusterConfiguration', 'etcd', 'local', 'imageTag'],
} as const
const TAG_LABEL = { coredns: 'CoreDNS', etcd: 'etcd' } as const

/** How many sequential batches an MD rollout takes (maxUnavailable machines at a time). */
function batchesOf(md: GuardedObject): number {
  const replicas = machinesOf(md)
  const amount = parseIntOrPercent(md.maxUnavailable)
  const perBatch = amount === undefined || amount.n <= 0 ? 1 : amount.kind === 'int' ? amount.n : Math.max(1, Math.floor((replicas * amount.n) / 100))
  return Math.ceil(replicas / perBatch)
}

export interface RolloutInput {
  readonly kcp: GuardedObject
  readonly mds: readonly GuardedObject[]
  readonly spec: Version
  readonly status: Version | undefined
  readonly to: Version
  readonly hops: readonly Target[]
  readonly skew: number
  readonly policy: Policy
  readonly clusterName: string
}

export interface VersionChange {
  readonly target: Target
  readonly bareMetal: boolean
}

/** Control-plane hops, waits and worker moves, in order. */
export function planRollout(input: RolloutInput, working: Working): { steps: Draft[]; changes: VersionChange[]; order: WorkerOrder; notes: string[] } {
  const { kcp, mds, spec, status, to, hops, skew, policy, clusterName } = input
  const steps: Draft[] = []
  const changes: VersionChange[] = []
  const notes: string[] = []
  const kcpObj = working.kcp
  const mdObjs = working.mds
  const mdNow = new Map<string, Target | undefined>(mds.map((md) => {
    const v = tryParseVersion(md.version)
    return [md.name, v === undefined ? undefined : concrete(v)]
  }))
  const kcpBareMetal = isBareMetal(kcp, policy)
  const replicas = machinesOf(kcp)

  const waitControlPlane = (t: Target, why: string): void => {
    const rollout: Rollout = { kind: 'KubeadmControlPlane', namespace: kcp.namespace, name: kcp.name, version: t.text }
    steps.push(
      draft('wait', `Wait until KubeadmControlPlane ${kcp.namespace}/${kcp.name} status.version == ${t.text}`, {
        commands: [waitControlPlaneCommand(kcp.namespace, kcp.name, t.text, replicas)],
        notes: [
          `${why} status.version is the lowest version on any control-plane machine: it reaches ${t.text} only when all ${replicas} machines are replaced.`,
          `Watch: kubectl -n ${kcp.namespace} get kubeadmcontrolplane ${kcp.name} -w; kubectl -n ${kcp.namespace} get baremetalmachines.infrastructure.cluster.x-k8s.io`,
        ],
        waitFor: [rollout],
        placeholders: t.version === undefined ? [t.text] : [],
      }),
    )
  }

  const moveWorkers = (names: readonly string[], t: Target, why: string): void => {
    const rollouts: Rollout[] = []
    const waits: string[] = []
    for (const name of names) {
      const md = mds.find((m) => m.name === name)
      const obj = mdObjs.get(name)
      if (md === undefined || obj === undefined) continue
      const patch = nest(md.paths.version, t.text)
      merge(obj, structuredClone(patch))
      const before = mdNow.get(name)
      mdNow.set(name, t)
      const bareMetal = isBareMetal(md, policy)
      changes.push({ target: t, bareMetal })
      steps.push(
        draft('workers', `Upgrade MachineDeployment ${md.namespace}/${md.name} to ${t.text}`, {
          commands: [mergePatchCommand('machinedeployment', md.namespace, md.name, patch)],
          notes: [
            `${why}; it runs ${before?.text ?? JSON.stringify(md.version)} now. CAPI replaces ${machinesOf(md)} worker(s) within the maxUnavailable budget.${bareMetal ? '' : ` Not bare metal (${md.infrastructureKind ?? 'no infrastructure kind'}): upgrade-guard does not judge it.`}`,
          ],
          objects: [structuredClone(obj)],
          placeholders: t.version === undefined ? [t.text] : [],
        }),
      )
      rollouts.push({ kind: 'MachineDeployment', namespace: md.namespace, name: md.name, version: t.text })
      waits.push(waitWorkersCommand(md.namespace, md.name, md.level, machinesOf(md), batchesOf(md)))
    }
    if (rollouts.length === 0) return
    steps.push(
      draft('wait', `Wait until ${rollouts.length === 1 ? `MachineDeployment ${rollouts[0]?.namespace}/${rollouts[0]?.name} runs` : `MachineDeployments ${rollouts.map((r) => r.name).join(', ')} run`} ${t.text} on every machine`, {
        commands: waits,
        notes: [`Then check: kubectl -n ${kcp.namespace} get machines.cluster.x-k8s.io -l cluster.x-k8s.io/cluster-name=${clusterName} (every Machine of these pools at ${t.text} and Running).`],
        waitFor: rollouts,
        placeholders: t.version === undefined ? [t.text] : [],
      }),
    )
  }

  if (status !== undefined && compareVersions(status, spec) < 0) {
    waitControlPlane(concrete(spec), `A control-plane rollout to ${spec.raw} is still in progress (status.version ${status.raw}); it must finish before the next hop.`)
  }

  let cpNow = concrete(spec)
  let order: WorkerOrder = 'none'
  hops.forEach((hop, i) => {
    const lagging = mds.filter((md) => {
      const now = mdNow.get(md.name)
      return now !== undefined && (now.major < hop.major || hop.minor - now.minor > skew)
    })
    if (lagging.length > 0) {
      order = 'interleaved'
      moveWorkers(
        lagging.map((m) => m.name),
        cpNow,
        `Before the control plane moves to v${hop.major}.${hop.minor}, this pool must be within ${skew} minor(s) of it (worker-skew)`,
      )
    }
    const patch: Mutable = nest(['spec', 'version'], hop.text)
    const tagNotes: string[] = []
    if (hop.minor !== cpNow.minor) {
      const table = policy.componentTags[`v${hop.major}.${hop.minor}`]
      for (const component of ['coredns', 'etcd'] as const) {
        const current = getPath(kcpObj, TAG_PATHS[component])
        const accepted = table?.[component]
        if (typeof current !== 'string') {
          if (accepted !== undefined && accepted.length > 0) tagNotes.push(`The policy lists ${TAG_LABEL[component]} ${accepted.join(', ')} for v${hop.major}.${hop.minor}; this control plane does not pin ${TAG_PATHS[component].slice(1).join('.')}, so kubeadm picks its default.`)
          continue
        }
        if (accepted === undefined || accepted.length === 0) {
          tagNotes.push(`${TAG_LABEL[component]} is pinned to ${current} and the policy has no ${TAG_LABEL[component]} tag for v${hop.major}.${hop.minor}: add the tag that matches v${hop.major}.${hop.minor} to this edit (pinned-component-tags warns otherwise).`)
          continue
        }
        const next = accepted.includes(current) ? current : (accepted[0] as string)
        if (next !== current) merge(patch, nest(TAG_PATHS[component], next))
      }
    }
    merge(kcpObj, structuredClone(patch))
    changes.push({ target: hop, bareMetal: kcpBareMetal })
    const step = hop.minor === cpNow.minor ? 'patch release' : 'one minor'
    steps.push(
      draft('control-plane', `Upgrade the control plane KubeadmControlPlane ${kcp.namespace}/${kcp.name} to ${hop.text} (${step})`, {
        commands: [mergePatchCommand('kubeadmcontrolplane', kcp.namespace, kcp.name, patch)],
        notes: [
          `CAPI replaces the ${replicas} control-plane machines one at a time (maxSurge 0); each new host runs elemental upgrade with the image of ${hop.text} and joins the surviving control plane.`,
          ...tagNotes,
        ],
        objects: [structuredClone(kcpObj)],
        placeholders: hop.version === undefined ? [hop.text] : [],
      }),
    )
    waitControlPlane(hop, i < hops.length - 1 ? 'Do not start the next hop before this rollout completes (control-plane-minor-step counts from the lowest running version).' : 'Workers follow only after the control-plane rollout completes (workers-follow-control-plane).')
    cpNow = hop
  })

  const behind = mds.filter((md) => {
    if (md.version === undefined) {
      notes.push(`MachineDeployment ${md.namespace}/${md.name} sets no version: it is left alone.`)
      return false
    }
    const now = mdNow.get(md.name)
    return now === undefined || now.version === undefined || compareVersions(now.version, to) < 0
  })
  if (behind.length > 0) {
    if (order === 'none') order = 'after-control-plane'
    moveWorkers(behind.map((m) => m.name), concrete(to), `Workers follow the control plane to ${to.raw}`)
  }
  return { steps, changes, order, notes }
}

export function verifyStep(namespace: string, cluster: string, to: Version, kcp: GuardedObject): Draft {
  return draft('verify', `Verify Cluster ${namespace}/${cluster} at ${to.raw}`, {
    commands: verificationCommands(namespace, cluster),
    notes: [
      'All BaremetalMachine objects are Running.',
      `Every CAPI Machine reports spec.version ${to.raw}; KubeadmControlPlane ${kcp.name} reports status.version ${to.raw}.`,
      `Every workload Node is Ready with kubelet ${to.raw}.`,
      'Every MachineInventory plan secret carries baremetal.alauda.io/plan.type=reprovision (the most recent plan applied).',
      'MachineInventoryPool.status: available + allocated + preparing + reprovisioning + unavailable = total, with preparing = reprovisioning = 0.',
    ],
  })
}
