/**
 * The Dockerfile and .dockerignore, read as text (no Docker engine here): stages, pinned
 * bases, production dependencies only, non-root user, and the same entry point as `npm start`
 * and the Deployment. Also: the compiled code imports only production dependencies, or the
 * image (`npm ci --omit=dev`) would fail at start.
 */
import { builtinModules } from 'node:module'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, posix, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BASE, one, packageJson, readText, rendered, ROOT, serveFlags } from './deploy-helpers.js'

interface Instruction {
  readonly keyword: string
  readonly args: string
}
interface Stage {
  readonly image: string
  readonly name: string | undefined
  readonly instructions: Instruction[]
}

/** Dockerfile instructions with comments dropped and `\` continuations joined. */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = []
  let current = ''
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd()
    if (current === '' && /^\s*(#|$)/.test(line)) continue
    if (current !== '' && /^\s*#/.test(line)) continue
    if (line.endsWith('\\')) current += `${line.slice(0, -1)} `
    else {
      logical.push(current + line)
      current = ''
    }
  }
  const stages: Stage[] = []
  for (const line of logical) {
    const match = /^\s*(\w+)\s+(.*)$/.exec(line)
    if (match === null) throw new Error(`cannot parse Dockerfile line: ${line}`)
    const keyword = (match[1] as string).toUpperCase()
    const args = (match[2] as string).trim()
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      if (from === null) throw new Error(`bad FROM: ${args}`)
      stages.push({ image: from[1] as string, name: from[2], instructions: [] })
    } else if (keyword === 'ARG' && stages.length === 0) {
      throw new Error('ARG before FROM: pin base images literally')
    } else {
      const stage = stages.at(-1)
      if (stage === undefined) throw new Error(`${keyword} before FROM`)
      stage.instructions.push({ keyword, args })
    }
  }
  return stages
}

const stages = parseDockerfile(readText('Dockerfile'))
const runtime = stages.at(-1) as Stage
const exec = (stage: Stage, keyword: string): string[] | undefined => {
  const found = stage.instructions.filter((i) => i.keyword === keyword).at(-1)
  if (found === undefined) return undefined
  const parsed: unknown = JSON.parse(found.args)
  if (!Array.isArray(parsed)) throw new Error(`${keyword} is not in exec (JSON) form`)
  return parsed as string[]
}
const runs = (stage: Stage): string[] => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args)
const workdir = (stage: Stage): string => stage.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args ?? '/'
const copiesFrom = (stage: Stage, from: string): { src: string; dest: string }[] =>
  stage.instructions
    .filter((i) => i.keyword === 'COPY' && i.args.startsWith(`--from=${from} `))
    .map((i) => {
      const [, src, dest] = i.args.split(/\s+/)
      return { src: src as string, dest: posix.resolve(workdir(stage), dest as string) }
    })

/** `node dist/cli/main.js serve …` from the package.json start script. */
function startEntry(): string {
  const script = String(packageJson().scripts.start)
  const match = /(?:^|&&\s*)node\s+(\S+)\s+serve\b/.exec(script)
  if (match === null) throw new Error(`start script does not run "node <entry> serve": ${script}`)
  return match[1] as string
}

const engineMajor = (): number => Number(/(\d+)/.exec(String(packageJson().engines.node))?.[1])

