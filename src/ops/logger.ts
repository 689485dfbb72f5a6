// Structured logs (pino). Keys, secrets, tokens and cookies are redacted wherever they appear.
// JSON lines by default; readable lines (pino-pretty) on a terminal or when asked for.
import { pino, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import { IDENTITY_HEADER } from '../identity/headers.ts';

export type { Logger };

const SECRET_KEYS = [
  'clientSecret',
  'client_secret',
  'secret',
  'sessionSecret',
  'kitAccessKey',
  'clientSecretKey',
  'accessKey',
  'password',
  'access_token',
  'refresh_token',
  'id_token',
  'accessToken',
  'refreshToken',
  'code_verifier',
  'privateKey',
  'authorization',
  'cookie',
  'set-cookie',
  'x-sign',
  IDENTITY_HEADER.jwt.toLowerCase(),
  'ticket',
];

// `code` is an OAuth authorization code only in a query; elsewhere (err.code = ECONNREFUSED,
// SQLITE_BUSY, ...) it is what operators need to read, so it is not redacted by name everywhere
const QUERY_CODE = ['code', 'query.code', '*.query.code', 'params.code', '*.params.code'];

export const REDACT_PATHS = [
  ...QUERY_CODE,
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  ...SECRET_KEYS.map((k) => `req.headers["${k}"]`),
  ...SECRET_KEYS.map((k) => `res.headers["${k}"]`),
];

export type LogFormat = 'auto' | 'json' | 'pretty';

/** auto = pretty when stdout is a terminal */
export function usePretty(format: LogFormat, isTty = process.stdout.isTTY === true): boolean {
  return format === 'pretty' || (format === 'auto' && isTty);
}

export function createLogger(level: string, destination?: pino.DestinationStream, format: LogFormat = 'json'): Logger {
  const opts: LoggerOptions = {
    level,
    base: { service: 'oneaccess-bridge' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (usePretty(format)) {
    // synchronous: a fatal line before process.exit must not be lost in a worker thread
    const stream = pretty({ sync: true, colorize: process.stdout.isTTY === true && !destination, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true, ...(destination ? { destination } : {}) });
    return pino(opts, stream);
  }
  return destination ? pino(opts, destination) : pino(opts);
}
