/**
 * @module cli/serve
 * `upgrade-guard serve`: placeholder until the server issue lands.
 */
import type { Command } from 'commander'

export function registerServe(_program: Command): void {}
