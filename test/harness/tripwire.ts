// A TCP forwarder the tests put between the sidecar and the PACS: it counts every
// connection and byte that reaches the upstream, so a test can prove that nothing did.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { once } from 'node:events';

export interface Tripwire {
  port: number;
  connections: number;
  bytes: number;
  /** Raw bytes received, per connection (for asserting what the PACS saw). */
  received: Buffer[][];
  /** Per connection, the order in which bytes crossed: 'up' to the PACS, 'down' from it. */
  flow: { direction: 'up' | 'down'; bytes: Buffer }[][];
  /** Reset (RST) every connection the sidecar made, as a crashing PACS host would. */
  resetAll(): Promise<void>;
  close(): Promise<void>;
}

/** Forward to `target` (or accept and hold when absent), counting what arrives. */
export async function startTripwire(target?: { host: string; port: number }): Promise<Tripwire> {
  const sockets = new Set<Socket>();
  const accepted = new Set<Socket>();
  const state: Tripwire = {
    port: 0,
    connections: 0,
    bytes: 0,
    received: [],
    flow: [],
    async resetAll() {
      for (const s of accepted) s.resetAndDestroy();
      await Promise.all([...accepted].map((s) => (s.closed ? undefined : once(s, 'close'))));
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    state.connections++;
    const chunks: Buffer[] = [];
    const flow: Tripwire['flow'][number] = [];
    state.received.push(chunks);
    state.flow.push(flow);
    sockets.add(socket);
    accepted.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      accepted.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      state.bytes += chunk.length;
      chunks.push(chunk);
      flow.push({ direction: 'up', bytes: chunk });
    });
    if (!target) {
      socket.on('error', () => undefined);
      return;
    }
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('data', (chunk: Buffer) => flow.push({ direction: 'down', bytes: chunk }));
    pipeline(socket, upstream, () => undefined);
    pipeline(upstream, socket, () => undefined);
  });
  server.listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const address = server.address();
  state.port = typeof address === 'object' && address ? address.port : 0;
  return state;
}
