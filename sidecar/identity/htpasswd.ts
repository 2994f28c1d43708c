// User identity type 2 against identity.htpasswd.file: one "name:hash" a line, as
// `htpasswd -B` writes it. Only slow, salted hashes are accepted: bcrypt ($2y$, $2b$,
// $2a$) and argon2id. The other formats htpasswd knows (MD5 "apr1", SHA-1, crypt, plain
// text) fall to a GPU in hours or less once the file leaks, so a file holding one is
// refused at load, with the line, rather than half-used.
//
// Timing: a name that is not in the file is still checked, against a dummy hash with the
// parameters most entries use, so the time to answer does not tell whether a user exists.
import type { HashScheme, PasscodePool } from './passcode-pool.ts';
import { IdentityMaterialError } from './material.ts';

export interface HtpasswdEntry {
  username: string;
  scheme: HashScheme;
  hash: string;
  /** 1-based line in the file. */
  line: number;
}

export interface Htpasswd {
  entries: ReadonlyMap<string, HtpasswdEntry>;
  /** What an unknown name is checked against (never matches). */
  dummy: { scheme: HashScheme; hash: string };
}

const BCRYPT = /^\$2([abxy])\$(\d{2})\$[./A-Za-z0-9]{53}$/;
const ARGON2ID = /^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const BCRYPT_DIGEST_LENGTH = 31;

/** Formats htpasswd (and crypt) know but that are not accepted here, by the start of the hash. */
const WEAK: readonly [RegExp, string][] = [
  [/^\$apr1\$/, 'an MD5 (apr1) hash'],
  [/^\{SHA\}/, 'a SHA-1 hash'],
  [/^\$1\$/, 'an MD5-crypt hash'],
  [/^\$5\$/, 'a SHA-256-crypt hash'],
  [/^\$6\$/, 'a SHA-512-crypt hash'],
  [/^\$argon2(i|d)\$/, 'an argon2i or argon2d hash (only argon2id is accepted)'],
  [/^\$y\$|^\$7\$/, 'a yescrypt or scrypt hash, which this verifier does not implement'],
  [/^[./0-9A-Za-z]{13}$/, 'a DES crypt hash'],
];

const ACCEPTED = 'accepted are bcrypt ($2y$, $2b$, $2a$; `htpasswd -B`) and argon2id ($argon2id$v=19$...) hashes';

function classify(hash: string, where: string): { scheme: HashScheme; cost: string } {
  const bcrypt = BCRYPT.exec(hash);
  if (bcrypt) {
    if (bcrypt[1] === 'x') throw new IdentityMaterialError(`${where} has a $2x$ bcrypt hash, the marker of the buggy crypt_blowfish before 2011; set the passcode again`);
    const cost = Number(bcrypt[2]);
    if (cost < 4 || cost > 31) throw new IdentityMaterialError(`${where} has a bcrypt cost of ${cost}; bcrypt allows 4 to 31`);
    return { scheme: 'bcrypt', cost: `bcrypt ${cost}` };
  }
  const argon = ARGON2ID.exec(hash);
  if (argon) {
    const [, version, m, t, p, salt, digest] = argon.map(String) as [string, string, string, string, string, string, string];
    if (version !== '19') throw new IdentityMaterialError(`${where} has an argon2id hash of version ${version}; only version 19 (0x13) is accepted`);
    const [memory, passes, lanes] = [Number(m), Number(t), Number(p)];
    // Bounds keep a mistyped file from making every login allocate gigabytes.
    if (lanes < 1 || lanes > 64) throw new IdentityMaterialError(`${where} has an argon2id hash with p=${lanes}; 1 to 64 are accepted`);
    if (memory < 8 * lanes || memory > 1024 * 1024) throw new IdentityMaterialError(`${where} has an argon2id hash with m=${memory} KiB; ${8 * lanes} to 1048576 are accepted`);
    if (passes < 1 || passes > 100) throw new IdentityMaterialError(`${where} has an argon2id hash with t=${passes}; 1 to 100 are accepted`);
    if (salt.length < 11) throw new IdentityMaterialError(`${where} has an argon2id hash with a salt shorter than 8 bytes`);
    return { scheme: 'argon2id', cost: `argon2id m=${memory},t=${passes},p=${lanes},${digest.length}` };
  }
  const weak = WEAK.find(([pattern]) => pattern.test(hash));
  throw new IdentityMaterialError(`${where} has ${weak ? `${weak[1]}, which is refused as too weak` : 'plain text or a hash format that is not recognised'}; ${ACCEPTED}`);
}

/** The dummy for unknown names: a real entry's parameters and salt, with a digest of zeros no passcode produces. */
function dummyFor(entry: HtpasswdEntry | undefined): Htpasswd['dummy'] {
  if (!entry) return { scheme: 'bcrypt', hash: `$2b$10$N9qo8uLOickgx2ZMRZoMye${'.'.repeat(BCRYPT_DIGEST_LENGTH)}` };
  if (entry.scheme === 'bcrypt') return { scheme: 'bcrypt', hash: entry.hash.slice(0, -BCRYPT_DIGEST_LENGTH) + '.'.repeat(BCRYPT_DIGEST_LENGTH) };
  const cut = entry.hash.lastIndexOf('$') + 1;
  return { scheme: 'argon2id', hash: entry.hash.slice(0, cut) + 'A'.repeat(entry.hash.length - cut) };
}

/** Parses the file's contents; throws IdentityMaterialError naming `file` and the line. */
export function parseHtpasswd(text: string, file: string): Htpasswd {
  const entries = new Map<string, HtpasswdEntry>();
  const costs = new Map<string, { count: number; entry: HtpasswdEntry }>();
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) return;
    const colon = content.indexOf(':');
    if (colon < 0) throw new IdentityMaterialError(`${file} line ${line}: expected "name:hash"`);
    const username = content.slice(0, colon);
    const hash = content.slice(colon + 1);
    if (username === '') throw new IdentityMaterialError(`${file} line ${line}: the user name before ":" is empty`);
    const previous = entries.get(username);
    if (previous) throw new IdentityMaterialError(`${file} line ${line}: user ${JSON.stringify(username)} is already defined on line ${previous.line}`);
    const { scheme, cost } = classify(hash, `${file} line ${line}: user ${JSON.stringify(username)}`);
    const entry: HtpasswdEntry = { username, scheme, hash, line };
    entries.set(username, entry);
    const seen = costs.get(cost);
    if (seen) seen.count++;
    else costs.set(cost, { count: 1, entry });
  });
  // The most common parameters, so that an unknown name costs what most known ones do.
  const common = [...costs.values()].sort((a, b) => b.count - a.count)[0];
  return { entries, dummy: dummyFor(common?.entry) };
}

export type HtpasswdCheck = 'verified' | 'wrong-passcode' | 'unknown-user';

export class HtpasswdVerifier {
  private readonly file: Htpasswd;
  private readonly pool: PasscodePool;

  constructor(file: Htpasswd, pool: PasscodePool) {
    this.file = file;
    this.pool = pool;
  }

  has(username: string): boolean {
    return this.file.entries.has(username);
  }

  /** Rejects when the passcode could not be checked (pool full or closed, broken hash). */
  async check(username: string, passcode: Uint8Array, signal?: AbortSignal): Promise<HtpasswdCheck> {
    const entry = this.file.entries.get(username);
    // Unknown names pay the same price as known ones (see the top of this file).
    const target = entry ?? this.file.dummy;
    const matches = await this.pool.verify(target.scheme, target.hash, passcode, signal);
    if (!entry) return 'unknown-user';
    return matches ? 'verified' : 'wrong-passcode';
  }
}
