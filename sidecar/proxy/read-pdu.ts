// Reading exactly one PDU from a socket that is not yet relaying: the caller's
// A-ASSOCIATE-RQ, or the upstream's answer to it. Bounded in time (ARTIM, PS3.8 9.1.4)
// and in size (the PDU length is checked against the cap as soon as the 6-byte header
// is in, before any body is buffered).
import type { Socket } from 'node:net';
import { PduError } from '../wire/errors.ts';
import { checkPduLength, readPduHeader, type PduHeader } from '../wire/reader.ts';
import { PDU_HEADER_LENGTH } from '../wire/pdu.ts';

export type ReadOutcome =
  | { kind: 'pdu'; header: PduHeader; bytes: Buffer; rest: Buffer }
  | { kind: 'invalid'; error: PduError; received: number }
  | { kind: 'timeout'; received: number }
  | { kind: 'closed'; received: number }
  | { kind: 'error'; error: Error; received: number }
  | { kind: 'cancelled'; received: number };

/**
 * Resolves when one whole PDU arrived, or why not. The socket is left paused with no
 * data listener, so what follows the PDU (in `rest`) and on the socket is not consumed.
 */
export function readOnePdu(socket: Socket, maxPduLength: number, timeoutMs: number, signal?: AbortSignal): Promise<ReadOutcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let header: PduHeader | undefined;

    const finish = (outcome: ReadOutcome) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
      socket.pause();
      resolve(outcome);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      const buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      chunks.length = 0;
      chunks.push(buffer);
      try {
        if (!header) {
          // An unknown PDU type is refused from its first byte (TLS, HTTP on this port).
          header = readPduHeader(buffer);
          // Refused from the header alone: nothing of an oversized body is buffered.
          if (header) checkPduLength(header.type, header.length, maxPduLength, 0);
        }
      } catch (error) {
        if (error instanceof PduError) return finish({ kind: 'invalid', error, received });
        throw error;
      }
      if (header && buffer.length >= PDU_HEADER_LENGTH + header.length) {
        const end = PDU_HEADER_LENGTH + header.length;
        finish({ kind: 'pdu', header, bytes: buffer.subarray(0, end), rest: buffer.subarray(end) });
      }
    };
    const onEnd = () => finish({ kind: 'closed', received });
    const onError = (error: Error) => finish({ kind: 'error', error, received });
    const onAbort = () => finish({ kind: 'cancelled', received });
    const timer = setTimeout(() => finish({ kind: 'timeout', received }), timeoutMs);

    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.on('error', onError);
    socket.resume();
  });
}
