// User identity type 2 against a real directory: a throwaway slapd (test/harness/slapd.ts)
// behind the verifier the proxy uses (createIdentityVerifier).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pino } from 'pino';
import { sidecarConfigSchema, type SidecarConfigInput } from '../../sidecar/config/schema.ts';
import type { IdentityOutcome } from '../../sidecar/decision/decide.ts';
import { createIdentityVerifier, type IdentityMaterial } from '../../sidecar/identity/verifier.ts';
import { waitFor } from '../harness/processes.ts';
import { personDn, startSlapd, SUFFIX, type Slapd } from '../harness/slapd.ts';

const test = suite<{ slapd: Slapd }>('identity: LDAP against slapd');

// A uid with every character RFC 4514 escapes, and one that starts with "#". Their DNs are
// escaped here by hand, not with the code under test.
const SPECIAL_UID = 'o"hara, jr.+x<y>;z=1\\';
const SPECIAL_DN = `uid=o\\"hara\\, jr.\\+x\\<y\\>\\;z\\=1\\\\,ou=people,${SUFFIX}`;
const HASH_UID = '#hash';
const HASH_DN = `uid=\\#hash,ou=people,${SUFFIX}`;
const ADMINS_OU = `ou=admins,ou=people,${SUFFIX}`;

test.before(async (context) => {
  context.slapd = await startSlapd({
    organizationalUnits: [ADMINS_OU],
    users: [
      { dn: personDn('alice'), uid: 'alice', password: 'alice-secret' },
      { dn: personDn('bob'), uid: 'bob', password: 'bob-secret' },
      { dn: personDn('carol'), uid: 'carol', password: 'carol-secret' },
      { dn: SPECIAL_DN, uid: SPECIAL_UID, password: 'special-secret' },
      { dn: HASH_DN, uid: HASH_UID, password: 'hash-secret' },
      // What "alice,ou=admins" would bind as if the username were pasted into the template unescaped.
      { dn: `uid=alice,${ADMINS_OU}`, uid: 'alice', password: 'admin-alice-secret' },
    ],
    groups: [
      { cn: 'radiology', members: [personDn('alice'), personDn('bob')] },
      { cn: 'night-shift', members: [personDn('alice')] },
    ],
  });
});

test.after(async ({ slapd }) => {
  await slapd?.stop();
});

type Ldap = NonNullable<NonNullable<SidecarConfigInput['identity']>['ldap']>;

function verifier(ldap: Partial<Ldap> & { url: string }, material: IdentityMaterial = {}) {
  const identity = sidecarConfigSchema.parse({
    apiVersion: 'dicomguard.io/v1alpha1',
    kind: 'SidecarConfig',
    calledAETitles: ['PACS'],
    identity: { mode: 'Required', ldap: { userDN: `uid={username},ou=people,${SUFFIX}`, timeoutSeconds: 1, ...ldap } },
  }).identity;
  return createIdentityVerifier(identity, material, pino({ level: 'silent' }));
}

async function check(v: ReturnType<typeof verifier>, username: string, passcode: string): Promise<IdentityOutcome> {
  const encoder = new TextEncoder();
  return v.verify({ identityType: 2, positiveResponseRequested: true, primaryField: encoder.encode(username), secondaryField: encoder.encode(passcode) }, { connectionId: 'ldap-test' });
}

function refused(outcome: IdentityOutcome, why: string | RegExp, transient = false): void {
  assert.is(outcome.status, 'failed', JSON.stringify(outcome));
  if (outcome.status !== 'failed') return;
  assert.match(outcome.why, why, outcome.why);
  assert.is(outcome.transient ?? false, transient, `transient: ${outcome.why}`);
}

test('the right passcode binds; the groups come from memberOf when configured', async ({ slapd }) => {
  const plain = verifier({ url: slapd.ldapUrl });
  assert.equal(await check(plain, 'alice', 'alice-secret'), { status: 'verified', identityType: 2, username: 'alice', groups: [] });
  plain.close();
  const withGroups = verifier({ url: slapd.ldapUrl, groupsAttribute: 'memberOf' });
  const outcome = await check(withGroups, 'alice', 'alice-secret');
  assert.is(outcome.status, 'verified');
  if (outcome.status === 'verified') {
    assert.equal([...outcome.groups].sort(), [`cn=night-shift,ou=groups,${SUFFIX}`, `cn=radiology,ou=groups,${SUFFIX}`, 'night-shift', 'radiology'].sort());
  }
  withGroups.close();
});

test('a wrong passcode and an unknown user are refused alike (invalid credentials)', async ({ slapd }) => {
  const v = verifier({ url: slapd.ldapUrl });
  refused(await check(v, 'alice', 'bob-secret'), `user "alice" was refused: the directory refused the bind as uid=alice,ou=people,${SUFFIX} (invalid credentials)`);
  refused(await check(v, 'mallory', 'alice-secret'), `user "mallory" was refused: the directory refused the bind as uid=mallory,ou=people,${SUFFIX} (invalid credentials)`);
  v.close();
});

