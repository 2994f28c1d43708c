// Binding a listener. "::" (the default) means dual stack; where the kernel has no IPv6
// (some container networks), it falls back to 0.0.0.0 rather than failing to start.
import type { Server } from 'node:net';

export async function listen(server: Server, host: string, port: number): Promise<void> {
  try {
    await listenOnce(server, host, port);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (host !== '::' || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw error;
    await listenOnce(server, '0.0.0.0', port);
  }
}

function listenOnce(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, ipv6Only: false });
  });
}
