// A throwaway OpenLDAP slapd (Debian's) for the identity tests: a temp dir, slapd.conf
// written here, the mdb backend, suffix dc=example,dc=org, ldap:// and ldaps:// on free
// loopback ports with a certificate made by openssl at test time, users added with
// ldapadd ({SSHA} passwords from slappasswd), the memberof overlay for group membership.
import { rmSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { run, start, waitFor, type Running } from './processes.ts';
import { requireProgram } from './tools.ts';

export const SUFFIX = 'dc=example,dc=org';
const ADMIN_DN = `cn=admin,${SUFFIX}`;
const ADMIN_PASSWORD = 'admin-secret';

export interface SlapdUser {
  /** The entry's DN as slapd should store it (already escaped, RFC 4514). */
  dn: string;
  uid: string;
  password: string;
}

export interface SlapdGroup {
  cn: string;
  /** DNs of the members. */
  members: string[];
}

export interface Slapd {
  ldapUrl: string;
  ldapsUrl: string;
  /** PEM of the CA that signed the server certificate. */
  caPem: string;
  /** PEM of a CA that signed nothing here. */
  otherCaPem: string;
  process: Running;
  /** slapd's log so far (-d stats: a line per connection and operation). */
  log(): string;
  /** SIGSTOP: the ports stay open, nothing answers. Resolves once the kernel shows it stopped. */
  pause(): Promise<void>;
  resume(): void;
  stop(): Promise<void>;
}

/** The DN of ou=people's entry for a plain uid. */
export const personDn = (uid: string, ou = 'people') => `uid=${uid},ou=${ou},${SUFFIX}`;

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

async function must(command: string, args: string[], options: { cwd?: string; input?: string } = {}): Promise<string> {
  const result = await run(requireProgram(command), args, { ...options, timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.code}): ${result.output}`);
  return result.stdout;
}

/** A CA and a server certificate for 127.0.0.1 and localhost, plus an unrelated CA. */
async function certificates(dir: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const name of ['ca', 'other-ca']) {
    await must('openssl', ['req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=dicom-guard test ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { cwd: dir });
  }
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  await must('openssl', ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], { cwd: dir });
  await must('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '1', '-days', '1', '-extfile', 'server.ext', '-out', 'server.crt'], { cwd: dir });
}

function ldif(users: readonly SlapdUser[], groups: readonly SlapdGroup[], organizationalUnits: readonly string[]): string {
  const entries = [
    [`dn: ${SUFFIX}`, 'objectClass: dcObject', 'objectClass: organization', 'o: Example', 'dc: example'],
    ...['people', 'groups'].map((ou) => [`dn: ou=${ou},${SUFFIX}`, 'objectClass: organizationalUnit', `ou: ${ou}`]),
    // Base64 ("::") for every value that may hold DN specials or non-ASCII (RFC 2849).
    ...organizationalUnits.map((dn) => [`dn:: ${b64(dn)}`, 'objectClass: organizationalUnit', `ou:: ${b64(/^ou=([^,]+)/.exec(dn)![1]!)}`]),
    ...users.map((u) => [`dn:: ${b64(u.dn)}`, 'objectClass: inetOrgPerson', `uid:: ${b64(u.uid)}`, `cn:: ${b64(u.uid)}`, `sn:: ${b64(u.uid)}`, `userPassword:: ${b64(u.password)}`]),
    ...groups.map((g) => [`dn: cn=${g.cn},ou=groups,${SUFFIX}`, 'objectClass: groupOfNames', `cn: ${g.cn}`, ...g.members.map((m) => `member:: ${b64(m)}`)]),
  ];
  return entries.map((lines) => lines.join('\n')).join('\n\n') + '\n';
}

/** Certificates and slapd.conf in `dir`; the CA PEMs. */
async function prepare(dir: string): Promise<{ caPem: string; otherCaPem: string }> {
  await mkdir(join(dir, 'db'));
  await certificates(dir);
  const rootpw = (await must('/usr/sbin/slappasswd', ['-h', '{SSHA}', '-s', ADMIN_PASSWORD])).trim();
  const config = [
    'include /etc/ldap/schema/core.schema',
    'include /etc/ldap/schema/cosine.schema',
    'include /etc/ldap/schema/inetorgperson.schema',
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    'moduleload memberof',
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    `TLSCACertificateFile ${join(dir, 'ca.crt')}`,
    `TLSCertificateFile ${join(dir, 'server.crt')}`,
    `TLSCertificateKeyFile ${join(dir, 'server.key')}`,
    'database mdb',
    'maxsize 33554432',
    `suffix "${SUFFIX}"`,
    `rootdn "${ADMIN_DN}"`,
    `rootpw ${rootpw}`,
    `directory ${join(dir, 'db')}`,
    'overlay memberof',
    // Passwords: used to authenticate, never read. Entries: each user reads their own.
    'access to attrs=userPassword by self =x by anonymous auth by * none',
    'access to * by self read by * none',
  ];
  await writeFile(join(dir, 'slapd.conf'), config.join('\n') + '\n');
  return { caPem: await readFile(join(dir, 'ca.crt'), 'utf8'), otherCaPem: await readFile(join(dir, 'other-ca.crt'), 'utf8') };
}

// A test that dies before stop() (an uncaught error, Ctrl-C) still leaves no directory behind;
// processes.ts kills slapd itself.
const directories = new Set<string>();
process.once('exit', () => {
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
});

export async function startSlapd(options: { users: readonly SlapdUser[]; groups?: readonly SlapdGroup[]; organizationalUnits?: readonly string[] }): Promise<Slapd> {
  const slapd = requireProgram('/usr/sbin/slapd');
  const dir = await mkdtemp(join(tmpdir(), 'dg-slapd-'));
  directories.add(dir);
  let pems;
  try {
    pems = await prepare(dir);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const { caPem, otherCaPem } = pems;

  const ldapPort = await freePort();
  const ldapsPort = await freePort();
  const ldapUrl = `ldap://127.0.0.1:${ldapPort}`;
  const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
  // -d: stay in the foreground (and log to stderr) so the harness owns the process.
  const proc = start('slapd', slapd, ['-d', 'stats', '-h', `${ldapUrl}/ ${ldapsUrl}/`, '-f', join(dir, 'slapd.conf')], { cwd: dir, logFile: join(dir, 'slapd.log') });
  const stop = async () => {
    try {
      process.kill(-proc.child.pid!, 'SIGCONT');
    } catch {
      /* gone */
    }
    await proc.stop('SIGTERM', 5000);
    await rm(dir, { recursive: true, force: true });
    directories.delete(dir);
  };
  try {
    for (const port of [ldapPort, ldapsPort]) {
      await waitFor(
        `slapd on port ${port}`,
        () => {
          if (proc.child.exitCode !== null) throw new Error(`slapd exited: ${proc.output().slice(-3000)}`);
          return new Promise<boolean>((resolve) => {
            const socket = connect(port, '127.0.0.1', () => {
              socket.destroy();
              resolve(true);
            });
            socket.on('error', () => resolve(false));
          });
        },
        15_000,
      );
    }
    const users = await Promise.all(options.users.map(async (u) => ({ ...u, password: (await must('/usr/sbin/slappasswd', ['-h', '{SSHA}', '-s', u.password])).trim() })));
    await writeFile(join(dir, 'entries.ldif'), ldif(users, options.groups ?? [], options.organizationalUnits ?? []));
    await must('ldapadd', ['-x', '-H', ldapUrl, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD, '-f', join(dir, 'entries.ldif')]);
  } catch (error) {
    await stop();
    throw error;
  }
  const signal = (name: NodeJS.Signals) => process.kill(-proc.child.pid!, name);
  return {
    ldapUrl,
    ldapsUrl,
    caPem,
    otherCaPem,
    process: proc,
    log: () => proc.output(),
    pause: async () => {
      signal('SIGSTOP');
      // Field 3 of /proc/PID/stat is the state; "T" is stopped.
      await waitFor('slapd to stop', async () => (await readFile(`/proc/${proc.child.pid}/stat`, 'utf8')).split(') ')[1]?.startsWith('T'), 5000, 10);
    },
    resume: () => signal('SIGCONT'),
    stop,
  };
}
