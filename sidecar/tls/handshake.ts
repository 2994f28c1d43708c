// Turning an accepted TCP connection into the transport the association runs on: plain,
// TLS, or (tls.mode Optional) whichever the caller speaks, told apart by its first
// byte: 0x16 is a TLS handshake record (RFC 8446 5.1), while a DICOM caller starts with
// PDU type 0x01 (PS3.8 9.3.1). Runs after the source address check, inside ARTIM.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ClientCertificate } from '../decision/decide.ts';
import { clientCertificateNames, type TlsSettings } from './context.ts';

const TLS_HANDSHAKE_RECORD = 0x16;

export type Transport =
  | { kind: 'plain'; socket: Socket }
  | { kind: 'tls'; socket: TLSSocket; version: string; clientCertificate?: ClientCertificate }
  | { kind: 'failed'; why: string; timedOut: boolean };

/** Wait for the first byte without consuming it. */
function peekFirstByte(socket: Socket, timeoutMs: number): Promise<number | 'timeout' | 'closed'> {
  return new Promise((resolve) => {
    const done = (value: number | 'timeout' | 'closed') => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onClosed);
      socket.off('close', onClosed);
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      done(chunk[0]!);
    };
    const onClosed = () => done('closed');
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.on('data', onData);
    socket.once('end', onClosed);
    socket.once('close', onClosed);
    socket.resume();
  });
}

type Waiter = (outcome: { socket: TLSSocket } | { error: Error }) => void;
const waiters = new WeakMap<TlsSettings['server'], WeakMap<Socket, Waiter>>();

/**
 * The TCP socket a server-side TLSSocket wraps. Node sets `_parent` when it wraps a
 * net.Socket (lib/_tls_wrap.js, since v0.11); it is the only link that survives a socket
 * destroyed mid-handshake, when address and port are already gone.
 */
const rawOf = (socket: TLSSocket): Socket | undefined => (socket as TLSSocket & { _parent?: Socket })._parent;

/** The generation's TLS server reports handshakes through its events; each goes to its caller. */
function waitersOf(server: TlsSettings['server']): WeakMap<Socket, Waiter> {
  let map = waiters.get(server);
  if (!map) {
    const created = new WeakMap<Socket, Waiter>();
    map = created;
    waiters.set(server, created);
    const waiterOf = (socket: TLSSocket) => {
      const raw = rawOf(socket);
      return raw ? created.get(raw) : undefined;
    };
    server.on('secureConnection', (socket: TLSSocket) => waiterOf(socket)?.({ socket }));
    server.on('tlsClientError', (error: Error, socket: TLSSocket) => waiterOf(socket)?.({ error }));
  }
  return map;
}

function handshake(raw: Socket, settings: TlsSettings, timeoutMs: number): Promise<Transport> {
  const pending = waitersOf(settings.server);
  const key = raw;
  return new Promise((resolve) => {
    let finished = false;
    const done = (transport: Transport) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      pending.delete(key);
      raw.off('close', onRawClose);
      if (transport.kind === 'failed') raw.destroy();
      resolve(transport);
    };
    const onRawClose = () => done({ kind: 'failed', why: 'connection closed during the TLS handshake', timedOut: false });
    const timer = setTimeout(() => done({ kind: 'failed', why: `TLS handshake not finished within ${timeoutMs / 1000} s`, timedOut: true }), timeoutMs);
    pending.set(key, (outcome) => {
      if ('error' in outcome) return done({ kind: 'failed', why: `TLS handshake failed: ${outcome.error.message}`, timedOut: false });
      const socket = outcome.socket;
      const version = socket.getProtocol() ?? 'unknown';
      if (settings.clientCertificates === 'None') return done({ kind: 'tls', socket, version });
      const peer = socket.getPeerCertificate();
      const presented = Object.keys(peer).length > 0;
      const refuse = (why: string) => {
        socket.destroy();
        done({ kind: 'failed', why, timedOut: false });
      };
      if (presented && !socket.authorized) return refuse(`client certificate not trusted by tls.clientCAFile: ${String(socket.authorizationError)}`);
      if (!presented && settings.clientCertificates === 'Required') return refuse('no client certificate presented; tls.clientCertificates is Required');
      if (!presented) return done({ kind: 'tls', socket, version });
      done({
        kind: 'tls',
        socket,
        version,
        clientCertificate: {
          names: clientCertificateNames({ subjectaltname: peer.subjectaltname, subject: { CN: peer.subject?.CN ?? [] } }),
          subject: Object.entries(peer.subject ?? {})
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(', '),
        },
      });
    });
    raw.once('close', onRawClose);
    // The listener keeps TCP half-open for plain DICOM; under TLS a caller's FIN must end
    // the TLS socket, or one that leaves mid-handshake would never be reported.
    raw.allowHalfOpen = false;
    settings.server.emit('connection', raw);
    raw.resume();
  });
}

/** The transport for this connection; `settings` undefined means tls.mode Disabled. */
export async function establishTransport(socket: Socket, settings: TlsSettings | undefined, timeoutMs: number): Promise<Transport> {
  if (!settings || settings.mode === 'Disabled') return { kind: 'plain', socket };
  const started = Date.now();
  if (settings.mode === 'Optional') {
    const first = await peekFirstByte(socket, timeoutMs);
    if (first === 'timeout') return { kind: 'failed', why: `nothing received within ${timeoutMs / 1000} s`, timedOut: true };
    if (first === 'closed') return { kind: 'failed', why: 'connection closed before the first byte', timedOut: false };
    if (first !== TLS_HANDSHAKE_RECORD) return { kind: 'plain', socket };
  }
  return handshake(socket, settings, Math.max(1, timeoutMs - (Date.now() - started)));
}
