/**
 * @module bench/run
 * `npm run bench`: every performance target of the project, measured in one run against the floor
 * (a bare node:https server that parses the AdmissionReview and answers `allowed: true`), each
 * printed with its figure and "met"/"missed"; the LAST line is the CPU-per-request ratio.
 *
 * 1. CPU per request. The baseline (bench/baseline-server) and the webhook as deployed
 *    (`node dist/cli/main.js serve`, default policy, examples/state, one decision log line at
 *    info, metrics on), both pinned to core 0 with taskset, the load generator (this process,
 *    autocannon, keep-alive TLS) on core 1. For the KCP UPDATE body (allowed) and the denied MD
 *    body: ≥ 5 rounds, the order baseline/webhook alternated each round; the server's CPU time
 *    from /proc/PID/stat over the measured phase divided by the requests answered. Medians with
 *    the range (min–max) over the rounds; the ratio is taken per round, then its median. A round
 *    that lost more than 0.25 cores to other processes or to hypervisor steal is repeated (at
 *    most as many extra rounds as asked for), and the least disturbed rounds are used.
 * 2. review() in process (bench/state-probe, JSON.parse excluded): p50/p99 on examples/state
 *    and on the big state.
 * 3. Big state (1,000 Clusters, 1,000 KCPs, 5,000 MDs as `kubectl get -A -o yaml` files): view
 *    heap after a full GC (file path and list+watch path, and whether both store the same
 *    records); the webhook started with `--state` on them under each candidate set of Node
 *    flags: ready time, RSS at ready and after the load phase, CPU per request. The best flags
 *    are those with the lowest CPU per request among the ones that meet the RSS and p99 targets; the
 *    Deployment's NODE_OPTIONS (manifests/base/deployment.yaml) are checked against them.
 * 4. `upgrade-guard validate` over 1,000 proposed objects against the big state (< 2 s).
 *
 * Options (or BENCH_QUICK=1 for --quick):
 *   --quick            short phases while iterating: 2 s measured after 1 s warm-up, 5 rounds,
 *                      3 flag candidates, 4 s of big-state load
 *   --seconds N        measured seconds per load phase (default 6), after --warmup N (default 2)
 *   --big-seconds N    load on the big-state webhook before its RSS is read (default 10)
 *   --rounds N         alternated baseline/webhook rounds per body (default 5, at least 5)
 *   --connections N    keep-alive connections (default 10)
 *   --only LIST        comma list of sections: cpu,review,memory,validate (default all)
 *   --profile          run the webhook of section 1 under --cpu-prof and print its hot spots
 *   --no-pin           do not pin with taskset
 *   --keep             keep the temporary folder (logs, profiles, generated state)
 *   --out FILE         results JSON (default .run/bench/results.json)
 *   --node-options="FLAGS", --webhook-args="FLAGS"  extra Node / `serve` flags for the webhook
 *                      of section 1 (experiments, e.g. --webhook-args="--log-level warn")
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { generateCertificates } from '../src/server/certificates.js'
import { benchBodies, EXAMPLE_TARGET, type BenchBody } from './bodies.js'
import { formatHotSpots } from './cpu-profile.js'
import { AUDIT_TARGET_SECONDS, describeAuditBench, runAuditBench } from './audit-bench.js'
import { BIG_STATE, generateProposed, generateState } from './generate-state.js'
import { runLoad, type LoadResult } from './load.js'
import { memoryOf, freePort, getText, postReview, ROOT, spawnNode, waitUntil, type Child, type Memory } from './processes.js'
import { quantile, readHistogram, subtract, type HistogramSnapshot } from './prometheus.js'

const TARGETS = { cpuRatio: 1.4, cpuRatioMoonshot: 1.25, reviewP50Us: 25, rssReadyMiB: 110, rssLoadedMiB: 160, viewHeapMiB: 10, readySeconds: 2, serverP99Ms: 0.5, validateSeconds: 2 } as const
const HISTOGRAM = 'upgrade_guard_decision_duration_seconds'

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: process.env.BENCH_QUICK === '1' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    'big-seconds': { type: 'string' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
    only: { type: 'string', default: 'cpu,review,memory,validate,audit' },
    profile: { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'node-options': { type: 'string', default: '' },
    'webhook-args': { type: 'string', default: '' },
    out: { type: 'string', default: join(ROOT, '.run/bench/results.json') },
  },
})
const QUICK = flags.quick
const SECONDS = Number(flags.seconds ?? (QUICK ? 2 : 6))
const WARMUP = Number(flags.warmup ?? (QUICK ? 1 : 2))
const BIG_SECONDS = Number(flags['big-seconds'] ?? (QUICK ? 4 : 10))
const CONNECTIONS = Number(flags.connections)
const ROUNDS = Math.max(5, Number(flags.rounds))
const ONLY = new Set(flags.only.split(','))
/** Extra Node flags for the section-1 webhook only (experiments). */
const WEBHOOK_NODE_OPTIONS = flags['node-options'].split(/\s+/).filter((o) => o !== '')
/** Extra `serve` flags (experiments, e.g. --log-level warn). */
const WEBHOOK_ARGS = flags['webhook-args'].split(/\s+/).filter((o) => o !== '')

