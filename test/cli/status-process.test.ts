/**
 * `upgrade-guard status` run as a process on each moment of examples/lifecycle: the exact
 * diagnosis lines and exit codes (0 at target, 3 rolling without a problem, 1 blocked, 2 usage),
 * the verification checks, JSON output, and `--watch` against the fake list/watch API server
 * (an event changes the output).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readManifests } from '../../src/state/manifests.js'
import { CLI, ROOT, runCli } from '../helpers/cli.js'
import { FakeApiServer } from '../state/fake-apiserver.js'

const MOMENTS = 'examples/lifecycle'
const CLUSTER = ['--cluster', 'cpaas-system/bm-lab']
const status = (moment: string, ...args: string[]): ReturnType<typeof runCli> => runCli(['status', ...CLUSTER, '--state', `${MOMENTS}/${moment}`, '--management-version', 'v1.34.5', ...args])

/** The DIAGNOSIS section: every line after the heading. */
const diagnosis = (stdout: string): string[] => {
  const lines = stdout.split('\n')
  const at = lines.indexOf('DIAGNOSIS')
  return at < 0 ? [] : lines.slice(at + 1).filter((l) => l !== '')
}
const failedChecks = (stdout: string): string[] => stdout.split('\n').filter((l) => l.startsWith('  FAIL')).map((l) => l.trim().split(/\s{2,}/)[1]?.split(':')[0] ?? '')

const CATALOG_PATCH = `kubectl -n cpaas-system patch configmap elemental-image-catalog --type=json -p='[{"op":"add","path":"/data/v1.33.8","value":"registry.example.com:11443/tkestack/baremetal-base-image:<tag for v1.33.8>"}]'`
const POOL_PATCH = `kubectl -n cpaas-system patch machineinventorypool bm-lab-control-plane-pool --type=json -p='[{"op":"add","path":"/spec/machineInventories/-","value":{"name":"<machine-inventory>","hostname":"<hostname>"}}]'  (or wait for Preparing hosts to drain)`

