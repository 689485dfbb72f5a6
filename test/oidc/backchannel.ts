// Shared by the back-channel logout tests: a relying party's back-channel endpoint, the clients
// that use it, and the checks every logout token must pass.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import * as client from 'openid-client';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { LoginEnv } from '../helpers/login-env.ts';

export const APP = 'http://127.0.0.1:9';
export const REDIRECT = `${APP}/cb`;
export const SECRET = 'bcl-secret-0123456789abcdefghijklmnop';
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
export const users = [
  { userName: 'zhangsan', name: '张三' },
  { userName: 'lisi', name: '李四' },
  { userName: 'wangwu', name: '王五' },
  { userName: 'zhaoliu', name: '赵六' },
];

/** the relying party's back-channel endpoint: keeps every logout token; answers `status` */
export async function startReceiver(port = 0) {
  const tokens: string[] = [];
  let status = 200;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (status === 200) tokens.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${bound}/backchannel-logout`,
    port: bound,
    tokens,
    setStatus: (s: number) => (status = s),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

export function clientsFor(receiver: Receiver) {
  return [
    { client_id: 'with-sid', client_secret: SECRET, redirect_uris: [REDIRECT], post_logout_redirect_uris: [`${APP}/bye`], backchannel_logout_uri: receiver.url, backchannel_logout_session_required: true },
    { client_id: 'sub-only', client_secret: SECRET, redirect_uris: [REDIRECT], backchannel_logout_uri: receiver.url, id_token_signed_response_alg: 'ES256' },
    { client_id: 'no-backchannel', client_secret: SECRET, redirect_uris: [REDIRECT] },
  ];
}

export const rpFor = (env: LoginEnv, clientId: string) => client.discovery(new URL(`${env.base}/oidc`), clientId, SECRET, undefined, { execute: [client.allowInsecureRequests] });

export async function verified(env: LoginEnv, token: string, audience: string): Promise<JWTPayload> {
  assert.equal(decodeProtectedHeader(token).typ, 'logout+jwt');
  const { payload } = await jwtVerify(token, createLocalJWKSet(env.gw.keys.jwks()), { issuer: `${env.base}/oidc`, audience, typ: 'logout+jwt', maxTokenAge: '5m' });
  assert.deepEqual(payload.events, { [EVENT]: {} });
  assert.equal(payload.nonce, undefined, 'a logout token never carries a nonce');
  assert.ok(payload.jti && payload.iat);
  return payload;
}

