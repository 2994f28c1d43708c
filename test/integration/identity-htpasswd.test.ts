// User identity type 2 against a file written by Apache's own htpasswd (apache2-utils):
// an implementation of bcrypt independent of the one the verifier uses, and the weak
// formats the same tool writes, which must be refused at load.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { sidecarConfigSchema } from '../../sidecar/config/schema.ts';
import { createIdentityVerifier, IdentityMaterialError } from '../../sidecar/identity/verifier.ts';
import { run } from '../harness/processes.ts';
import { requireProgram } from '../harness/tools.ts';

const FILE = '/etc/dicom-guard/identity/htpasswd';
const identityConfig = sidecarConfigSchema.parse({
  apiVersion: 'dicomguard.io/v1alpha1',
  kind: 'SidecarConfig',
  calledAETitles: ['PACS'],
  identity: { mode: 'Required', htpasswd: { file: FILE } },
}).identity;

/** htpasswd -i: the passcode on standard input, not on the command line. */
async function htpasswd(args: string[], passcode: string): Promise<string> {
  const result = await run(requireProgram('htpasswd'), args, { input: passcode });
  if (result.code !== 0) throw new Error(`htpasswd ${args.join(' ')}: ${result.output}`);
  return result.stdout;
}

const encoder = new TextEncoder();
const type2 = (username: string, passcode: string) => ({ identityType: 2, positiveResponseRequested: false, primaryField: encoder.encode(username), secondaryField: encoder.encode(passcode) });

test('a file made with htpasswd -B (bcrypt $2y$) verifies', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dg-htpasswd-'));
  const path = join(dir, 'htpasswd');
  try {
    await htpasswd(['-ciB', '-C', '5', path, 'alice'], 'correct horse');
    await htpasswd(['-iB', '-C', '6', path, 'jörg'], 'battery staple ✓');
    await htpasswd(['-iB', path, 'carol'], 'p:ss w0rd');
    const text = await readFile(path, 'utf8');
    assert.match(text, /^alice:\$2y\$05\$/m, text);

    const verifier = createIdentityVerifier(identityConfig, { htpasswd: text }, pino({ level: 'silent' }));
    try {
      for (const [user, passcode] of [
        ['alice', 'correct horse'],
        ['jörg', 'battery staple ✓'],
        ['carol', 'p:ss w0rd'],
      ] as const) {
        assert.equal(await verifier.verify(type2(user, passcode), { connectionId: 'h' }), { status: 'verified', identityType: 2, username: user, groups: [] });
        assert.is((await verifier.verify(type2(user, `${passcode} `), { connectionId: 'h' })).status, 'failed');
      }
      assert.equal(await verifier.verify(type2('dave', 'correct horse'), { connectionId: 'h' }), { status: 'failed', identityType: 2, why: 'user "dave" is not in identity.htpasswd.file' });
    } finally {
      verifier.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("htpasswd's other formats are refused at load, with the line", async () => {
  const bcryptLine = (await htpasswd(['-niB', 'alice'], 'x')).trim();
  const formats: [string, string, RegExp][] = [
    ['-m', 'MD5 (apr1)', /an MD5 \(apr1\) hash, which is refused as too weak/],
    ['-s', 'SHA-1', /a SHA-1 hash, which is refused as too weak/],
    ['-d', 'crypt', /a DES crypt hash, which is refused as too weak/],
    ['-p', 'plain text', /plain text or a hash format that is not recognised/],
    ['-5', 'SHA-512-crypt', /a SHA-512-crypt hash, which is refused as too weak/],
  ];
  for (const [flag, name, why] of formats) {
    const line = (await htpasswd([`-ni${flag.slice(1)}`, 'bob'], 'secret')).trim();
    try {
      createIdentityVerifier(identityConfig, { htpasswd: `# team\n${bcryptLine}\n${line}\n` }, pino({ level: 'silent' }));
      assert.unreachable(`${name} was accepted`);
    } catch (error) {
      assert.instance(error, IdentityMaterialError, name);
      const message = (error as Error).message;
      assert.match(message, `${FILE} line 3: user "bob" has`);
      assert.match(message, why, message);
      assert.not.ok(message.includes(line.slice(4)), `${name}: the message does not quote the hash`);
    }
  }
});

test.run();
