// withConsentForOffline: which authorization requests get prompt=consent added so that
// oidc-provider keeps offline_access (OpenID Connect Core 11).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { withConsentForOffline } from '../../src/oidc/mount.ts';

const refreshing = new Set(['app']);
const auth = (q: Record<string, string>) => `/auth?${new URLSearchParams(q)}`;
const promptOf = (url: string) => new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('prompt');

describe('withConsentForOffline', () => {
  it('adds consent for a refreshing client asking offline_access, keeping other prompts and parameters', () => {
    assert.equal(promptOf(withConsentForOffline(auth({ client_id: 'app', scope: 'openid offline_access' }), refreshing)), 'consent');
    const url = withConsentForOffline(auth({ client_id: 'app', scope: 'openid offline_access', prompt: 'login', state: 's' }), refreshing);
    assert.equal(promptOf(url), 'login consent');
    assert.equal(new URLSearchParams(url.split('?')[1]).get('state'), 's');
  });

  it('leaves everything else alone', () => {
    const cases: Array<Record<string, string>> = [
      { client_id: 'app', scope: 'openid profile' },
      { client_id: 'other', scope: 'openid offline_access' },
      { client_id: 'app', scope: 'openid offline_access', prompt: 'none' },
      { client_id: 'app', scope: 'openid offline_access', prompt: 'consent' },
    ];
    for (const q of cases) {
      const url = auth(q);
      assert.equal(withConsentForOffline(url, refreshing), url, JSON.stringify(q));
    }
    assert.equal(withConsentForOffline('/auth', refreshing), '/auth');
  });
});