/** Servers on core 0, the load generator on core 1 (when the machine has two cores or more). */
const PIN = !flags['no-pin'] && availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0
const SERVER_CPU = PIN ? ['taskset', '-c', '0'] : []

const say = (line = ''): void => void process.stdout.write(`${line}\n`)
const f0 = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : 'n/a')
const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : 'n/a')
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : 'n/a')
const f3 = (n: number): string => (Number.isFinite(n) ? n.toFixed(3) : 'n/a')
const mark = (ok: boolean): string => (ok ? 'met' : 'missed')

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? (s[(s.length - 1) / 2] ?? Number.NaN) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2
}
/** `median (min–max)` */
const spread = (xs: readonly number[], fmt: (n: number) => string): string => (xs.length > 1 ? `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : fmt(median(xs)))

// ---------------------------------------------------------------------------------------------
// Machine

function machine(): Record<string, string> {
  const run = (cmd: string, args: string[]): string => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim()
    } catch {
      return 'n/a'
    }
  }
  const memLine = run('free', ['-h']).split('\n').find((l) => l.startsWith('Mem:')) ?? ''
  return {
    nproc: run('nproc', []) === 'n/a' ? String(availableParallelism()) : run('nproc', []),
    cpu: cpus()[0]?.model ?? 'n/a',
    memory: memLine === '' ? `${(totalmem() / 2 ** 30).toFixed(1)} GiB` : `${memLine.split(/\s+/)[1] ?? '?'} total (free -h: ${memLine.replace(/\s+/g, ' ')})`,
    node: process.version,
    kernel: release(),
  }
}

// ---------------------------------------------------------------------------------------------
// CPU time of a child (Linux /proc) and of this process (the load generator)

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
}

/**
 * CPU seconds of the whole machine, all cores (/proc/stat): busy in this VM, and stolen by the
 * hypervisor (a VM whose host is overcommitted runs every process slower, the baseline too).
 */
function machineSeconds(): { readonly busy: number; readonly steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).map(Number)
  return { busy: (user + nice + system + irq + softirq) / CLK_TCK, steal: steal / CLK_TCK }
}

interface Phase {
  readonly load: LoadResult
  /** CPU used during the measured phase, as a share of one core. */
  readonly serverCpu: number
  readonly clientCpu: number
  /** CPU the rest of the machine used meanwhile (other processes: noise), in cores. */
  readonly otherCpu: number
  /** CPU the hypervisor took from this VM meanwhile (steal time), in cores. */
  readonly stolenCpu: number
}

/** Warm-up, then one measured phase with the CPU it cost server, load generator and everyone else. */
async function measure(pid: number, port: number, bodies: readonly string[], between?: () => Promise<void>, seconds = SECONDS): Promise<Phase> {
  if (WARMUP > 0) await runLoad({ port, bodies, seconds: WARMUP, connections: CONNECTIONS })
  await between?.()
  const server0 = cpuSecondsOf(pid)
  const client0 = process.cpuUsage()
  const machine0 = machineSeconds()
  const t0 = performance.now()
  const load = await runLoad({ port, bodies, seconds, connections: CONNECTIONS })
  const wall = (performance.now() - t0) / 1000
  const client = process.cpuUsage(client0)
  const serverCpu = (cpuSecondsOf(pid) - server0) / wall
  const clientCpu = (client.user + client.system) / 1e6 / wall
  const machine = machineSeconds()
  return { load, serverCpu, clientCpu, otherCpu: Math.max(0, (machine.busy - machine0.busy) / wall - serverCpu - clientCpu), stolenCpu: (machine.steal - machine0.steal) / wall }
}

/** Server CPU time per answered request, in microseconds (less sensitive to a busy machine than req/s). */
const cpuPerRequestUs = (p: Phase): number => (p.serverCpu * 1e6) / p.load.requestsPerSecond

/** Other processes' CPU above this (cores) during a phase makes its figures noise. */
const NOISY_CORES = 0.25
const noisy: string[] = []

function printPhase(name: string, p: Phase): void {
  if (p.otherCpu > NOISY_CORES) noisy.push(`${name} (${f2(p.otherCpu)} cores used by other processes)`)
  else if (p.stolenCpu > NOISY_CORES) noisy.push(`${name} (${f2(p.stolenCpu)} cores stolen by the hypervisor)`)
  const l = p.load
  say(`  ${name}: ${f1(l.requestsPerSecond)} req/s (${l.requests} in ${f1(l.seconds)} s), latency p50 ${f3(l.p50Ms)} ms, p99 ${f3(l.p99Ms)} ms, max ${f1(l.maxMs)} ms; errors ${l.errors}, timeouts ${l.timeouts}, non-2xx ${l.non2xx}; CPU: server ${f2(p.serverCpu)} (${f1(cpuPerRequestUs(p))} µs per request), load generator ${f2(p.clientCpu)}, other processes ${f2(p.otherCpu)} cores, stolen by the hypervisor ${f2(p.stolenCpu)} cores`)
}

// ---------------------------------------------------------------------------------------------
// Processes

interface Tls {
  readonly cert: string
  readonly key: string
  readonly ca: string
  readonly caPem: string
}

async function writeTls(dir: string): Promise<Tls> {
  const generated = await generateCertificates()
  const files = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key'), ca: join(dir, 'ca.crt') }
  writeFileSync(files.cert, generated.cert)
  writeFileSync(files.key, generated.key, { mode: 0o600 })
  writeFileSync(files.ca, generated.caCert)
  return { ...files, caPem: generated.caCert }
}

async function startBaseline(tls: Tls, dir: string, profileDir?: string): Promise<{ child: Child; port: number }> {
  const port = await freePort()
  const nodeOptions = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir]
  const child = spawnNode(['dist-bench/bench/baseline-server.js', '--cert', tls.cert, '--key', tls.key, '--port', String(port)], join(dir, 'baseline.log'), nodeOptions, SERVER_CPU)
  await waitUntil('baseline', async () => (await postReview(port, '{"request":{"uid":"probe"}}', tls.caPem)).status === 200, child, 20_000)
  return { child, port }
}

interface Webhook {
  readonly child: Child
  readonly port: number
  readonly metricsPort: number
  readonly readyMs: number
}

async function startWebhook(tls: Tls, dir: string, state: string, name: string, o: { profileDir?: string; nodeOptions?: readonly string[]; args?: readonly string[] } = {}): Promise<Webhook> {
  const port = await freePort()
  const metricsPort = await freePort()
  const args = ['dist/cli/main.js', 'serve', '--tls-cert', tls.cert, '--tls-key', tls.key, '--state', state, '--policy', 'policies/default.yaml', '--host', '127.0.0.1', '--port', String(port), '--metrics-port', String(metricsPort), ...(o.args ?? [])]
  const nodeOptions = [...(o.nodeOptions ?? []), ...(o.profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', o.profileDir])]
  const child = spawnNode(args, join(dir, `${name}.log`), nodeOptions, SERVER_CPU)
  const readyMs = await waitUntil(name, async () => (await getText(`http://127.0.0.1:${metricsPort}/readyz`)).status === 200, child, 120_000)
  return { child, port, metricsPort, readyMs }
}