describe('status on each moment of a rollout', () => {
  it.each([
    { moment: '01-healthy-start', code: 0, state: 'at target, every check holds (exit 0)', diagnosis: [], failing: [] },
    {
      moment: '02-mid-control-plane',
      code: 3,
      state: 'rollout in progress (exit 3)',
      diagnosis: [],
      failing: ['control plane status.version = spec.version', 'every Machine reports the new spec.version', 'every BaremetalMachine is Running', 'every node is Ready', 'pools'],
    },
    {
      moment: '03-image-catalog-miss',
      code: 1,
      state: 'blocked (exit 1)',
      diagnosis: ['  ImageCatalogMiss: BaremetalMachine bm-lab-control-plane-d (Machine bm-lab-control-plane-d) wants v1.33.8: not a key of cpaas-system/elemental-image-catalog', `    fix: ${CATALOG_PATCH}`],
      failing: ['control plane status.version = spec.version', 'every Machine reports the new spec.version', 'every BaremetalMachine is Running', 'every node is Ready'],
    },
    {
      moment: '04-pool-exhausted',
      code: 1,
      state: 'blocked (exit 1)',
      diagnosis: ['  PoolExhausted: MachineInventoryPool bm-lab-control-plane-pool: available 0 (allocated 2, preparing 1) while bm-lab-control-plane-d waits for a host', `    fix: ${POOL_PATCH}`],
      failing: ['control plane status.version = spec.version', 'every Machine reports the new spec.version', 'every BaremetalMachine is Running', 'every node is Ready', 'pools'],
    },
    { moment: '05-done', code: 0, state: 'at target, every check holds (exit 0)', diagnosis: [], failing: [] },
    {
      moment: '06-worker-plan-failed',
      code: 1,
      state: 'blocked (exit 1)',
      diagnosis: [
        '  RegistryAddressMissing: Cluster cpaas-system/bm-lab lacks cpaas.io/registry-address: the provider cannot resolve the OS image',
        '    fix: kubectl -n cpaas-system annotate cluster bm-lab cpaas.io/registry-address=<registry host:port>',
        "  PlanFailed: MachineInventory host-w-3: plan Failed (terminal): inspect the host's serial console for elemental upgrade errors; check the platform registry is reachable from it",
        "    fix: kubectl -n cpaas-system get machineinventory host-w-3 -o jsonpath='{.status.plan}'",
        '  MaxSurgeAboveZero: MachineDeployment bm-lab-workers: maxSurge 1; bare-metal pools cannot over-provision',
        `    fix: kubectl -n cpaas-system patch machinedeployment bm-lab-workers --type=merge -p '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":0,"maxUnavailable":1}}}}'  (raise maxUnavailable for more parallel replacements)`,
      ],
      failing: ['every Machine reports the new spec.version', 'every BaremetalMachine is Running', 'every node is Ready', 'no MachineInventory plan Failed', 'pools'],
    },
  ])('$moment: exit $code', async ({ moment, code, state, diagnosis: expected, failing }) => {
    const r = await status(moment)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(code)
    expect(r.stdout.split('\n')[1]).toBe(`state       ${state}`)
    expect(diagnosis(r.stdout)).toEqual(expected)
    expect(failedChecks(r.stdout)).toEqual(failing)
    // Not a TTY: no colour codes.
    expect(r.stdout).not.toContain('\u001b[')
  })

  it('shows a progress bar of machines replaced per control plane and MD', async () => {
    const r = await status('02-mid-control-plane')
    expect(r.stdout).toContain('  control plane  bm-lab-control-plane  v1.32.8 -> v1.33.7-2  [#######.............]  1/3  rolling\n')
    expect(r.stdout).toContain('  workers        bm-lab-workers        v1.32.8               [####################]  2/2  done\n')
    expect(r.stdout).toContain('  bm-lab-control-plane-b  Preparing\n')
    expect(r.stdout).toContain('MACHINES BY VERSION\n  bm-lab-control-plane  v1.32.8    1 Deleting, 1 Running\n  bm-lab-control-plane  v1.33.7-2  1 Running\n  bm-lab-workers        v1.32.8    2 Running\n')
  })

  it('a snapshot without lifecycle objects (examples/state): says what it cannot see; the control plane by status.version', async () => {
    const r = await runCli(['status', '--cluster', 'cpaas-system/bm-workload', '--state', 'examples/state'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('not present  Machine, BaremetalMachine, BaremetalMachineTemplate, MachineInventoryPool, MachineInventory, Deployment (not installed, or not in the state): the checks cannot see them\n')
    expect(r.stdout).toContain('  control plane  bm-workload-control-plane  v1.32.8  [####################]  3/3  done\n')
  })

  it('-o json: the same facts, machine-readable', async () => {
    const r = await status('04-pool-exhausted', '-o', 'json')
    expect(r.code).toBe(1)
    const body = JSON.parse(r.stdout) as { phase: string; exitCode: number; managementVersion: string; diagnoses: { id: string }[]; rollouts: { name: string; replaced: number; replicas: number }[]; pools: { name: string; balances: boolean }[] }
    expect(body).toMatchObject({ phase: 'blocked', exitCode: 1, managementVersion: 'v1.34.5' })
    expect(body.diagnoses.map((d) => d.id)).toEqual(['PoolExhausted'])
    expect(body.rollouts.map((x) => `${x.name} ${x.replaced}/${x.replicas}`)).toEqual(['bm-lab-control-plane 0/3', 'bm-lab-workers 2/2'])
  })

  it.each([
    { name: 'no state', args: ['status', ...CLUSTER], message: 'give the cluster state with --state PATH' },
    { name: 'both sources', args: ['status', ...CLUSTER, '--state', 'x', '--kubeconfig', 'y'], message: '--state and --kubeconfig are alternatives' },
    { name: 'bad cluster ref', args: ['status', '--cluster', 'bm-lab', '--state', `${MOMENTS}/05-done`], message: '--cluster: "bm-lab" is not NAMESPACE/NAME' },
    { name: 'unknown cluster', args: ['status', '--cluster', 'cpaas-system/nope', '--state', `${MOMENTS}/05-done`], message: 'no Cluster cpaas-system/nope in the cluster-state view' },
    { name: 'bad management version', args: ['status', ...CLUSTER, '--state', `${MOMENTS}/05-done`, '--management-version', '1.34.5'], message: '--management-version: "1.34.5" is not a version; use "v1.34.5"' },
    { name: 'bad format', args: ['status', ...CLUSTER, '--state', `${MOMENTS}/05-done`, '-o', 'yaml'], message: "argument 'yaml' is invalid" },
  ])('usage error ($name): exit 2, one line on stderr', async ({ args, message }) => {
    const r = await runCli(args)
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain(message)
  })
})

describe('status --watch against the fake list/watch API server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ug-status-'))
  let fake: FakeApiServer | undefined
  afterAll(async () => {
    await fake?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('redraws when a watch event changes the status, and exits with the last frame\'s code', { timeout: 30_000 }, async () => {
    fake = await FakeApiServer.start({ servedVersions: { 'infrastructure.cluster.x-k8s.io': ['v1beta1'], 'elemental.cattle.io': ['v1beta1'] } })
    for (const entry of readManifests([`${MOMENTS}/04-pool-exhausted`])) fake.apply(entry.object as Record<string, unknown>)
    const kubeconfig = join(dir, 'kubeconfig')
    writeFileSync(kubeconfig, fake.kubeconfigYaml())
    const child = spawn(process.execPath, [CLI, 'status', ...CLUSTER, '--kubeconfig', kubeconfig, '--watch', '--interval', '100'], { cwd: ROOT })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    const waitFor = async (what: string, cond: () => boolean): Promise<void> => {
      const deadline = Date.now() + 20_000
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stdout so far:\n${stdout}\nstderr:\n${stderr}`)
        await new Promise((r) => setTimeout(r, 25))
      }
    }
    try {
      await waitFor('the first frame', () => stdout.includes('PoolExhausted'))
      expect(stdout).toContain('management  v1.35.6')
      const frames = (): number => stdout.split('\ncluster     cpaas-system/bm-lab').length
      const before = frames()
      // A host is freed: the pool has one available; the replacement is no longer stuck.
      const poolEntry = readManifests([`${MOMENTS}/04-pool-exhausted/hosts.yaml`]).find((e) => e.object.kind === 'MachineInventoryPool' && (e.object.metadata as Record<string, unknown>).name === 'bm-lab-control-plane-pool')
      const pool = structuredClone(poolEntry?.object as Record<string, unknown>)
      pool.status = { available: 1, allocated: 2, preparing: 0, reprovisioning: 0, unavailable: 0, total: 3 }
      fake.apply(pool)
      await waitFor('a redrawn frame', () => frames() > before)
      const last = stdout.slice(stdout.lastIndexOf('cluster     cpaas-system/bm-lab'))
      expect(last).not.toContain('PoolExhausted')
      expect(last).toContain('state       rollout in progress (exit 3)')
      expect(last).toContain('  bm-lab-control-plane-pool  available 1  allocated 2  preparing 0')
    } finally {
      child.kill('SIGINT')
    }
    expect(await exited).toBe(3)
    expect(stderr).toBe('')
  })
})
