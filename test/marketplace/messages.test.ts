// The five message schemas as pure functions: documented variants accepted, problems named.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeIssues, isValidTimeStamp, SYNC_SCHEMAS } from '../../src/marketplace/messages.ts';

const ts = '20260101120000123';

function problem(kind: keyof typeof SYNC_SCHEMAS, body: unknown): string {
  const r = SYNC_SCHEMAS[kind].safeParse(body);
  assert.equal(r.success, false, `expected ${kind} to be refused`);
  return describeIssues(r.error!);
}

describe('sync message schemas', () => {
  it('tenantSync: flags as numbers or numeric strings; delete needs only the key', () => {
    const ok = SYNC_SCHEMAS.tenantSync.parse({ tenantId: 't', tenantCode: 'c', name: 'N', domainName: 'acme.example.com', flag: '2', testFlag: '0', timeStamp: ts });
    assert.equal(ok.flag, 2);
    assert.equal(ok.testFlag, 0);
    assert.equal(ok.instanceId, '');
    assert.equal(SYNC_SCHEMAS.tenantSync.parse({ tenantId: 't', flag: 0, testFlag: 1, timeStamp: ts }).flag, 0);
    assert.match(problem('tenantSync', { tenantId: 't', flag: 1, testFlag: 0, timeStamp: ts }), /tenantCode is required for add and modify/);
    assert.match(problem('tenantSync', { tenantId: 't', tenantCode: 'c', name: 'n', domainName: 'ftp://x', flag: 1, testFlag: 0, timeStamp: ts }), /domainName/);
    assert.match(problem('tenantSync', { tenantId: 't', flag: 1.5, testFlag: 0, timeStamp: ts }), /flag must be one of 0, 1, 2/);
    assert.match(problem('tenantSync', { tenantId: 't', flag: 0, testFlag: 2, timeStamp: ts }), /testFlag must be one of 0, 1/);
  });

  it('applicationSync: clientId required for add/modify, the secret only checked later', () => {
    assert.match(problem('applicationSync', { tenantId: 't', appId: 'a', flag: 1, testFlag: 0, timeStamp: ts }), /clientId is required/);
    assert.equal(SYNC_SCHEMAS.applicationSync.parse({ tenantId: 't', appId: 'a', flag: 0, testFlag: 0, timeStamp: ts }).flag, 0);
  });

  it('authSync: userList as array or JSON string, enable as string or boolean, extension fields, role normalised', () => {
    const user = { userName: ' zs ', name: '张三', orgCode: '1', role: 'ADMIN', enable: 'true', extension: { employeeType: '3', workPlace: '深圳', entryDate: '2024-1-2' } };
    const a = SYNC_SCHEMAS.authSync.parse({ tenantId: 't', appId: 'a', userList: JSON.stringify([user]), flag: 1, testFlag: 0, timeStamp: ts });
    assert.deepEqual(a.userList[0], { userName: 'zs', name: '张三', orgCode: '1', role: 'admin', enabled: true, position: '', employeeCode: '', employeeType: 3, mobile: '', email: '', workPlace: '深圳', entryDate: '2024-1-2' });
    const b = SYNC_SCHEMAS.authSync.parse({ tenantId: 't', appId: 'a', userList: [{ ...user, enable: false, workPlace: 'top' }], flag: 2, testFlag: 0, timeStamp: ts });
    assert.equal(b.userList[0]!.enabled, false);
    assert.equal(b.userList[0]!.workPlace, 'top', 'a top-level field wins over extension');
    // delete and cancel need only userName
    assert.equal(SYNC_SCHEMAS.authSync.parse({ tenantId: 't', appId: 'a', userList: [{ userName: 'x' }], flag: 3, testFlag: 0, timeStamp: ts }).userList.length, 1);
    assert.match(problem('authSync', { tenantId: 't', appId: 'a', userList: [{ userName: 'x' }], flag: 1, testFlag: 0, timeStamp: ts }), /userList\[0\]\.name is required/);
    assert.match(problem('authSync', { tenantId: 't', appId: 'a', userList: 'not json', flag: 1, testFlag: 0, timeStamp: ts }), /userList must be an array/);
  });

  it('org messages: name as alias of orgName, parentCode null or empty, string-form orgInfoList', () => {
    const s = SYNC_SCHEMAS.singleOrgSync.parse({ tenantId: 't', orgCode: 'd', name: 'Dept', parentCode: null, flag: 1, testFlag: 0, timeStamp: ts });
    assert.equal(s.orgName, 'Dept');
    assert.equal(s.parentCode, '');
    assert.match(problem('singleOrgSync', { tenantId: 't', orgCode: 'd', orgName: 'x', parentCode: 'd', flag: 1, testFlag: 0, timeStamp: ts }), /parentCode must not equal orgCode/);
    const all = SYNC_SCHEMAS.allOrgSync.parse({ tenantId: 't', orgInfoList: "[{orgCode:'a',orgName:'A'},{orgCode:'b',name:'B',parentCode:'a'}]", testFlag: 0, timeStamp: ts });
    assert.deepEqual(all.orgInfoList, [{ orgCode: 'a', orgName: 'A', parentCode: '' }, { orgCode: 'b', orgName: 'B', parentCode: 'a' }]);
    assert.match(problem('allOrgSync', { tenantId: 't', orgInfoList: [{ orgCode: 'a', orgName: 'A' }, { orgCode: 'a', orgName: 'B' }], testFlag: 0, timeStamp: ts }), /orgInfoList\[1\]\.orgCode appears twice/);
  });

  it('timeStamp must be a real yyyyMMddHHmmssSSS', () => {
    assert.equal(isValidTimeStamp('20240229235959999'), true);
    assert.equal(isValidTimeStamp('20230229000000000'), false);
    assert.equal(isValidTimeStamp('20241301000000000'), false);
    assert.equal(isValidTimeStamp('20240101246000000'), false);
  });
});