async function histogram(w: Webhook): Promise<HistogramSnapshot> {
  return readHistogram((await getText(`http://127.0.0.1:${w.metricsPort}/metrics`)).text, HISTOGRAM, { endpoint: 'validate' })
}

/** One verified request per body: TLS against the CA, HTTP 200, uid echoed, the expected decision. */
async function preflight(port: number, bodies: readonly BenchBody[], caPem: string, isBaseline: boolean): Promise<void> {
  for (const b of bodies) {
    const text = JSON.stringify(b.review)
    const res = await postReview(port, text, caPem)
    const uid = (b.review.request as { uid: string }).uid
    let answer: { response?: { uid?: unknown; allowed?: unknown } } = {}
    try {
      answer = JSON.parse(res.text) as typeof answer
    } catch {
      // reported below
    }
    const expected = isBaseline ? true : b.expectAllowed
    if (res.status !== 200 || answer.response?.uid !== uid || answer.response.allowed !== expected) {
      throw new Error(`preflight failed for "${b.label}" on port ${port}: HTTP ${res.status}, expected uid ${uid} allowed=${expected}, got ${res.text.slice(0, 300)}`)
    }
  }
}

// ---------------------------------------------------------------------------------------------

interface ServerSide {
  readonly count: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly p99BucketMs: readonly [number, number]
  readonly meanMs: number
}

function serverSide(h: HistogramSnapshot): ServerSide {
  const p50 = quantile(0.5, h)
  const p99 = quantile(0.99, h)
  return { count: h.count, p50Ms: p50.value * 1000, p99Ms: p99.value * 1000, p99BucketMs: [p99.lower * 1000, p99.upper * 1000], meanMs: h.count === 0 ? Number.NaN : (h.sum / h.count) * 1000 }
}

const printServerSide = (s: ServerSide): void =>
  say(`  server-side decision time (/metrics ${HISTOGRAM}{endpoint="validate"}, this phase only, ${s.count} observations): p50 ${f3(s.p50Ms)} ms, p99 ${f3(s.p99Ms)} ms (histogram_quantile; bucket ${f3(s.p99BucketMs[0])}–${f3(s.p99BucketMs[1])} ms), mean ${f3(s.meanMs)} ms`)

function profileSummary(dir: string): string | undefined {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  return file === undefined ? undefined : formatHotSpots(join(dir, file), 12)
}