describe('Dockerfile', () => {
  it('is multi-stage: build, production dependencies, runtime', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3)
    expect(new Set(stages.map((s) => s.name).filter((n) => n !== undefined)).size).toBe(stages.filter((s) => s.name !== undefined).length)
  })

  it('pins every base image by an exact tag, on the Node major the package needs', () => {
    for (const stage of stages) {
      expect(stage.image, stage.image).toMatch(/^[\w./-]+:[\w.-]+(@sha256:[a-f0-9]{64})?$/)
      expect(stage.image).not.toMatch(/:latest\b/)
    }
    for (const stage of stages.filter((s) => s.image.startsWith('node:'))) {
      const version = /^node:(\d+)\.(\d+)\.(\d+)-/.exec(stage.image)
      expect(version, `${stage.image} is not an exact x.y.z tag`).not.toBeNull()
      expect(Number(version?.[1])).toBe(engineMajor())
    }
    expect(runtime.image).toMatch(new RegExp(`^gcr\\.io/distroless/nodejs${engineMajor()}-debian\\d+:nonroot$`))
  })

  it('compiles with dev dependencies, then installs production dependencies alone in a clean stage', () => {
    const build = stages.find((s) => runs(s).some((r) => /\bnpm run build\b/.test(r)))
    expect(build, 'a stage runs npm run build').toBeDefined()
    expect(runs(build as Stage).some((r) => /\bnpm ci\b/.test(r) && !r.includes('--omit=dev'))).toBe(true)

    const copied = runtime.instructions.filter((i) => i.keyword === 'COPY' && /\bnode_modules\b/.test(i.args))
    expect(copied).toHaveLength(1)
    const from = /--from=(\S+)/.exec(copied[0]?.args ?? '')?.[1]
    const deps = stages.find((s) => s.name === from) as Stage
    expect(deps, `node_modules come from stage ${String(from)}`).toBeDefined()
    expect(runs(deps).some((r) => /\bnpm ci\b/.test(r) && r.includes('--omit=dev') && r.includes('--ignore-scripts'))).toBe(true)
    expect(runs(deps).some((r) => /\bnpm run build\b/.test(r))).toBe(false)
  })

  it('copies the compiled output to where the entry point expects it', () => {
    const build = stages.find((s) => runs(s).some((r) => /\bnpm run build\b/.test(r))) as Stage
    const outDir = String((JSON.parse(readText('tsconfig.json')) as { compilerOptions: { outDir: string } }).compilerOptions.outDir)
    const dist = copiesFrom(runtime, build.name as string).find((c) => c.src === posix.join(workdir(build), outDir))
    expect(dist, `COPY --from=${String(build.name)} ${posix.join(workdir(build), outDir)}`).toBeDefined()
    expect(dist?.dest).toBe(posix.join(workdir(runtime), outDir))
  })

  it('runtime: no shell commands, numeric non-root user, production mode', () => {
    expect(runs(runtime)).toEqual([]) // distroless has no shell
    const user = runtime.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args
    expect(user).toMatch(/^65532(:65532)?$/)
    expect(runtime.instructions.some((i) => i.keyword === 'ENV' && /NODE_ENV=production/.test(i.args))).toBe(true)
    expect(runtime.instructions.some((i) => i.keyword === 'COPY' && /^policies\s/.test(i.args))).toBe(true)
  })

  it('starts the same entry point as `npm start` and the Deployment: <entry> serve', () => {
    expect(exec(runtime, 'ENTRYPOINT')).toBeUndefined() // distroless: node is the entrypoint
    const cmd = exec(runtime, 'CMD') as string[]
    const entry = posix.resolve(workdir(runtime), startEntry())
    expect(posix.resolve(workdir(runtime), cmd[0] as string)).toBe(entry)
    expect(cmd[1]).toBe('serve')
    expect(cmd).toContain('--in-cluster')
    expect(cmd.filter((a) => a.startsWith('--')).filter((f) => !serveFlags().includes(f))).toEqual([])
    const args = one(rendered(BASE).objects, 'Deployment').spec.template.spec.containers[0].args as string[]
    expect(posix.resolve(workdir(runtime), args[0] as string)).toBe(entry)
    expect(args[1]).toBe('serve')
  })

  it('every file copied from the build context exists and is not excluded by .dockerignore', () => {
    const ignore = dockerignore(readText('.dockerignore'))
    for (const stage of stages) {
      for (const i of stage.instructions.filter((x) => x.keyword === 'COPY' && !x.args.startsWith('--from='))) {
        const sources = i.args.split(/\s+/).slice(0, -1)
        for (const src of sources) {
          expect(existsSync(join(ROOT, src)), src).toBe(true)
          const files = statSync(join(ROOT, src)).isDirectory() ? listFiles(join(ROOT, src)).map((f) => relative(ROOT, f)) : [src]
          for (const file of files) expect(ignore(file), `${file} is excluded from the build context`).toBe(false)
        }
      }
    }
  })
})

/** Docker's .dockerignore rules: globs over the path or any parent, `!` re-includes, last match wins. */
export function dockerignore(text: string): (path: string) => boolean {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negated = l.startsWith('!')
      const glob = posix.normalize((negated ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/+$/, '')
      const source = glob
        .split('**')
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
        .join('.*')
      return { negated, re: new RegExp(`^${source}$`) }
    })
  return (path: string) => {
    const parts = path.split('/')
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'))
    let excluded = false
    for (const { negated, re } of patterns) if (prefixes.some((p) => re.test(p))) excluded = !negated
    return excluded
  }
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    return statSync(path).isDirectory() ? listFiles(path) : [path]
  })
}

