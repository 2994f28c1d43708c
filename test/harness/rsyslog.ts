// A throwaway rsyslog (Debian's rsyslogd) as the audit repository for the ATNA tests:
// RFC 5425 over TLS (the ossl stream driver, optionally requiring a client certificate
// from a given CA) and RFC 5426 over UDP, on free loopback ports. Every message it
// receives is written to a file, one JSON object per line (PRI, APP-NAME, MSGID, MSG),
// which messages() reads back. stop() and start() again keep the ports, so a test can
// take the repository away and bring it back.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from './ports.ts';
import { start, waitFor, type Running } from './processes.ts';
import { requireProgram } from './tools.ts';

export interface SyslogRecord {
  pri: number;
  appName: string;
  procId: string;
  msgId: string;
  hostname: string;
  /** The MSG part (the XML), the UTF-8 BOM removed. */
  msg: string;
}

export interface Rsyslog {
  tlsPort: number;
  udpPort: number;
  dir: string;
  messages(): Promise<SyslogRecord[]>;
  stop(): Promise<void>;
  /** Start again on the same ports after stop(). */
  start(): Promise<void>;
  /** stop() and remove the directory. */
  close(): Promise<void>;
}

export interface RsyslogOptions {
  /** The server certificate and key, and the CA client certificates must chain to. */
  cert: string;
  key: string;
  ca: string;
  /** Require a client certificate signed by `ca` (x509/certvalid); else anonymous clients. */
  requireClientCertificate?: boolean;
}

export async function startRsyslog(options: RsyslogOptions): Promise<Rsyslog> {
  const dir = await mkdtemp(join(tmpdir(), 'dg-rsyslog-'));
  const tlsPort = await freePort();
  const udpPort = await freePort();
  const out = join(dir, 'received.jsonl');
  const conf = join(dir, 'rsyslog.conf');
  await writeFile(
    conf,
    `global(workDirectory="${dir}" maxMessageSize="64k"
       DefaultNetstreamDriver="ossl"
       DefaultNetstreamDriverCAFile="${options.ca}"
       DefaultNetstreamDriverCertFile="${options.cert}"
       DefaultNetstreamDriverKeyFile="${options.key}")
module(load="imtcp" StreamDriver.Name="ossl" StreamDriver.Mode="1" StreamDriver.AuthMode="${options.requireClientCertificate ? 'x509/certvalid' : 'anon'}")
input(type="imtcp" address="127.0.0.1" port="${tlsPort}")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="${udpPort}")
template(name="jsonl" type="list") {
  constant(value="{\\"pri\\":") property(name="pri") constant(value=",\\"hostname\\":\\"") property(name="hostname" format="json")
  constant(value="\\",\\"appName\\":\\"") property(name="app-name" format="json")
  constant(value="\\",\\"procId\\":\\"") property(name="procid" format="json")
  constant(value="\\",\\"msgId\\":\\"") property(name="msgid" format="json")
  constant(value="\\",\\"msg\\":\\"") property(name="msg" format="json")
  constant(value="\\"}\\n")
}
action(type="omfile" file="${out}" template="jsonl" flushOnTXEnd="on" asyncWriting="off")
`,
  );
  let process: Running | undefined;
  const launch = async () => {
    process = start('rsyslogd', requireProgram('/usr/sbin/rsyslogd'), ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { logFile: join(dir, 'rsyslogd.log') });
    await waitFor(
      'rsyslogd listening',
      () =>
        new Promise<boolean>((resolve) => {
          const socket = connect(tlsPort, '127.0.0.1');
          socket.once('connect', () => {
            socket.destroy();
            resolve(true);
          });
          socket.once('error', () => resolve(false));
        }),
      15_000,
      100,
    );
  };
  await launch();
  const stop = async () => {
    await process?.stop('SIGTERM', 5000);
    process = undefined;
  };
  return {
    tlsPort,
    udpPort,
    dir,
    async messages() {
      const text = await readFile(out, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => {
          const record = JSON.parse(line) as SyslogRecord;
          return { ...record, pri: Number(record.pri), msg: record.msg.replace(/^\uFEFF/, '').trimStart().replace(/^\uFEFF/, '') };
        });
    },
    stop,
    start: launch,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
