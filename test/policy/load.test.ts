import { describe, expect, it } from 'vitest'
import { DEFAULT_POLICY, DEFAULT_POLICY_FILE, loadPolicy, parsePolicy } from '../../src/policy/load.js'
import { UpgradeGuardError } from '../../src/errors.js'

const HEADER = 'apiVersion: upgrade-guard.io/v1alpha1\nkind: Policy\n'

function errorOf(text: string): UpgradeGuardError {
  try {
    parsePolicy(text, 'p.yaml')
  } catch (e) {
    if (e instanceof UpgradeGuardError) return e
    throw e
  }
  throw new Error('expected an error')
}

describe('policy', () => {
  it('policies/default.yaml spells out exactly the built-in defaults', () => {
    expect(loadPolicy(DEFAULT_POLICY_FILE)).toEqual(DEFAULT_POLICY)
  })

  it('a minimal policy gets every default', () => {
    expect(parsePolicy(HEADER)).toEqual(DEFAULT_POLICY)
  })

  it('overrides merge over the defaults', () => {
    const p = parsePolicy(`${HEADER}rules:\n  no-downgrade: warn\nskew:\n  maximum: 3\nbypass:\n  groups: [platform-admins]\n`)
    expect(p.rules['no-downgrade']).toBe('warn')
    expect(p.rules['catalog-key']).toBe('deny')
    expect(p.skew).toEqual({ default: 1, maximum: 3, optInAnnotation: 'upgrade-guard.io/worker-skew' })
    expect(p.bypass.groups).toEqual(['platform-admins'])
  })

  it.each([
    { name: 'unknown top-level field', text: `${HEADER}rulez: {}\n`, field: 'rulez', message: 'unknown field' },
    { name: 'unknown rule id', text: `${HEADER}rules:\n  max-surge-one: deny\n`, field: 'rules.max-surge-one', message: 'unknown field' },
    { name: 'bad action', text: `${HEADER}rules:\n  catalog-key: block\n`, field: 'rules.catalog-key', message: 'must be one of deny, warn, audit, off' },
    { name: 'wrong type', text: `${HEADER}skew:\n  default: "1"\n`, field: 'skew.default', message: 'must be integer' },
    { name: 'default above maximum', text: `${HEADER}skew:\n  default: 3\n  maximum: 2\n`, field: 'skew.default', message: 'above skew.maximum' },
    { name: 'bad release date', text: `${HEADER}releaseDates:\n  v1.28.0: "2023-13-45"\n`, field: 'releaseDates.v1.28.0', message: 'not a calendar date' },
    { name: 'release date key without v', text: `${HEADER}releaseDates:\n  1.28.0: "2023-10-01"\n`, field: 'releaseDates.1.28.0', message: 'not an allowed key' },
    { name: 'missing kind', text: 'apiVersion: upgrade-guard.io/v1alpha1\n', field: 'kind', message: 'is required' },
  ])('$name is rejected naming the field', ({ text, field, message }) => {
    const e = errorOf(text)
    expect(e.code).toBe('UG_ERR_POLICY_INVALID')
    expect(e.field).toBe(field)
    expect(e.toLine()).toContain('p.yaml')
    expect(e.toLine()).toContain(message)
  })

  it('invalid YAML names the file', () => {
    const e = errorOf(`${HEADER}rules: [\n`)
    expect(e.toLine()).toMatch(/^p\.yaml: not valid YAML/)
  })

  it('an unreadable file is a read error', () => {
    expect(() => loadPolicy('/nonexistent/policy.yaml')).toThrow(/cannot read the policy: ENOENT/)
  })
})
