// Typed sign-in failures. Each carries the HTTP status, a message that may be shown to the
// person (what went wrong, what to do; a catalogue key, so the page shows it in the reader's
// language), and whether a retry link makes sense. The log gets `cause`.
import { GatewayError } from '../identity/errors.ts';
import { text, type Msg } from '../web/i18n.ts';

export type LoginErrorCode =
  | 'invalid_request'
  | 'invalid_state'
  | 'unknown_tenant'
  | 'tenant_inactive'
  | 'app_not_bound'
  | 'not_authorized'
  | 'user_disabled'
  | 'authorization_cancelled'
  | 'tenant_mismatch'
  | 'upstream_error'
  | 'upstream_timeout'
  | 'upstream_refused'
  | 'insecure_idp'
  | 'unsolicited_login'
  | 'session_expired';

const STATUS: Record<LoginErrorCode, number> = {
  invalid_request: 400,
  invalid_state: 400,
  unknown_tenant: 400,
  tenant_inactive: 403,
  app_not_bound: 403,
  not_authorized: 403,
  user_disabled: 403,
  authorization_cancelled: 403,
  tenant_mismatch: 403,
  upstream_error: 502,
  upstream_timeout: 504,
  upstream_refused: 400,
  insecure_idp: 502,
  unsolicited_login: 400,
  session_expired: 401,
};

export class LoginError extends GatewayError {
  override readonly name = 'LoginError';
  readonly status: number;
  readonly expose = true;
  constructor(
    readonly code: LoginErrorCode,
    /** safe to show to the person */
    override readonly shown: Msg,
    options: { cause?: unknown; retry?: boolean; status?: number } = {},
  ) {
    const userMessage = text('en', shown);
    super(`${code}: ${userMessage}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status ?? STATUS[code];
    this.retry = options.retry ?? this.status >= 500;
    this.userMessage = userMessage;
  }
  readonly retry: boolean;
  /** the message in English: JSON error_description and logs */
  readonly userMessage: string;
}
