import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects } from 'node:assert/strict';
import { argon2Sync, randomBytes } from 'node:crypto';
import { argon2id, bcrypt } from 'hash-wasm';
import { HtpasswdVerifier, parseHtpasswd } from './htpasswd.ts';
import { IdentityMaterialError } from './material.ts';
import { PasscodePool, type HashScheme } from './passcode-pool.ts';

const FILE = '/etc/dicom-guard/identity/htpasswd';
const encoder = new TextEncoder();

async function bcryptHash(passcode: string, prefix: '2a' | '2b' | '2y', cost = 4): Promise<string> {
  const encoded = await bcrypt({ password: passcode, salt: randomBytes(16), costFactor: cost, outputType: 'encoded' });
  // hash-wasm writes $2a$; the three prefixes differ only in how old, buggy implementations treated long passcodes.
  return `$${prefix}$${encoded.slice(4)}`;
}

async function argon2idHash(passcode: string): Promise<string> {
  return argon2id({ password: passcode, salt: randomBytes(16), parallelism: 1, iterations: 2, memorySize: 1024, hashLength: 32, outputType: 'encoded' });
}

/** argon2id by OpenSSL (node:crypto), not by the library the verifier uses. */
function opensslArgon2idHash(passcode: string): string {
  const salt = randomBytes(16);
  const digest = argon2Sync('argon2id', { message: passcode, nonce: salt, parallelism: 2, tagLength: 32, memory: 2048, passes: 3 });
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$argon2id$v=19$m=2048,t=3,p=2$${b64(salt)}$${b64(digest)}`;
}

function refusal(text: string): string {
  try {
    parseHtpasswd(text, FILE);
  } catch (error) {
    assert.instance(error, IdentityMaterialError);
    return (error as Error).message;
  }
  assert.unreachable(`expected ${JSON.stringify(text)} to be refused`);
  return '';
}

test('parses bcrypt $2y$, $2b$, $2a$ and argon2id lines, skipping comments and blank lines (CRLF too)', async () => {
  const lines = [
    '# managed by hand',
    '',
    `alice:${await bcryptHash('a-secret', '2y')}`,
    `bob:${await bcryptHash('b-secret', '2b')}`,
    '   ',
    `carol:${await bcryptHash('c-secret', '2a')}`,
    `  # indented comment`,
    `dave:${await argon2idHash('d-secret')}`,
  ];
  const file = parseHtpasswd(lines.join('\r\n') + '\r\n', FILE);
  assert.equal([...file.entries.keys()], ['alice', 'bob', 'carol', 'dave']);
  assert.equal(
    [...file.entries.values()].map((e) => [e.scheme, e.line]),
    [
      ['bcrypt', 3],
      ['bcrypt', 4],
      ['bcrypt', 6],
      ['argon2id', 8],
    ],
  );
  assert.is(parseHtpasswd('', FILE).entries.size, 0, 'an empty file is a file without users');
});

test('refuses weak and unknown hashes with the file, the line and the user, never the hash', async () => {
  const good = `alice:${await bcryptHash('x', '2y')}`;
  const weak: [string, RegExp][] = [
    ['$apr1$hh4FUvhs$7ZdpTXXnRdcCNZ9vbLWBk/', /MD5 \(apr1\)/],
    ['{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', /SHA-1/],
    ['$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0', /MD5-crypt/],
    ['$5$saltsalt$Gcm6FsVtF/Qa77ZKD.iwsJlCVPY0XSMgLJL0Hnww/c1', /SHA-256-crypt/],
    ['$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/', /SHA-512-crypt/],
    ['sa3tHJ3/KuYvI', /DES crypt/],
    ['correct horse battery staple', /plain text or a hash format that is not recognised/],
    ['$argon2i$v=19$m=4096,t=3,p=1$c29tZXNhbHQ$IrZoqLKR1V5VhtkNouE4igxslZFD6t1Dr9OFwGkbX+4', /only argon2id/],
    [`$2x$${(await bcryptHash('x', '2a')).slice(4)}`, /\$2x\$/],
    ['$2y$03$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy', /cost of 3/],
    ['$argon2id$v=16$m=4096,t=3,p=1$c29tZXNhbHRzYWx0$IrZoqLKR1V5VhtkNouE4igxslZFD6t1Dr9OFwGkbX+4', /version 16/],
    ['$argon2id$v=19$m=4194304,t=3,p=1$c29tZXNhbHRzYWx0$IrZoqLKR1V5VhtkNouE4igxslZFD6t1Dr9OFwGkbX+4', /m=4194304/],
  ];
  for (const [hash, why] of weak) {
    const message = refusal(`# users\n${good}\n\nbob:${hash}\n`);
    assert.match(message, `${FILE} line 4: user "bob" has`);
    assert.match(message, why);
    assert.not.ok(message.includes(hash), `the message must not quote the hash: ${message}`);
  }
});

