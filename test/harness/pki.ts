// Certificates for TLS tests, made with openssl at test time (never checked in): a CA,
// server and client certificates signed by it, with SAN DNS names.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './processes.ts';
import { requireProgram } from './tools.ts';

export interface CertificateFiles {
  cert: string;
  key: string;
}

export interface Pki {
  dir: string;
  ca: CertificateFiles;
  /** Issue a leaf certificate; names[0] is the subject CN, all of them SAN DNS names. */
  issue(name: string, options?: { names?: string[]; ips?: string[]; usage?: 'server' | 'client' | 'both'; days?: number; file?: string }): Promise<CertificateFiles>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const result = await run(requireProgram('openssl'), args, { cwd });
  if (result.code !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.output}`);
}

export async function createPki(caName = 'dicom-guard test CA'): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'dg-pki-'));
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  // RSA keys: DCMTK's BCP 195 profile negotiates ECDHE-RSA suites.
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', ca.key, '-out', ca.cert, '-subj', `/CN=${caName}`, '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  let serial = 1;
  return {
    dir,
    ca,
    async issue(name, options = {}) {
      const file = options.file ?? name.replace(/[^a-z0-9.-]/gi, '_');
      const names = options.names ?? [name];
      const usage = options.usage ?? 'both';
      const extendedKeyUsage = usage === 'server' ? 'serverAuth' : usage === 'client' ? 'clientAuth' : 'serverAuth,clientAuth';
      const extFile = join(dir, `${file}.ext`);
      const alternatives = [...names.map((n) => `DNS:${n}`), ...(options.ips ?? []).map((ip) => `IP:${ip}`)];
      await writeFile(extFile, `subjectAltName=${alternatives.join(',')}\nextendedKeyUsage=${extendedKeyUsage}\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n`);
      const key = join(dir, `${file}.key`);
      const csr = join(dir, `${file}.csr`);
      const cert = join(dir, `${file}.crt`);
      await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], dir);
      await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(serial++), '-out', cert, '-days', String(options.days ?? 1), '-extfile', extFile], dir);
      return { cert, key };
    },
  };
}
