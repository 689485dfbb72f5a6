// The one error base. Every typed failure (sign-in, CAS, sync, store) says which HTTP status it
// means, a stable code, whether its message may be shown, and what the person should read (a
// catalogue key, so a page can say it in the reader's language, plus the English text for JSON
// answers and logs). Handlers test `instanceof GatewayError`, never the shape or the name.

/** a message for the person: a catalogue key of web/messages and its {placeholders} */
export interface UserMessage {
  key: string;
  params?: Record<string, string | number>;
}

export abstract class GatewayError extends Error {
  override readonly name: string = 'GatewayError';
  /** the HTTP status this failure answers with */
  abstract readonly status: number;
  /** stable and machine-readable: a protocol's own error code where it has one */
  abstract readonly code: string;
  /** whether `userMessage` may be shown to the caller (else: a generic text, the cause only in the log) */
  abstract readonly expose: boolean;
  /** what to show the person, when there is something better than a generic text */
  readonly shown?: UserMessage;
  /** the message in English: JSON error_description and logs */
  abstract readonly userMessage: string;
}