test('usernames with DN special characters are escaped: they bind as themselves', async ({ slapd }) => {
  const v = verifier({ url: slapd.ldapUrl });
  assert.equal(await check(v, SPECIAL_UID, 'special-secret'), { status: 'verified', identityType: 2, username: SPECIAL_UID, groups: [] });
  assert.equal(await check(v, HASH_UID, 'hash-secret'), { status: 'verified', identityType: 2, username: HASH_UID, groups: [] });
  refused(await check(v, SPECIAL_UID, 'hash-secret'), /invalid credentials/);
  v.close();
});

test('"alice,ou=admins" cannot reach uid=alice,ou=admins: the username stays one RDN value', async ({ slapd }) => {
  const v = verifier({ url: slapd.ldapUrl });
  refused(await check(v, 'alice,ou=admins', 'admin-alice-secret'), `the directory refused the bind as uid=alice\\,ou\\=admins,ou=people,${SUFFIX} (invalid credentials)`);
  refused(await check(v, `alice,${ADMINS_OU.replace(`,${SUFFIX}`, '')}`, 'admin-alice-secret'), /invalid credentials/);
  v.close();
  // The entry and its passcode are real: only the escaping stood in the way.
  const admins = verifier({ url: slapd.ldapUrl, userDN: `uid={username},${ADMINS_OU}` });
  assert.is((await check(admins, 'alice', 'admin-alice-secret')).status, 'verified');
  admins.close();
});

test('an empty passcode is refused without even connecting', async ({ slapd }) => {
  const connections = () => (slapd.log().match(/ ACCEPT from /g) ?? []).length;
  const v = verifier({ url: slapd.ldapUrl });
  assert.is((await check(v, 'alice', 'alice-secret')).status, 'verified');
  await new Promise((r) => setTimeout(r, 100));
  const before = connections();
  assert.ok(before > 0, 'slapd logs connections (-d stats)');
  refused(await check(v, 'alice', ''), 'user "alice" sent an empty passcode');
  await new Promise((r) => setTimeout(r, 200));
  assert.is(connections(), before);
  v.close();
});

test('StartTLS and ldaps:// with the right CA', async ({ slapd }) => {
  for (const ldap of [{ url: slapd.ldapUrl, startTLS: true }, { url: slapd.ldapsUrl }]) {
    const v = verifier({ ...ldap, caFile: '/etc/dicom-guard/identity/ldap-ca.crt' }, { ldapCA: slapd.caPem });
    assert.equal(await check(v, 'bob', 'bob-secret'), { status: 'verified', identityType: 2, username: 'bob', groups: [] }, ldap.url);
    refused(await check(v, 'bob', 'alice-secret'), /invalid credentials/);
    v.close();
  }
});

test('ldaps:// and StartTLS with a CA that did not sign the server certificate: refused, the passcode never sent', async ({ slapd }) => {
  // carol binds nowhere else in this file.
  const binds = () => (slapd.log().match(/ BIND dn="uid=carol,/g) ?? []).length;
  for (const ldap of [{ url: slapd.ldapsUrl }, { url: slapd.ldapUrl, startTLS: true }]) {
    const v = verifier({ ...ldap, caFile: '/ca.crt' }, { ldapCA: slapd.otherCaPem });
    refused(
      await check(v, 'carol', 'carol-secret'),
      /could not be verified: the directory .* is unreachable: its TLS certificate was not accepted \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/,
      true,
    );
    v.close();
  }
  // Without caFile, the system's CAs: they do not know the test CA either.
  const system = verifier({ url: slapd.ldapsUrl });
  refused(await check(system, 'carol', 'carol-secret'), /its TLS certificate was not accepted/, true);
  system.close();
  await new Promise((r) => setTimeout(r, 200));
  assert.is(binds(), 0, 'no bind reached slapd');
  const trusted = verifier({ url: slapd.ldapsUrl, caFile: '/ca.crt' }, { ldapCA: slapd.caPem });
  assert.is((await check(trusted, 'carol', 'carol-secret')).status, 'verified');
  trusted.close();
  await waitFor('slapd to log the bind', () => binds() > 0, 5000);
});

test('a directory that accepts connections but does not answer: refused after timeoutSeconds', async ({ slapd }) => {
  const v = verifier({ url: slapd.ldapUrl, timeoutSeconds: 1 });
  await slapd.pause();
  try {
    const started = Date.now();
    const outcome = await check(v, 'alice', 'alice-secret');
    const elapsed = Date.now() - started;
    refused(outcome, `user "alice" could not be verified: the directory ${slapd.ldapUrl} is unreachable: no answer within 1 s`, true);
    assert.ok(elapsed >= 900 && elapsed < 3000, `took ${elapsed} ms for timeoutSeconds 1`);
  } finally {
    slapd.resume();
  }
  assert.is((await check(v, 'alice', 'alice-secret')).status, 'verified', 'and passes again once the directory answers');
  v.close();
});

test('slapd stopped: refused at once, saying the directory is unreachable', async ({ slapd }) => {
  const v = verifier({ url: slapd.ldapUrl, timeoutSeconds: 5 });
  await slapd.stop();
  const started = Date.now();
  refused(await check(v, 'alice', 'alice-secret'), `user "alice" could not be verified: the directory ${slapd.ldapUrl} is unreachable: connection refused`, true);
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  v.close();
});

test.run();