test('refuses malformed lines and duplicate names with line numbers', async () => {
  const hash = await bcryptHash('x', '2y');
  assert.match(refusal(`alice:${hash}\nno colon here\n`), `${FILE} line 2: expected "name:hash"`);
  assert.match(refusal(`:${hash}\n`), `${FILE} line 1: the user name before ":" is empty`);
  assert.match(refusal(`alice:${hash}\n#\nalice:${hash}\n`), `${FILE} line 3: user "alice" is already defined on line 1`);
});

// One pool for the checks below; closed by the last test.
const pool = new PasscodePool({ size: 2 });

test('verifies the right passcode and refuses a wrong one, for every accepted format', async () => {
  const file = parseHtpasswd(
    [
      `y:${await bcryptHash('pass-y', '2y')}`,
      `b:${await bcryptHash('pass-b', '2b')}`,
      `a:${await bcryptHash('pass-a', '2a')}`,
      `argon:${await argon2idHash('pass-argon')}`,
      `openssl:${opensslArgon2idHash('pass-openssl')}`,
    ].join('\n'),
    FILE,
  );
  const verifier = new HtpasswdVerifier(file, pool);
  for (const [user, passcode] of [
    ['y', 'pass-y'],
    ['b', 'pass-b'],
    ['a', 'pass-a'],
    ['argon', 'pass-argon'],
    ['openssl', 'pass-openssl'],
  ] as const) {
    assert.is(await verifier.check(user, encoder.encode(passcode)), 'verified', user);
    assert.is(await verifier.check(user, encoder.encode(`${passcode}!`)), 'wrong-passcode', user);
  }
  assert.is(await verifier.check('nobody', encoder.encode('pass-y')), 'unknown-user');
  assert.is(await verifier.check('Y', encoder.encode('pass-y')), 'unknown-user', 'names are case-sensitive');
});

test('an unknown name is checked against a dummy with the parameters most entries use', async () => {
  const file = parseHtpasswd(
    [`a:${await bcryptHash('1', '2y', 5)}`, `b:${await bcryptHash('2', '2y', 6)}`, `c:${await bcryptHash('3', '2b', 6)}`, `d:${await argon2idHash('4')}`].join('\n'),
    FILE,
  );
  assert.is(file.dummy.scheme, 'bcrypt');
  assert.match(file.dummy.hash, /^\$2[by]\$06\$/, 'cost 6, the most common');
  const calls: [HashScheme, string][] = [];
  const spy = { verify: async (scheme: HashScheme, hash: string) => (calls.push([scheme, hash]), true) } as unknown as PasscodePool;
  const verifier = new HtpasswdVerifier(file, spy);
  assert.is(await verifier.check('mallory', encoder.encode('guess')), 'unknown-user', 'even if the dummy "matched"');
  assert.equal(calls, [['bcrypt', file.dummy.hash]]);

  const argonFile = parseHtpasswd([`a:${await argon2idHash('1')}`, `b:${await argon2idHash('2')}`].join('\n'), FILE);
  assert.match(argonFile.dummy.hash, /^\$argon2id\$v=19\$m=1024,t=2,p=1\$[A-Za-z0-9+/]+\$A{43}$/);
  assert.not.ok(await pool.verify('argon2id', argonFile.dummy.hash, encoder.encode('1')), 'the dummy digest matches no passcode');
  assert.not.ok(await pool.verify('bcrypt', file.dummy.hash, encoder.encode('2')), 'the dummy digest matches no passcode');
});

test('timing: an unknown name takes about as long as a known one', async () => {
  const cost = 9;
  const file = parseHtpasswd(`alice:${await bcryptHash('secret', '2y', cost)}`, FILE);
  const verifier = new HtpasswdVerifier(file, pool);
  const time = async (user: string) => {
    const started = performance.now();
    await verifier.check(user, encoder.encode('wrong'));
    return performance.now() - started;
  };
  await time('alice');
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 5; i++) {
    known.push(await time('alice'));
    unknown.push(await time('nobody'));
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const [k, u] = [median(known), median(unknown)];
  assert.ok(u > k * 0.5 && u < k * 2, `known ${k.toFixed(1)} ms, unknown ${u.toFixed(1)} ms`);
  assert.ok(u > 5, `an unknown name costs a bcrypt (cost ${cost}): ${u.toFixed(1)} ms`);
});

test('the pool: busy limit, abandon, close', async () => {
  const small = new PasscodePool({ size: 1, maxQueued: 1 });
  const hash = await bcryptHash('x', '2y', 8);
  const first = small.verify('bcrypt', hash, encoder.encode('x'));
  const second = small.verify('bcrypt', hash, encoder.encode('x'));
  await rejects(() => small.verify('bcrypt', hash, encoder.encode('x')), /already waiting/);
  assert.is(await first, true);
  assert.is(await second, true);
  const controller = new AbortController();
  const abandoned = small.verify('bcrypt', hash, encoder.encode('x'), controller.signal);
  controller.abort();
  await rejects(() => abandoned, /abandoned/);
  const pending = small.verify('bcrypt', hash, encoder.encode('x'));
  small.close();
  await rejects(() => pending, /closed/);
  await rejects(() => small.verify('bcrypt', hash, encoder.encode('x')), /closed/);
  pool.close();
});

test.run();
