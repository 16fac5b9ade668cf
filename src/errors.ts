/**
 * @module errors
 * Our own failures (bad policy, unreadable state, unusable input) are coded errors. A bad user
 * edit is never an exception: it is a Violation.
 *
 * @example
 * throw new UpgradeGuardError('UG_ERR_POLICY_INVALID', 'rules.catalog-key: must be one of deny, warn, audit, off', { file: 'policy.yaml', field: 'rules.catalog-key' })
 */
export type ErrorCode =
  | 'UG_ERR_POLICY_INVALID'
  | 'UG_ERR_POLICY_READ'
  | 'UG_ERR_STATE_INVALID'
  | 'UG_ERR_STATE_READ'
  | 'UG_ERR_REVIEW_INVALID'
  | 'UG_ERR_INPUT'
  | 'UG_ERR_USAGE'
  | 'UG_ERR_TLS'

export interface ErrorDetails {
  readonly file?: string
  readonly field?: string
  readonly cause?: unknown
}

export class UpgradeGuardError extends Error {
  readonly code: ErrorCode
  readonly file: string | undefined
  readonly field: string | undefined

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'UpgradeGuardError'
    this.code = code
    this.file = details.file
    this.field = details.field
  }

  /** One line for a terminal: `file: message` (messages name their field themselves). */
  toLine(): string {
    return this.file === undefined ? this.message : `${this.file}: ${this.message}`
  }
}

export const isUpgradeGuardError = (e: unknown): e is UpgradeGuardError => e instanceof UpgradeGuardError
