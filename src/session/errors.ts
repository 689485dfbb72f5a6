// Why a session cannot go on: it has ended (a refused or failed refresh, logout elsewhere), or
// another instance's refresh of it took too long. Shown to the person (/auth/session answers it).
import { GatewayError } from '../identity/errors.ts';
import { msg, text, type Msg } from '../web/i18n.ts';

export type SessionErrorCode = 'session_expired' | 'upstream_timeout';

const STATUS: Record<SessionErrorCode, number> = { session_expired: 401, upstream_timeout: 504 };

export class SessionError extends GatewayError {
  override readonly name = 'SessionError';
  readonly status: number;
  readonly expose = true;
  /** the message in English: JSON error_description and logs */
  readonly userMessage: string;
  constructor(
    readonly code: SessionErrorCode,
    /** safe to show to the person */
    override readonly shown: Msg,
    options: { cause?: unknown } = {},
  ) {
    const userMessage = text('en', shown);
    super(`${code}: ${userMessage}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = STATUS[code];
    this.userMessage = userMessage;
  }
}

export const sessionEnded = (cause?: unknown) => new SessionError('session_expired', msg('refusal.sessionEnded'), cause === undefined ? {} : { cause });
