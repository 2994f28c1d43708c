// A stand-in PACS for the memory benchmark: it accepts every A-ASSOCIATE-RQ (each
// presentation context with its first transfer syntax), answers A-RELEASE-RQ with
// A-RELEASE-RP and holds any number of associations open at once, which storescp
// (one association at a time, or a process per association with --fork) cannot.
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { readPdu } from '../sidecar/wire/reader.ts';
import { writePdu } from '../sidecar/wire/writer.ts';
import { PduType, type AssociateAccept } from '../sidecar/wire/pdu.ts';

export interface AcceptingUpstream {
  port: number;
  /** Connections open right now. */
  readonly open: number;
  close(): Promise<void>;
}

const MAX_PDU_BYTES = 1024 * 1024;

function serve(socket: Socket): void {
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    for (;;) {
      let read;
      try {
        read = readPdu(buffered, MAX_PDU_BYTES);
      } catch {
        socket.destroy();
        return;
      }
      if (!read) return;
      buffered = buffered.subarray(read.length);
      const pdu = read.pdu;
      if (pdu.type === PduType.AssociateRequest) {
        const accept: AssociateAccept = {
          ...pdu,
          type: PduType.AssociateAccept,
          presentationContexts: pdu.presentationContexts.map((pc) => ({ id: pc.id, result: 0, transferSyntax: pc.transferSyntaxes[0] ?? '' })),
          userInformation: { ...pdu.userInformation, userIdentity: undefined, maxLength: 16384 },
        };
        socket.write(writePdu(accept));
      } else if (pdu.type === PduType.ReleaseRequest) {
        socket.end(writePdu({ type: PduType.ReleaseResponse }));
      } else if (pdu.type === PduType.Abort) {
        socket.destroy();
      }
    }
  });
}

export async function startAcceptingUpstream(): Promise<AcceptingUpstream> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serve(socket);
  });
  server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 });
  await once(server, 'listening');
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    get open() {
      return sockets.size;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
