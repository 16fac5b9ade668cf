#!/usr/bin/env node
/**
 * @module cli/kubectl-plugin
 * `kubectl upgrade-guard plan|status|audit|validate …`: kubectl runs the executable
 * `kubectl-upgrade_guard` from the PATH (a dash in a plugin name is an underscore in the file
 * name) with every argument after `upgrade-guard`. This translates kubectl's own conventions
 * into the main CLI's flags and then runs the main CLI in this same process:
 *
 * - `--kubeconfig FILE` and `--context NAME` are passed on. Without `--kubeconfig` (and without
 *   `--state`), the commands that read live state use what kubectl would: `$KUBECONFIG` (a list
 *   of files is merged, as kubectl does), else `~/.kube/config`. Neither there: a usage error,
 *   never a silent judgement against an empty state.
 * - `-n/--namespace NS`: for `plan` and `status`, `--cluster NAME` becomes `--cluster NS/NAME`;
 *   for the other commands it is passed on as `--namespace NS`. Without `-n`, the namespace of
 *   the kubeconfig context is used where a namespace is needed, else `default`, like kubectl.
 *
 * Exit codes are the main CLI's; a usage error of the plugin itself is exit 2, one line on stderr.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parse } from 'yaml'

export const PLUGIN_NAME = 'kubectl-upgrade_guard'
/** The commands that read cluster state, and so default to kubectl's kubeconfig. */
export const LIVE_COMMANDS: ReadonlySet<string> = new Set(['plan', 'status', 'audit', 'validate'])
/** The commands whose `--cluster` is NAMESPACE/NAME. */
const CLUSTER_REF_COMMANDS: ReadonlySet<string> = new Set(['plan', 'status'])

export class PluginUsageError extends Error {}

export interface KubectlFlags {
  readonly kubeconfig?: string
  readonly context?: string
  readonly namespace?: string
}

export interface PluginEnvironment {
  readonly KUBECONFIG?: string | undefined
  readonly home: string
}

/** Takes kubectl's flags out of the arguments (before a `--`), in any of kubectl's spellings. */
export function extractKubectlFlags(args: readonly string[]): { flags: KubectlFlags; rest: string[] } {
  const flags: { kubeconfig?: string; context?: string; namespace?: string } = {}
  const rest: string[] = []
  const take = (key: keyof KubectlFlags, flag: string, value: string | undefined): void => {
    if (value === undefined || value === '') throw new PluginUsageError(`${flag} needs a value`)
    if (flags[key] !== undefined && flags[key] !== value) throw new PluginUsageError(`${flag} given twice`)
    flags[key] = value
  }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--') {
      rest.push(...args.slice(i))
      break
    }
    const eq = arg.indexOf('=')
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined
    if (name === '--kubeconfig' || name === '--context' || name === '--namespace') {
      const key = name === '--namespace' ? 'namespace' : (name.slice(2) as 'kubeconfig' | 'context')
      take(key, name, inline ?? args[++i])
    } else if (arg === '-n') take('namespace', '-n', args[++i])
    else if (/^-n[^-]/.test(arg)) take('namespace', '-n', arg.slice(2).replace(/^=/, ''))
    else rest.push(arg)
  }
  return { flags, rest }
}

/** The kubeconfig kubectl would use: $KUBECONFIG (as given: one file or a list), else ~/.kube/config when it exists. */
export function defaultKubeconfig(env: PluginEnvironment): string | undefined {
  if (env.KUBECONFIG !== undefined && env.KUBECONFIG.split(delimiter).some((f) => f !== '')) return env.KUBECONFIG
  const file = join(env.home, '.kube', 'config')
  return existsSync(file) ? file : undefined
}

/**
 * The namespace of the context in use (kubectl's default for -n), or undefined. Read with a plain
 * YAML parse: this runs before the command, for every invocation, and must not need the client
 * library. A kubeconfig that cannot be read is left for the command itself to report.
 */
export function contextNamespace(kubeconfig: string, context: string | undefined): string | undefined {
  let current: string | undefined = context
  const contexts = new Map<string, string | undefined>()
  for (const file of kubeconfig.split(delimiter).filter((f) => f !== '')) {
    let doc: unknown
    try {
      doc = parse(readFileSync(file, 'utf8'))
    } catch {
      continue
    }
    if (doc === null || typeof doc !== 'object') continue
    const config = doc as { 'current-context'?: unknown; contexts?: unknown }
    if (current === undefined && typeof config['current-context'] === 'string' && config['current-context'] !== '') current = config['current-context']
    for (const entry of Array.isArray(config.contexts) ? (config.contexts as unknown[]) : []) {
      const c = entry as { name?: unknown; context?: { namespace?: unknown } } | null
      if (typeof c?.name !== 'string' || contexts.has(c.name)) continue
      contexts.set(c.name, typeof c.context?.namespace === 'string' && c.context.namespace !== '' ? c.context.namespace : undefined)
    }
  }
  return current === undefined ? undefined : contexts.get(current)
}

const hasOption = (args: readonly string[], option: string): boolean => args.some((a) => a === option || a.startsWith(`${option}=`))

