// A DICOM peer that sends exactly the bytes a test gives it (malformed PDUs, one byte
// per TCP segment, resets) and reports what came back and when the sidecar closed.
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Exchange {
  /** Every byte the sidecar sent back. */
  received: Buffer;
  /** Milliseconds from connect until the sidecar closed the connection; undefined if it did not. */
  closedAfterMs: number | undefined;
  /** The first byte (PDU type) the sidecar answered with, if any. */
  firstPduType: number | undefined;
}

export interface ExchangeOptions {
  /** Write one byte at a time with a pause between (TCP_NODELAY set): class 11. */
  oneByteSegments?: boolean;
  /** Stop waiting for the close after this long. */
  waitMs?: number;
  /** After sending, reset the connection (RST) instead of waiting. */
  resetAfterSend?: boolean;
  /** After sending, half-close (FIN) and keep reading. */
  halfCloseAfterSend?: boolean;
  localAddress?: string;
}

export async function exchange(port: number, payload: Uint8Array | readonly Uint8Array[], options: ExchangeOptions = {}): Promise<Exchange> {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true, allowHalfOpen: false, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
  const started = Date.now();
  const chunks: Buffer[] = [];
  let closedAfterMs: number | undefined;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closedAfterMs = Date.now() - started;
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const parts = payload instanceof Uint8Array ? [payload] : payload;
  for (const part of parts) {
    if (socket.destroyed) break;
    if (options.oneByteSegments) {
      for (const byte of part) {
        if (socket.destroyed) break;
        socket.write(Uint8Array.of(byte));
        await sleep(1);
      }
    } else {
      socket.write(part);
    }
  }
  if (options.resetAfterSend) {
    await sleep(50);
    socket.resetAndDestroy();
  } else if (options.halfCloseAfterSend) {
    socket.end();
  }
  await Promise.race([closed, sleep(options.waitMs ?? 10_000)]);
  socket.destroy();
  const received = Buffer.concat(chunks);
  return { received, closedAfterMs, firstPduType: received.length ? received[0] : undefined };
}

/** Bytes of an A-ASSOCIATE-RJ (result, source, reason) as PS3.8 Table 9-21 lays it out. */
export function rejectBytes(result: number, source: number, reason: number): Buffer {
  return Buffer.from([0x03, 0, 0, 0, 0, 4, 0, result, source, reason]);
}

/** Bytes of an A-ABORT from the service provider with `reason` (PS3.8 Table 9-26). */
export function providerAbortBytes(reason: number): Buffer {
  return Buffer.from([0x07, 0, 0, 0, 0, 4, 0, 0, 2, reason]);
}
