// Marketplace result codes (spec §8) and the one error type that carries them.
export const RESULT = {
  success: '000000',
  authFailed: '000001',
  invalidParam: '000002',
  innerError: '000005',
  clientSecret: '000101',
} as const;

export type ResultCode = (typeof RESULT)[keyof typeof RESULT];

/** A refusal of a sync call: the marketplace sees resultCode + message; the log sees `cause`. */
export class SyncError extends Error {
  override readonly name = 'SyncError';
  constructor(
    readonly resultCode: ResultCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
