// A minimal association requestor for the benchmarks: a raw A-ASSOCIATE-RQ built with
// the project's own codec, proposing Verification with implicit VR little endian (or the
// contexts given), then A-RELEASE-RQ (PS3.8 7.2). No process start-up per association
// and no DIMSE of its own (the soak benchmark sends some through `exchange`, dimse.ts):
// what a loop of these measures is the path between client and acceptor, not the client.
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { readPdu } from '../sidecar/wire/reader.ts';
import { writePdu } from '../sidecar/wire/writer.ts';
import { DICOM_APPLICATION_CONTEXT, PduType, type AssociateRequest, type Pdu, type PresentationContextRequest, type UserIdentityRequest } from '../sidecar/wire/pdu.ts';
import { VERIFICATION } from '../sidecar/dicom/services.ts';

export { VERIFICATION };
export const IMPLICIT_LITTLE = '1.2.840.10008.1.2';
const MAX_ANSWER_BYTES = 1024 * 1024;

const VERIFICATION_ONLY: readonly PresentationContextRequest[] = [{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LITTLE] }];

/** `userIdentity`: a user identity sub-item (PS3.7 D.3.3.7), e.g. a JWT (type 5); every context proposed must be accepted. */
export function associateRequest(calledAETitle: string, callingAETitle: string, userIdentity?: UserIdentityRequest, presentationContexts = VERIFICATION_ONLY): Uint8Array {
  const request: AssociateRequest = {
    type: PduType.AssociateRequest,
    protocolVersion: 1,
    calledAETitle,
    callingAETitle,
    applicationContext: DICOM_APPLICATION_CONTEXT,
    presentationContexts: [...presentationContexts],
    userInformation: {
      maxLength: 16384,
      implementationClassUid: '1.2.826.0.1.3680043.10.1234.2',
      implementationVersionName: 'DG_BENCH',
      roleSelections: [],
      extendedNegotiations: [],
      commonExtendedNegotiations: [],
      unknownSubItems: [],
      ...(userIdentity ? { userIdentity } : {}),
    },
  };
  return writePdu(request);
}

const RELEASE_REQUEST = writePdu({ type: PduType.ReleaseRequest });

/** One connection's PDUs, read one at a time as they complete. */
class PduStream {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (pdu: Pdu) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
      this.deliver();
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed before the expected PDU')));
  }

  next(): Promise<Pdu> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.deliver();
    });
  }

  private deliver(): void {
    if (!this.waiting) return;
    if (this.failure) {
      this.waiting.reject(this.failure);
      this.waiting = undefined;
      return;
    }
    let read;
    try {
      read = readPdu(this.buffered, MAX_ANSWER_BYTES);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    if (!read) return;
    this.buffered = this.buffered.subarray(read.length);
    const { resolve } = this.waiting;
    this.waiting = undefined;
    resolve(read.pdu);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.deliver();
  }
}

function describe(pdu: Pdu): string {
  switch (pdu.type) {
    case PduType.AssociateReject:
      return `A-ASSOCIATE-RJ (${pdu.result},${pdu.source},${pdu.reason})`;
    case PduType.Abort:
      return `A-ABORT (source ${pdu.source}, reason ${pdu.reason})`;
    default:
      return `PDU type ${pdu.type}`;
  }
}

/** An established association: its socket, and a way to release it. */
export interface OpenAssociation {
  socket: Socket;
  /** The largest PDU the acceptor takes (its A-ASSOCIATE-AC's maximum length; 0: no limit). */
  maxPduLength: number;
  /** Send these PDUs and resolve with the next one the acceptor sends (a DIMSE response, say). */
  exchange(pdus: readonly Uint8Array[]): Promise<Pdu>;
  release(): Promise<void>;
}

/** TLS to the proxy: the CA (PEM) its certificate, issued for "localhost", is checked against. */
export interface ClientTls {
  ca: string;
}

function connectTo(port: number, tls: ClientTls | undefined): Socket {
  if (!tls) return connect({ host: '127.0.0.1', port, noDelay: true });
  const socket = connectTls({ host: '127.0.0.1', port, ca: tls.ca, servername: 'localhost' });
  socket.setNoDelay(true);
  return socket;
}

/** Connect, send the A-ASSOCIATE-RQ, resolve once the A-ASSOCIATE-AC is in. */
export async function openAssociation(port: number, requestBytes: Uint8Array, signal: AbortSignal, tls?: ClientTls): Promise<OpenAssociation> {
  const socket = connectTo(port, tls);
  const onAbort = () => socket.destroy(new Error(`no answer: ${String(signal.reason)}`));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const pdus = new PduStream(socket);
    socket.write(requestBytes);
    const answer = await pdus.next();
    if (answer.type !== PduType.AssociateAccept) throw new Error(`expected A-ASSOCIATE-AC, got ${describe(answer)}`);
    if (answer.presentationContexts.length === 0) throw new Error('the A-ASSOCIATE-AC has no presentation context');
    const refused = answer.presentationContexts.find((pc) => pc.result !== 0);
    if (refused) throw new Error(`presentation context ${refused.id} was not accepted (result ${refused.result})`);
    return {
      socket,
      maxPduLength: answer.userInformation.maxLength ?? 0,
      async exchange(request) {
        for (const pdu of request) socket.write(pdu);
        return pdus.next();
      },
      async release() {
        socket.write(RELEASE_REQUEST);
        const reply = await pdus.next();
        if (reply.type !== PduType.ReleaseResponse) throw new Error(`expected A-RELEASE-RP, got ${describe(reply)}`);
        // PS3.8 9.2 AR-3: the requestor closes the transport connection after the RP;
        // wait for the other side's FIN too, so the next association starts on a quiet path.
        const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
        socket.end();
        await closed;
      },
    };
  } catch (error) {
    socket.destroy();
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** A whole association lifecycle: associate, release, close. */
export async function associateAndRelease(port: number, requestBytes: Uint8Array, timeoutMs = 10_000, tls?: ClientTls): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  const association = await openAssociation(port, requestBytes, signal, tls);
  const onAbort = () => association.socket.destroy(new Error(`release not completed: ${String(signal.reason)}`));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await association.release();
  } finally {
    signal.removeEventListener('abort', onAbort);
    association.socket.destroy();
  }
}
