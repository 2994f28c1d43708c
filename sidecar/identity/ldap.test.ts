// The LDAP verifier against servers that misbehave: nobody listening, a server that
// accepts and then says nothing. A real slapd is in test/integration/identity-ldap.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { LdapVerifier, type LdapConfig } from './ldap.ts';

/** A TCP server that counts connections and never answers. */
async function silentServer(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => count,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function config(url: string, overrides: Partial<LdapConfig> = {}): LdapConfig {
  return { url, userDN: 'uid={username},ou=people,dc=example,dc=org', startTLS: false, timeoutSeconds: 0.5, ...overrides };
}

test('an empty passcode is refused without connecting', async () => {
  const server = await silentServer();
  try {
    const verifier = new LdapVerifier(config(`ldap://127.0.0.1:${server.port}`), undefined);
    const result = await verifier.check('alice', '');
    assert.equal(result, { status: 'refused', why: 'empty passcode (an LDAP bind with it would be anonymous)' });
    await new Promise((r) => setTimeout(r, 50));
    assert.is(server.connections(), 0);
  } finally {
    await server.close();
  }
});

test('nobody listening: unreachable, at once', async () => {
  const port = await closedPort();
  const verifier = new LdapVerifier(config(`ldap://127.0.0.1:${port}`, { timeoutSeconds: 5 }), undefined);
  const started = Date.now();
  const result = await verifier.check('alice', 'secret');
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  assert.equal(result, { status: 'unreachable', why: `the directory ldap://127.0.0.1:${port} is unreachable: connection refused` });
});

for (const scheme of ['ldap', 'ldaps'] as const) {
  test(`${scheme}://, a server that accepts and never answers: unreachable after timeoutSeconds`, async () => {
    const server = await silentServer();
    try {
      const verifier = new LdapVerifier(config(`${scheme}://127.0.0.1:${server.port}`), undefined);
      const started = Date.now();
      const result = await verifier.check('alice', 'secret');
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 450 && elapsed < 1500, `took ${elapsed} ms for a 0.5 s timeout`);
      assert.is(result.status, 'unreachable');
      if (result.status === 'unreachable') assert.match(result.why, new RegExp(`^the directory ${scheme}://127\\.0\\.0\\.1:${server.port} is unreachable: no (answer|connection) within 0\\.5 s$`));
    } finally {
      await server.close();
    }
  });
}

test('StartTLS against a server that never answers: unreachable after timeoutSeconds', async () => {
  const server = await silentServer();
  try {
    const verifier = new LdapVerifier(config(`ldap://127.0.0.1:${server.port}`, { startTLS: true }), undefined);
    const started = Date.now();
    const result = await verifier.check('alice', 'secret');
    assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
    assert.is(result.status, 'unreachable');
  } finally {
    await server.close();
  }
});

test('the caller going away abandons the bind', async () => {
  const server = await silentServer();
  try {
    const verifier = new LdapVerifier(config(`ldap://127.0.0.1:${server.port}`, { timeoutSeconds: 30 }), undefined);
    const controller = new AbortController();
    const pending = verifier.check('alice', 'secret', controller.signal);
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const result = await pending;
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
    assert.equal(result, { status: 'unreachable', why: 'verification abandoned: the connection went away' });
  } finally {
    await server.close();
  }
});

test.run();
