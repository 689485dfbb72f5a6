// Marketplace result codes (spec §8) and the one error type that carries them.
import { GatewayError } from '../identity/errors.ts';
export const RESULT = {
  success: '000000',
  authFailed: '000001',
  invalidParam: '000002',
  innerError: '000005',
  clientSecret: '000101',
} as const;

export type ResultCode = (typeof RESULT)[keyof typeof RESULT];

/**
 * A refusal of a sync call: the marketplace sees resultCode + message; the log sees `cause`.
 * The marketplace protocol answers every call with HTTP 200 and says the outcome in resultCode.
 */
export class SyncError extends GatewayError {
  override readonly name = 'SyncError';
  readonly status = 200;
  readonly expose = true;
  constructor(
    readonly resultCode: ResultCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  get code(): string {
    return this.resultCode;
  }
  get userMessage(): string {
    return this.message;
  }
}
