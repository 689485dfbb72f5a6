// The one error base: every typed failure is a GatewayError that says its status, code and
// whether its message may be shown, so handlers test the class, never the shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../../src/identity/errors.ts';
import { LoginError } from '../../src/login/errors.ts';
import { CasError } from '../../src/login/cas-response.ts';
import { RESULT, SyncError } from '../../src/marketplace/errors.ts';
import { StoreNotReplicatedError, StoreUnavailableError } from '../../src/store/store.ts';
import { msg } from '../../src/web/i18n.ts';

test('a sign-in refusal is shown: its status, code and the catalogue message', () => {
  const e = new LoginError('user_disabled', msg('refusal.userDisabled'));
  assert.ok(e instanceof GatewayError);
  assert.equal(e.status, 403);
  assert.equal(e.code, 'user_disabled');
  assert.equal(e.expose, true);
  assert.deepEqual(e.shown, { key: 'refusal.userDisabled' });
  assert.match(e.userMessage, /\S/);
  assert.equal(e.name, 'LoginError');
});

test('a CAS failure carries the server code and a status by it', () => {
  const e = new CasError('INVALID_TICKET', 'ticket unknown');
  assert.ok(e instanceof GatewayError);
  assert.equal(e.code, 'INVALID_TICKET');
  assert.equal(e.status, 400);
  assert.equal(new CasError('SOMETHING_NEW', 'x').status, 502);
  assert.equal(e.expose, true);
});

test('a sync refusal answers 200 with its result code; its message goes to the marketplace', () => {
  const e = new SyncError(RESULT.authFailed, 'token is invalid: x-sign does not match');
  assert.ok(e instanceof GatewayError);
  assert.equal(e.status, 200);
  assert.equal(e.code, RESULT.authFailed);
  assert.equal(e.userMessage, 'token is invalid: x-sign does not match');
});

test('a store outage is a 503 whose message (backend details) is not shown', () => {
  for (const e of [new StoreUnavailableError('redis GET failed: ECONNREFUSED 10.0.0.5:6379'), new StoreNotReplicatedError('WAIT 1 answered 0')]) {
    assert.ok(e instanceof GatewayError);
    assert.ok(e instanceof StoreUnavailableError);
    assert.equal(e.status, 503);
    assert.equal(e.code, 'store_unavailable');
    assert.equal(e.expose, false);
    assert.doesNotMatch(e.userMessage, /ECONNREFUSED|WAIT/);
  }
  assert.equal(new StoreNotReplicatedError('x').name, 'StoreNotReplicatedError');
});

test('a plain Error is no GatewayError', () => {
  const e = Object.assign(new Error('x'), { status: 400, code: 'y', expose: true });
  assert.ok(!(e instanceof GatewayError));
});