/** The main CLI's arguments for what kubectl was given. Throws PluginUsageError. */
export function translateArgs(args: readonly string[], env: PluginEnvironment): string[] {
  const { flags, rest } = extractKubectlFlags(args)
  const commandIndex = rest.findIndex((a) => !a.startsWith('-'))
  const command = commandIndex >= 0 ? (rest[commandIndex] as string) : undefined
  if (command === undefined || !LIVE_COMMANDS.has(command)) {
    // Not one of ours (help, review, serve, …): the main CLI answers, kubectl's flags as they were.
    return [...(flags.kubeconfig !== undefined ? ['--kubeconfig', flags.kubeconfig] : []), ...(flags.context !== undefined ? ['--context', flags.context] : []), ...(flags.namespace !== undefined ? ['--namespace', flags.namespace] : []), ...rest]
  }
  const out = [...rest]
  // `<command> --help` needs no cluster: the main CLI prints the command's flags.
  if (out.includes('--help') || out.includes('-h')) return out
  const fromFiles = hasOption(out, '--state')
  let kubeconfig = flags.kubeconfig
  if (kubeconfig === undefined && !fromFiles) {
    kubeconfig = defaultKubeconfig(env)
    if (kubeconfig === undefined) throw new PluginUsageError(`${command}: no kubeconfig: give --kubeconfig FILE, set KUBECONFIG, create ~/.kube/config, or read files with --state PATH`)
  }
  if (flags.context !== undefined && kubeconfig === undefined) throw new PluginUsageError('--context needs a kubeconfig (it has no meaning with --state)')
  if (kubeconfig !== undefined) out.push('--kubeconfig', kubeconfig)
  if (flags.context !== undefined) out.push('--context', flags.context)

  const namespace = flags.namespace ?? (kubeconfig === undefined ? undefined : contextNamespace(kubeconfig, flags.context))
  if (CLUSTER_REF_COMMANDS.has(command)) {
    const i = out.findIndex((a) => a === '--cluster' || a.startsWith('--cluster='))
    if (i >= 0) {
      const inline = (out[i] as string).startsWith('--cluster=')
      const value = inline ? (out[i] as string).slice('--cluster='.length) : out[i + 1]
      if (value !== undefined && !value.startsWith('-')) {
        const slash = value.indexOf('/')
        if (slash < 0) {
          const ref = `${namespace ?? 'default'}/${value}`
          if (inline) out[i] = `--cluster=${ref}`
          else out[i + 1] = ref
        } else if (flags.namespace !== undefined && value.slice(0, slash) !== flags.namespace) {
          throw new PluginUsageError(`--cluster ${value} is in namespace ${value.slice(0, slash)}, but -n says ${flags.namespace}`)
        }
      }
    }
  } else if (namespace !== undefined && !hasOption(out, '--namespace')) {
    out.push('--namespace', namespace)
  }
  return out
}

export const USAGE = `Usage: kubectl upgrade-guard <command> [flags]

Commands (the upgrade-guard CLI, with kubectl's conventions):
  plan      --cluster NAME --to VERSION     the numbered steps of a safe upgrade
  status    --cluster NAME                  where an upgrade stands and what blocks it
  audit                                     existing objects that break a rule
  validate  -f FILE|DIR                     dry-run manifests against the cluster's state

kubectl flags: --kubeconfig FILE, --context NAME, -n/--namespace NS. Without --kubeconfig the
state is read from $KUBECONFIG or ~/.kube/config; --state PATH reads files instead.
\`kubectl upgrade-guard <command> --help\` lists every flag of a command.
`

/** Runs the plugin for `args` (what kubectl passes: everything after `upgrade-guard`). */
export async function runPlugin(args: readonly string[], env: PluginEnvironment): Promise<void> {
  if (args.length === 0 || (args.length === 1 && (args[0] === '--help' || args[0] === '-h' || args[0] === 'help'))) {
    // Asked for: stdout, exit 0. Nothing given: a usage error, on stderr.
    if (args.length === 0) process.stderr.write(USAGE)
    else process.stdout.write(USAGE)
    process.exitCode = args.length === 0 ? 2 : 0
    return
  }
  let translated: string[]
  try {
    translated = translateArgs(args, env)
  } catch (e) {
    if (!(e instanceof PluginUsageError)) throw e
    process.stderr.write(`${PLUGIN_NAME}: ${e.message}\n`)
    process.exitCode = 2
    return
  }
  // main.js parses process.argv when it is loaded; hand it the translated arguments and load it
  // here, in this process (no second Node start, the same exit code, stdin and stdout).
  const main = fileURLToPath(new URL('./main.js', import.meta.url))
  process.argv = [process.argv[0] as string, main, ...translated]
  await import('./main.js')
}

/** True when this file is the program being run (through kubectl or an npm bin link, a symlink to it). */
function isEntryPoint(): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url
  } catch {
    return false
  }
}

if (isEntryPoint()) await runPlugin(process.argv.slice(2), { KUBECONFIG: process.env.KUBECONFIG, home: homedir() })