describe('.dockerignore', () => {
  const ignored = dockerignore(readText('.dockerignore'))
  it.each(['node_modules/yaml/package.json', 'dist/cli/main.js', '.git/HEAD', 'test/deploy/dockerfile.test.ts', 'manifests/overlays/self-signed/tls.key', '.run/ca.crt', 'coverage/index.html'])(
    'keeps %s out of the build context',
    (path) => expect(ignored(path)).toBe(true),
  )
  it.each(['package.json', 'package-lock.json', 'tsconfig.json', 'src/cli/main.ts', 'policies/default.yaml'])('sends %s', (path) => expect(ignored(path)).toBe(false))
})

describe('production dependencies', () => {
  const pkg = packageJson()
  const prod = new Set(Object.keys(pkg.dependencies as object))
  const builtins = new Set(builtinModules)

  /** Bare module specifiers that a source file imports at run time (type-only imports excluded). */
  function runtimeImports(text: string): string[] {
    const specifiers: string[] = []
    const patterns = [
      /^\s*import\s+(?!type\s)[^'"]*?\s+from\s+['"]([^'"]+)['"]/gm,
      /^\s*export\s+(?!type\s)[^'"]*?\s+from\s+['"]([^'"]+)['"]/gm,
      /^\s*import\s+['"]([^'"]+)['"]/gm,
      /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    ]
    for (const re of patterns) for (const m of text.matchAll(re)) specifiers.push(m[1] as string)
    return specifiers.filter((s) => !s.startsWith('.') && !s.startsWith('/'))
  }
  const packageOf = (specifier: string): string => {
    const parts = specifier.split('/')
    return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string)
  }

  it('finds imports (control)', () => {
    expect(runtimeImports("import { a, type B } from 'x/y'\nimport type { C } from 'z'\nexport { d } from '@s/p/q'\nconst m = await import('w')")).toEqual(['x/y', '@s/p/q', 'w'])
  })

  /** src/ files the entry point loads at run time, following relative imports (.js -> .ts). */
  function reachableFromEntry(): string[] {
    const entry = join(ROOT, startEntry().replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'))
    const seen = new Set<string>()
    const queue = [entry]
    while (queue.length > 0) {
      const file = queue.pop() as string
      if (seen.has(file)) continue
      seen.add(file)
      const text = readFileSync(file, 'utf8')
      const relativeSpecifiers = [
        /^\s*import\s+(?!type\s)[^'"]*?\s+from\s+['"](\.[^'"]+)['"]/gm,
        /^\s*export\s+(?!type\s)[^'"]*?\s+from\s+['"](\.[^'"]+)['"]/gm,
        /^\s*import\s+['"](\.[^'"]+)['"]/gm,
        /\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g,
      ].flatMap((re) => [...text.matchAll(re)].map((m) => m[1] as string))
      for (const spec of relativeSpecifiers) {
        const target = join(file, '..', spec.replace(/\.js$/, '.ts'))
        if (target.endsWith('.ts') && existsSync(target)) queue.push(target)
      }
    }
    return [...seen]
  }

  it('follows the import graph from the entry point (control)', () => {
    const files = reachableFromEntry().map((f) => relative(ROOT, f))
    expect(files).toContain(join('src', 'cli', 'main.ts'))
    expect(files).toContain(join('src', 'policy', 'load.ts'))
  })

  it('the code the entry point loads imports only dependencies, never devDependencies (the image has none)', () => {
    const offenders: string[] = []
    for (const file of reachableFromEntry()) {
      for (const specifier of runtimeImports(readFileSync(file, 'utf8'))) {
        const name = packageOf(specifier)
        if (specifier.startsWith('node:') || builtins.has(name)) continue
        if (!prod.has(name)) offenders.push(`${relative(ROOT, file)}: ${specifier}`)
      }
    }
    expect(offenders).toEqual([])
  })
})

describe('signals (node runs as PID 1)', () => {
  const serveFile = join(ROOT, 'src', 'cli', 'serve.ts')
  const serveImplemented = existsSync(serveFile) && /\.command\(\s*['"]serve['"]/.test(readFileSync(serveFile, 'utf8'))

  it.skipIf(!serveImplemented)('the server installs a SIGTERM handler (PID 1 gets no default one)', () => {
    const sources = listFiles(join(ROOT, 'src'))
      .filter((f) => f.endsWith('.ts') && !f.includes(`${join('src', 'bench')}`))
      .map((f) => readFileSync(f, 'utf8'))
    expect(sources.some((s) => /process\.(on|once)\(\s*['"]SIGTERM['"]/.test(s))).toBe(true)
  })
})