interface Probe {
  readonly loadMs: number
  readonly rssBeforeMiB: number
  readonly rssMiB: number
  readonly heapUsedMiB: number
  readonly viewHeapMiB: number
  readonly sameRecords?: boolean
  readonly decisions: number
  readonly distinctBodies: number
  readonly decision: { p50Us: number; p99Us: number }
  readonly full: { p50Us: number; p99Us: number }
}

function probe(args: readonly string[]): Probe {
  const r = spawnSync(process.execPath, ['--expose-gc', 'dist-bench/bench/state-probe.js', ...args], { cwd: ROOT, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`state probe ${args.join(' ')} failed: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Probe
}

/** NODE_OPTIONS of the Deployment (manifests/base/deployment.yaml), as a list of flags. */
function deploymentNodeOptions(): string[] {
  const text = readFileSync(join(ROOT, 'manifests/base/deployment.yaml'), 'utf8')
  const m = /name: NODE_OPTIONS\s*\n\s*value:\s*"?([^"\n]*)"?/.exec(text)
  return (m?.[1] ?? '').trim().split(/\s+/).filter((o) => o !== '')
}

interface Line {
  readonly measure: string
  readonly figure: string
  readonly target: string
  readonly met?: boolean
}

async function main(): Promise<void> {
  const started = performance.now()
  const dir = mkdtempSync(join(tmpdir(), 'ug-bench-'))
  const facts = machine()
  const date = new Date().toISOString()
  if (PIN) execFileSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' })
  say(`upgrade-guard benchmark, ${date}${QUICK ? ' (QUICK mode: short phases, figures indicative only)' : ''}`)
  say(`machine: nproc ${facts.nproc}, ${facts.cpu}, memory ${facts.memory}, node ${facts.node}, kernel ${facts.kernel}`)
  say(`pinning: ${PIN ? 'servers on core 0 (taskset -c 0), load generator on core 1' : 'none (taskset missing, one core, or --no-pin)'}`)
  say(`load: autocannon, ${CONNECTIONS} keep-alive TLS connections to 127.0.0.1, pipelining 1, ${WARMUP} s warm-up + ${SECONDS} s measured per phase, POST /validate?timeout=10s; ${ROUNDS} rounds per body, order alternated`)
  say(`work dir: ${dir}`)
  if (WEBHOOK_NODE_OPTIONS.length > 0) say(`section-1 webhook Node flags: ${WEBHOOK_NODE_OPTIONS.join(' ')}`)
  if (WEBHOOK_ARGS.length > 0) say(`extra serve flags: ${WEBHOOK_ARGS.join(' ')}`)
  say(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (1/5/15 min); other processes' CPU is shown per phase`)

  const tls = await writeTls(dir)
  const examples = benchBodies(EXAMPLE_TARGET)
  const kcpBody = examples.find((b) => b.label.startsWith('KCP UPDATE'))
  const deniedBody = examples.find((b) => !b.expectAllowed)
  if (kcpBody === undefined || deniedBody === undefined) throw new Error('bench bodies: no KCP UPDATE or denied body')
  const cases = [
    { name: 'KCP UPDATE', body: kcpBody },
    { name: 'denied MD UPDATE', body: deniedBody },
  ]
  const results: Record<string, unknown> = { date, machine: facts, quick: QUICK, pinned: PIN, settings: { seconds: SECONDS, warmup: WARMUP, bigSeconds: BIG_SECONDS, connections: CONNECTIONS, rounds: ROUNDS } }
  const lines: Line[] = []
  const children: Child[] = []
  const stopAll = async (): Promise<void> => void (await Promise.all(children.map((c) => c.stop())))
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)))
  let lastLine = 'CPU per request ratio: not measured (--only without cpu)'

  try {
    // 1. CPU per request against the bare baseline -------------------------------------------------
    if (ONLY.has('cpu')) {
      say()
      say('1. CPU per request: bare node:https baseline vs `serve` (default policy, examples/state, decision log line at info, metrics on)')
      const baseline = await startBaseline(tls, dir)
      children.push(baseline.child)
      const profileDir = join(dir, 'profile')
      if (flags.profile) mkdirSync(profileDir, { recursive: true })
      const webhook = await startWebhook(tls, dir, 'examples/state', 'webhook', { nodeOptions: WEBHOOK_NODE_OPTIONS, args: WEBHOOK_ARGS, ...(flags.profile ? { profileDir } : {}) })
      children.push(webhook.child)
      await preflight(baseline.port, examples, tls.caPem, true)
      await preflight(webhook.port, examples, tls.caPem, false)
      const perCase: Record<string, unknown> = {}
      const ratios: { name: string; ratios: number[] }[] = []
      let server: ServerSide | undefined
      for (const c of cases) {
        const text = JSON.stringify(c.body.review)
        say(`  body: ${c.body.label}, ${text.length} B, ${c.body.expectAllowed ? 'allowed' : 'denied'}`)
        const rounds: { baseline: Phase; webhook: Phase; ratio: number }[] = []
        // A round in which either phase lost more than NOISY_CORES to other processes or to
        // hypervisor steal is repeated (at most ROUNDS extra attempts per body); the figures
        // are taken over the undisturbed rounds, topped up with the least disturbed ones.
        const attempts: { baseline: Phase; webhook: Phase; ratio: number; noise: number }[] = []
        for (let r = 0; attempts.filter((a) => a.noise <= NOISY_CORES).length < ROUNDS && r < 2 * ROUNDS; r++) {
          const order = r % 2 === 0 ? (['baseline', 'webhook'] as const) : (['webhook', 'baseline'] as const)
          const got: Partial<Record<'baseline' | 'webhook', Phase>> = {}
          for (const who of order) {
            if (who === 'baseline') got.baseline = await measure(baseline.child.pid, baseline.port, [text])
            else {
              let before: HistogramSnapshot | undefined
              got.webhook = await measure(webhook.child.pid, webhook.port, [text], async () => void (before = await histogram(webhook)))
              const s = serverSide(subtract(await histogram(webhook), before ?? (await histogram(webhook))))
              if (server === undefined || s.p99Ms > server.p99Ms) server = s
            }
          }
          const b = got.baseline as Phase
          const w = got.webhook as Phase
          const ratio = cpuPerRequestUs(w) / cpuPerRequestUs(b)
          printPhase(`    #${r + 1} baseline`, b)
          printPhase(`    #${r + 1} webhook `, w)
          const noise = Math.max(b.otherCpu, b.stolenCpu, w.otherCpu, w.stolenCpu)
          say(`    #${r + 1} CPU per request webhook/baseline: ${f2(ratio)} (${f1(cpuPerRequestUs(w))} / ${f1(cpuPerRequestUs(b))} µs)${noise > NOISY_CORES ? ` — disturbed (${f2(noise)} cores taken), repeated` : ''}`)
          attempts.push({ baseline: b, webhook: w, ratio, noise })
        }
        for (const a of [...attempts].sort((x, y) => x.noise - y.noise).slice(0, ROUNDS)) rounds.push({ baseline: a.baseline, webhook: a.webhook, ratio: a.ratio })
        say(`    rounds used: ${rounds.length} of ${attempts.length} measured (${attempts.filter((a) => a.noise <= NOISY_CORES).length} undisturbed)`)
        const bUs = rounds.map((r) => cpuPerRequestUs(r.baseline))
        const wUs = rounds.map((r) => cpuPerRequestUs(r.webhook))
        const rs = rounds.map((r) => r.ratio)
        ratios.push({ name: c.name, ratios: rs })
        perCase[c.name] = { bytes: text.length, rounds, baselineUs: median(bUs), webhookUs: median(wUs), ratio: median(rs) }
        lines.push({ measure: `CPU per request, ${c.name} (${text.length} B): baseline / serve, µs, median (range) of ${ROUNDS}`, figure: `${spread(bUs, f1)} / ${spread(wUs, f1)}`, target: '' })
        lines.push({ measure: `req/s, ${c.name}: baseline / serve (median)`, figure: `${f0(median(rounds.map((r) => r.baseline.load.requestsPerSecond)))} / ${f0(median(rounds.map((r) => r.webhook.load.requestsPerSecond)))}`, target: '' })
        lines.push({ measure: `CPU per request ratio serve/baseline, ${c.name}, median (range)`, figure: spread(rs, f2), target: `≤ ${TARGETS.cpuRatio}× (moonshot ${TARGETS.cpuRatioMoonshot}×: ${mark(median(rs) <= TARGETS.cpuRatioMoonshot)})`, met: median(rs) <= TARGETS.cpuRatio })
      }
      const logLines = readFileSync(webhook.child.logFile, 'utf8').split('\n').filter((l) => l.includes('"admission decision"')).length
      const webhookMemory = memoryOf(webhook.child.pid)
      await webhook.child.stop()
      await baseline.child.stop()
      say(`  decision log lines written by the webhook: ${logLines} (one per decision, at info)`)
      if (server !== undefined) {
        printServerSide(server)
        lines.push({ measure: 'server-side decision time p99 (/metrics histogram), examples/state, worst phase', figure: `${f3(server.p99Ms)} ms`, target: `≤ ${TARGETS.serverP99Ms} ms`, met: server.p99Ms <= TARGETS.serverP99Ms })
      }
      lines.push({ measure: 'RSS of the webhook after the CPU phases, examples/state', figure: `${f1(webhookMemory.rssMiB)} MiB`, target: '' })
      if (flags.profile) {
        const summary = profileSummary(profileDir)
        if (summary !== undefined) say(`webhook ${summary}`)
      }
      results.cpu = perCase
      lastLine = `CPU per request ratio serve/baseline (median of ${ROUNDS} alternated rounds): ${ratios.map((r) => `${r.name} ${f2(median(r.ratios))}× (${f2(Math.min(...r.ratios))}–${f2(Math.max(...r.ratios))})`).join(', ')}; target ≤ ${TARGETS.cpuRatio}×: ${mark(ratios.every((r) => median(r.ratios) <= TARGETS.cpuRatio))}`
    }

    // The big state, shared by sections 2-4 -------------------------------------------------------
    const needBig = ONLY.has('review') || ONLY.has('memory') || ONLY.has('validate') || ONLY.has('audit')
    const big = needBig ? generateState(join(dir, 'big-state'), BIG_STATE, join(dir, 'big-state-json')) : undefined
    const bigLabel = `${BIG_STATE.clusters} Clusters / ${BIG_STATE.clusters} KCPs / ${BIG_STATE.clusters * BIG_STATE.mdsPerCluster} MDs`
    if (big !== undefined) say(`\nbig state: ${bigLabel}, ${(big.bytes / 2 ** 20).toFixed(1)} MiB of YAML in kind: List files (as kubectl get -A -o yaml prints them), and the same as JSON lists`)

    // 2. review() in process -------------------------------------------------------------------
    if (ONLY.has('review') && big !== undefined) {
      say()
      say('2. review() in process (bench/state-probe), JSON.parse excluded, 10,000 calls after a warm-up')
      const small = probe(['--yaml', join(ROOT, 'examples/state'), '--example'])
      const large = probe(['--yaml', big.dir])
      for (const [name, p] of [['examples/state', small], ['big state', large]] as const) {
        say(`  ${name}: p50 ${f1(p.decision.p50Us)} µs, p99 ${f1(p.decision.p99Us)} µs over ${p.distinctBodies} distinct bodies; with JSON.parse + serialize p50 ${f1(p.full.p50Us)} µs`)
        lines.push({ measure: `review() p50 / p99, in process, ${name}`, figure: `${f1(p.decision.p50Us)} / ${f1(p.decision.p99Us)} µs`, target: `p50 ≤ ${TARGETS.reviewP50Us} µs`, met: p.decision.p50Us <= TARGETS.reviewP50Us })
      }
      results.review = { examples: small, big: large }
    }

    // 3. Memory with the big state, and the Node flags ----------------------------------------------
    if (ONLY.has('memory') && big !== undefined) {
      say()
      say(`3. memory with the big state (${bigLabel})`)
      const fromFiles = probe(['--yaml', big.dir, '--same-as', join(dir, 'big-state-json'), '--decisions', '2000'])
      const fromLists = probe(['--json', join(dir, 'big-state-json'), '--decisions', '2000'])
      say(`  view heap after a full GC: from the YAML files ${f1(fromFiles.viewHeapMiB)} MiB (filled in ${f0(fromFiles.loadMs)} ms), from JSON lists as list+watch delivers them ${f1(fromLists.viewHeapMiB)} MiB; same records on both paths: ${fromFiles.sameRecords === true ? 'yes' : 'NO'}`)
      lines.push({ measure: 'view heap, big state: file path / list+watch path', figure: `${f1(fromFiles.viewHeapMiB)} / ${f1(fromLists.viewHeapMiB)} MiB`, target: `≤ ${TARGETS.viewHeapMiB} MiB`, met: Math.max(fromFiles.viewHeapMiB, fromLists.viewHeapMiB) <= TARGETS.viewHeapMiB })
      lines.push({ measure: 'the list+watch path stores the same lean records as the file path', figure: fromFiles.sameRecords === true ? 'yes' : 'no', target: 'yes', met: fromFiles.sameRecords === true })

      const deployment = deploymentNodeOptions()
      const candidates: string[][] = QUICK
        ? [[], ['--max-semi-space-size=2', '--max-old-space-size=128'], deployment]
        : [[], ['--max-semi-space-size=2', '--max-old-space-size=192'], ['--max-semi-space-size=4', '--max-old-space-size=192'], ['--max-semi-space-size=8', '--max-old-space-size=192'], ['--max-semi-space-size=16', '--max-old-space-size=192'], ['--max-semi-space-size=8', '--max-old-space-size=128'], deployment]
      const unique = [...new Map(candidates.map((c) => [c.join(' '), c])).values()]
      const bigBodies = big.layout.filter((_, i) => i % 20 === 0).flatMap((c, i) => benchBodies(c, 1000 + i * 3))
      const bigTexts = bigBodies.map((b) => JSON.stringify(b.review))
      say(`  webhook with --state on the YAML files, per set of Node flags: ready time, RSS at ready, ${BIG_SECONDS} s of load rotating ${bigTexts.length} bodies of ${bigBodies.length / 3} clusters, RSS after`)
      const runs: { flags: string; readyMs: number; ready: Memory; loaded: Memory; cpuUs: number; rps: number; server: ServerSide }[] = []
      for (const nodeOptions of unique) {
        const name = nodeOptions.length === 0 ? '(no flags)' : nodeOptions.join(' ')
        const w = await startWebhook(tls, dir, big.dir, `webhook-big-${runs.length}`, { nodeOptions })
        children.push(w.child)
        const ready = memoryOf(w.child.pid)
        await preflight(w.port, bigBodies.slice(0, 6), tls.caPem, false)
        let before: HistogramSnapshot | undefined
        const phase = await measure(w.child.pid, w.port, bigTexts, async () => void (before = await histogram(w)), BIG_SECONDS)
        const server = serverSide(subtract(await histogram(w), before ?? (await histogram(w))))
        const loaded = memoryOf(w.child.pid)
        await w.child.stop()
        printPhase(`  ${name}`, phase)
        say(`    ready after ${f2(w.readyMs / 1000)} s; RSS at ready ${f1(ready.rssMiB)} MiB, after load ${f1(loaded.rssMiB)} MiB (peak ${f1(loaded.peakMiB)} MiB); server-side p99 ${f3(server.p99Ms)} ms`)
        runs.push({ flags: name, readyMs: w.readyMs, ready, loaded, cpuUs: cpuPerRequestUs(phase), rps: phase.load.requestsPerSecond, server })
      }
      // A set of flags fits when it meets every target of this state: both RSS figures and the
      // decision p99 (a tiny young generation scavenges often, and each scavenge is a pause).
      const fits = runs.filter((r) => r.ready.rssMiB <= TARGETS.rssReadyMiB && r.loaded.peakMiB <= TARGETS.rssLoadedMiB && r.server.p99Ms <= TARGETS.serverP99Ms)
      // Within 5% of the cheapest CPU is noise on this machine: then the smaller peak RSS wins.
      const cheapest = Math.min(...fits.map((r) => r.cpuUs))
      const best = fits.filter((r) => r.cpuUs <= cheapest * 1.05).sort((a, b) => a.loaded.peakMiB - b.loaded.peakMiB)[0] ?? [...runs].sort((a, b) => a.loaded.peakMiB - b.loaded.peakMiB)[0]
      const deployed = runs.find((r) => r.flags === (deployment.length === 0 ? '(no flags)' : deployment.join(' ')))
      for (const r of runs) lines.push({ measure: `big state, Node flags ${r.flags}: ready; RSS ready / after load (peak); CPU per request`, figure: `${f2(r.readyMs / 1000)} s; ${f1(r.ready.rssMiB)} / ${f1(r.loaded.rssMiB)} (${f1(r.loaded.peakMiB)}) MiB; ${f1(r.cpuUs)} µs`, target: '' })
      if (best !== undefined) {
        lines.push({ measure: `big state RSS at ready, best flags (${best.flags})`, figure: `${f1(best.ready.rssMiB)} MiB`, target: `≤ ${TARGETS.rssReadyMiB} MiB`, met: best.ready.rssMiB <= TARGETS.rssReadyMiB })
        lines.push({ measure: `big state RSS after ${BIG_SECONDS} s of load (peak), best flags`, figure: `${f1(best.loaded.rssMiB)} (${f1(best.loaded.peakMiB)}) MiB`, target: `≤ ${TARGETS.rssLoadedMiB} MiB`, met: best.loaded.peakMiB <= TARGETS.rssLoadedMiB })
        lines.push({ measure: 'big state ready (start to /readyz 200), best flags', figure: `${f2(best.readyMs / 1000)} s`, target: `≤ ${TARGETS.readySeconds} s`, met: best.readyMs <= TARGETS.readySeconds * 1000 })
        lines.push({ measure: 'server-side decision time p99, big state, best flags', figure: `${f3(best.server.p99Ms)} ms`, target: `≤ ${TARGETS.serverP99Ms} ms`, met: best.server.p99Ms <= TARGETS.serverP99Ms })
        lines.push({ measure: 'best Node flags for the big state (lowest CPU per request within 5%, among those meeting the RSS and p99 targets, then least RSS)', figure: best.flags, target: '' })
        lines.push({
          measure: `the Deployment's NODE_OPTIONS (${deployment.join(' ') || 'none'}) are the best ones, or within 5% CPU and the RSS and p99 targets`,
          figure: deployed === undefined ? 'not measured' : `${f1(deployed.cpuUs)} µs, peak ${f1(deployed.loaded.peakMiB)} MiB`,
          target: 'yes',
          met: deployed !== undefined && fits.includes(deployed) && deployed.cpuUs <= cheapest * 1.05,
        })
      }
      results.memory = { fromFiles, fromLists, runs, best: best?.flags, deployment }
    }

    // 4. validate -----------------------------------------------------------------------------
    if (ONLY.has('validate') && big !== undefined) {
      say()
      say('4. upgrade-guard validate over 1,000 proposed objects (500 KCP minor upgrades + 500 MD edits, one file each) against the big state')
      const proposed = generateProposed(join(dir, 'proposed'), big.layout, 1000)
      const time = (args: string[]): { seconds: number; status: number | null; stdout: string } => {
        const t0 = performance.now()
        const r = spawnSync(process.execPath, ['dist/cli/main.js', 'validate', ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 })
        return { seconds: (performance.now() - t0) / 1000, status: r.status, stdout: r.stdout }
      }
      const v = time(['-f', join(dir, 'proposed'), '--state', big.dir, '-o', 'json'])
      let summary = ''
      try {
        const report = JSON.parse(v.stdout) as { objects: { allowed: boolean }[] }
        summary = `${report.objects.length} objects judged, ${report.objects.filter((o) => !o.allowed).length} denied`
      } catch {
        summary = 'output not JSON'
      }
      say(`  validate -f <${proposed.files} files> --state <big state>: ${f2(v.seconds)} s wall (exit ${v.status}; ${summary})`)
      lines.push({ measure: 'validate, 1,000 objects, big state', figure: `${f2(v.seconds)} s`, target: `< ${TARGETS.validateSeconds} s`, met: v.seconds < TARGETS.validateSeconds })
      results.validate = { files: proposed.files, seconds: v.seconds, exit: v.status, summary }
    }

    // 5. the audit of existing objects ------------------------------------------------------------
    if (ONLY.has('audit') && big !== undefined) {
      say()
      say('5. audit of the big state: alone (in process, in slices, CLI), then the webhook under load with the audit re-run every second (300x the default rate) against the same webhook without it')
      const auditBench = runAuditBench(big.dir)
      for (const line of describeAuditBench(auditBench)) say(line)
      const deployment = deploymentNodeOptions()
      const bodies = big.layout.filter((_, i) => i % 20 === 0).flatMap((c, i) => benchBodies(c, 1000 + i * 3))
      const texts = bodies.map((b) => JSON.stringify(b.review))
      const phases: { name: string; cpuUs: number; server: ServerSide }[] = []
      // Alternated, so that neither variant always runs on the quieter half of the machine.
      for (const withAudit of [false, true, false, true]) {
        const name = withAudit ? 'audit every 1 s' : 'no audit'
        const w = await startWebhook(tls, dir, big.dir, `webhook-audit-${phases.length}`, { nodeOptions: deployment, ...(withAudit ? { args: ['--audit-interval', '1', '--audit-debounce', '0'] } : { args: ['--audit-interval', '0'] }) })
        children.push(w.child)
        await preflight(w.port, bodies.slice(0, 6), tls.caPem, false)
        let before: HistogramSnapshot | undefined
        const phase = await measure(w.child.pid, w.port, texts, async () => void (before = await histogram(w)), BIG_SECONDS)
        const server = serverSide(subtract(await histogram(w), before ?? (await histogram(w))))
        await w.child.stop()
        printPhase(`  ${name}`, phase)
        phases.push({ name, cpuUs: cpuPerRequestUs(phase), server })
      }
      const of = (name: string): { cpuUs: number; p99Ms: number } => {
        const ps = phases.filter((p) => p.name === name)
        return { cpuUs: median(ps.map((p) => p.cpuUs)), p99Ms: Math.max(...ps.map((p) => p.server.p99Ms)) }
      }
      const off = of('no audit')
      const on = of('audit every 1 s')
      lines.push({ measure: 'audit of the big state, in process (median of 3) / CLI process wall', figure: `${f3(auditBench.auditMs.median / 1000)} s / ${f2(auditBench.cliSeconds)} s`, target: `≤ ${AUDIT_TARGET_SECONDS} s`, met: auditBench.auditMs.median <= AUDIT_TARGET_SECONDS * 1000 })
      lines.push({ measure: `big state with the audit every 1 s: server CPU per request / decision p99 (without: ${f1(off.cpuUs)} µs / ${f3(off.p99Ms)} ms)`, figure: `${f1(on.cpuUs)} µs / ${f3(on.p99Ms)} ms`, target: `p99 ≤ ${TARGETS.serverP99Ms} ms`, met: on.p99Ms <= TARGETS.serverP99Ms })
      results.audit = { ...auditBench, phases }
    }

    // Summary ------------------------------------------------------------------------------
    say()
    say(`summary${QUICK ? ' (QUICK mode)' : ''}; ${noisy.length > 0 ? `WARNING: other processes or the hypervisor took CPU during ${noisy.length} phase(s) (shared machine): CPU-per-request figures are steadier than req/s, but still noisy` : 'no phase was disturbed by other processes or hypervisor steal'}`)
    say('| measure | figure | target |')
    say('|---|---|---|')
    for (const l of lines) say(`| ${l.measure} | ${l.figure} | ${l.target}${l.met === undefined ? '' : `${l.target === '' ? '' : ': '}${mark(l.met)}`} |`)
    results.lines = lines
    results.noisyPhases = noisy
    results.totalSeconds = (performance.now() - started) / 1000
    mkdirSync(dirname(flags.out), { recursive: true })
    writeFileSync(flags.out, `${JSON.stringify(results, null, 2)}\n`)
    say(`total ${f1((performance.now() - started) / 1000)} s; results JSON: ${flags.out}`)
    say(lastLine)
  } finally {
    await stopAll()
    if (flags.keep) say(`kept ${dir}`)
    else rmSync(dir, { recursive: true, force: true })
  }
}

try {
  await main()
} catch (e) {
  process.stderr.write(`\nbench failed: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = 1
}
