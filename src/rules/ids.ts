/**
 * @module rules/ids
 * The rule ids (the eleven edit rules, then the five preflight rules). CI jobs, dashboards, policy files and bypass annotations key on these
 * exact strings: never rename one.
 */
export const RULE_IDS = [
  'max-surge-zero',
  'catalog-key',
  'catalog-shape',
  'catalog-in-use',
  'control-plane-minor-step',
  'workers-follow-control-plane',
  'worker-skew',
  'no-downgrade',
  'release-order',
  'registry-address',
  'pinned-component-tags',
  // Preflight (SPEC "Upgrade lifecycle beyond the edit"): only edits that start a version rollout.
  'management-ready',
  'management-version',
  'control-plane-healthy',
  'workers-healthy',
  'pool-capacity',
] as const

export type RuleId = (typeof RULE_IDS)[number]

export const isRuleId = (value: string): value is RuleId => (RULE_IDS as readonly string[]).includes(value)
