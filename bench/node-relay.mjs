// The floor of a Node.js relay: bytes from one socket to the other and back, with
// backpressure, and nothing else (no framing, no decision, no metrics, no log). It shows
// what any proxy written for Node.js costs on this machine, so the sidecar's figures can
// be read against it as well as against nginx. Plain JavaScript, not .ts: type stripping
// would load its own modules and make this heap, and its collections, bigger than the
// floor. With a certificate and key it terminates TLS as the sidecar does (the same
// suites, order and curves, sidecar/tls/context.ts).
//
//   node bench/node-relay.mjs LISTEN_PORT UPSTREAM_PORT [CERT_FILE KEY_FILE]
import { connect, createServer as createTcpServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { readFileSync } from 'node:fs';

const [listenPort, upstreamPort, certFile, keyFile] = process.argv.slice(2);
const BCP195_CIPHERS = process.env.BCP195_CIPHERS;

function relay(client) {
  const upstream = connect({ host: '127.0.0.1', port: Number(upstreamPort), allowHalfOpen: true, noDelay: true });
  for (const [from, to] of [[client, upstream], [upstream, client]]) {
    from.on('data', (chunk) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => from.resume());
    from.on('end', () => to.end());
    from.on('error', () => to.destroy());
  }
}

const server = certFile
  ? createTlsServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2', ciphers: BCP195_CIPHERS, honorCipherOrder: true, ecdhCurve: 'X25519:P-256:P-384' }, relay)
  : createTcpServer({ allowHalfOpen: true, noDelay: true }, relay);
server.listen(Number(listenPort), '127.0.0.1', () => console.log(`relaying ${listenPort} -> ${upstreamPort}`));
