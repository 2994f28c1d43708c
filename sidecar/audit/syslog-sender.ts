// Sending audit messages to the audit repository: RFC 5425 (TLS, octet counting) or
// RFC 5426 (UDP). Written on node:tls and node:dgram: the npm syslog clients seen do not
// do RFC 5425 framing with certificate checks, and the whole sender is this file.
//
// The repository is never in the DICOM path: send() only queues. The queue is bounded;
// when it is full the oldest message goes, counted as dropped. A broken connection is
// reconnected with backoff (1 s doubling to 30 s); messages written to a connection that
// then breaks may be lost (syslog has no acknowledgements) and are counted as sent. A
// minute's drops are logged once, at the end of that minute.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { clientConnectOptions, type ClientTlsSettings } from '../tls/client.ts';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { octetCounted, syslogMessage, type SyslogHeader } from './syslog-format.ts';

export interface SyslogTarget {
  readonly host: string;
  readonly port: number;
  readonly transport: 'TLS' | 'UDP';
  /** Absent with TLS: Node's bundled CAs, the host as the name. */
  readonly tls?: Pick<ClientTlsSettings, 'context' | 'serverName'>;
  readonly header: SyslogHeader;
  readonly queueSize: number;
}

const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
const DROP_REPORT_MS = 60_000;

export class SyslogSender {
  readonly #target: SyslogTarget;
  readonly #logger: Logger;
  readonly #counter: Counter<'result'>;
  readonly #queue: Buffer[] = [];
  #socket: TLSSocket | undefined;
  #udp: UdpSocket | undefined;
  #connecting = false;
  #writing = false;
  #backoffMs = BACKOFF_MIN_MS;
  #retry: NodeJS.Timeout | undefined;
  #droppedSinceReport = 0;
  #lastDropReason = '';
  #lastProblem = '';
  readonly #reportTimer: NodeJS.Timeout;
  #closed = false;
  #udpPending = 0;

  constructor(target: SyslogTarget, logger: Logger, counter: Counter<'result'>) {
    this.#target = target;
    this.#logger = logger;
    this.#counter = counter;
    this.#reportTimer = setInterval(() => this.#reportDrops(), DROP_REPORT_MS);
    this.#reportTimer.unref();
  }

  /** Queue one audit message (its XML); never blocks, never throws. */
  send(xml: string, at: Date = new Date()): void {
    if (this.#closed) return;
    const message = syslogMessage(this.#target.header, at, xml);
    if (this.#target.transport === 'UDP') return this.#sendUdp(message);
    if (this.#queue.length >= this.#target.queueSize) {
      this.#queue.shift();
      this.#dropped(1, 'the queue is full');
    }
    this.#queue.push(octetCounted(message));
    this.#pump();
  }

  /** Stop: what is queued gets `graceMs` to be written (the Application Stop message, typically). */
  async close(graceMs = 2000): Promise<void> {
    if (this.#closed) return;
    const deadline = Date.now() + graceMs;
    while ((this.#queue.length > 0 || this.#writing || this.#udpPending > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.#closed = true;
    clearInterval(this.#reportTimer);
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#queue.length) this.#dropped(this.#queue.splice(0).length, 'the sidecar stopped before the repository took them');
    this.#reportDrops();
    this.#socket?.end();
    this.#udp?.close();
  }

  #sendUdp(message: Buffer): void {
    if (!this.#udp) {
      this.#udp = createSocket(isIP(this.#target.host) === 6 ? 'udp6' : 'udp4');
      this.#udp.on('error', (error) => this.#problem(error.message));
      this.#udp.unref();
    }
    // RFC 5426 3.1: one message per datagram.
    this.#udpPending++;
    this.#udp.send(message, this.#target.port, this.#target.host, (error) => {
      this.#udpPending--;
      if (error) this.#dropped(1, error.message);
      else this.#counter.inc({ result: 'sent' });
    });
  }

  #pump(): void {
    if (this.#closed || this.#writing || this.#queue.length === 0) return;
    const socket = this.#socket;
    if (!socket) return this.#connect();
    this.#writing = true;
    const batch = this.#queue.splice(0, 256);
    socket.write(Buffer.concat(batch), (error) => {
      this.#writing = false;
      if (error) {
        this.#dropped(batch.length, error.message);
        return;
      }
      this.#counter.inc({ result: 'sent' }, batch.length);
      this.#backoffMs = BACKOFF_MIN_MS;
      this.#pump();
    });
  }

  #connect(): void {
    if (this.#connecting || this.#retry || this.#closed) return;
    this.#connecting = true;
    const { host, port, tls } = this.#target;
    const socket = tlsConnect({ host, port, ...(tls ? clientConnectOptions(tls) : {}) });
    socket.setNoDelay(true);
    socket.unref();
    const failed = (why: string) => {
      if (this.#socket === socket) this.#socket = undefined;
      if (this.#closed) return;
      this.#connecting = false;
      this.#writing = false;
      socket.destroy();
      this.#problem(why);
      this.#scheduleRetry();
    };
    socket.once('secureConnect', () => {
      this.#connecting = false;
      this.#socket = socket;
      if (this.#lastProblem) this.#logger.info({ repository: `${host}:${port}` }, 'audit repository reachable again');
      this.#lastProblem = '';
      this.#pump();
    });
    socket.on('error', (error) => failed(error.message));
    socket.on('close', () => {
      if (this.#socket === socket || this.#connecting) failed('the connection closed');
    });
    // The repository sends nothing (RFC 5425 is one way); reading keeps the socket from filling.
    socket.on('data', () => {});
  }

  #scheduleRetry(): void {
    if (this.#retry || this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#pump();
    }, this.#backoffMs);
    this.#retry.unref();
    this.#backoffMs = Math.min(this.#backoffMs * 2, BACKOFF_MAX_MS);
  }

  #problem(why: string): void {
    if (why === this.#lastProblem) return;
    this.#lastProblem = why;
    this.#logger.warn({ repository: `${this.#target.host}:${this.#target.port}`, transport: this.#target.transport, err: why, queued: this.#queue.length }, 'audit repository unreachable; audit messages are queued');
  }

  #dropped(count: number, why: string): void {
    this.#counter.inc({ result: 'dropped' }, count);
    this.#droppedSinceReport += count;
    this.#lastDropReason = why;
  }

  #reportDrops(): void {
    if (this.#droppedSinceReport === 0) return;
    this.#logger.warn({ dropped: this.#droppedSinceReport, reason: this.#lastDropReason, repository: `${this.#target.host}:${this.#target.port}` }, `${this.#droppedSinceReport} audit message(s) dropped (dicomguard_audit_messages_total{result="dropped"})`);
    this.#droppedSinceReport = 0;
  }
}
