/**
 * @module cli/plan
 * `upgrade-guard plan`: placeholder until the planning issue lands.
 */
import type { Command } from 'commander'

export function registerPlan(_program: Command): void {}
