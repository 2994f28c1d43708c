// The informer against a scripted fake API server (plain HTTP on loopback): list, watch
// from the list's version, bookmarks, 410 Gone and relist, errors with backoff, the
// metadata-only Accept header, an optional resource that is not served. The real API
// server is in test/operator/; this one can be made to misbehave on cue.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../../sidecar/log.ts';
import { ApiError, KubeClient, type KubeObject } from './client.ts';
import { Informer } from './informer.ts';
import { RESOURCES } from './resources.ts';

type Responder = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

interface Fake {
  url: string;
  lists: Responder[];
  watches: Responder[];
  requests: { path: string; query: Record<string, string>; accept: string | undefined }[];
  close(): Promise<void>;
}

async function fakeApiServer(): Promise<Fake> {
  const fake = { lists: [] as Responder[], watches: [] as Responder[], requests: [] as Fake['requests'] };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    fake.requests.push({ path: url.pathname, query: Object.fromEntries(url.searchParams), accept: req.headers.accept });
    const next = (url.searchParams.get('watch') ? fake.watches : fake.lists).shift();
    if (next) next(req, res, url);
    else if (url.searchParams.get('watch')) res.writeHead(200); // hold the watch open, send nothing
    else res.writeHead(500).end('{"kind":"Status","message":"unexpected request"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...fake,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const configMap = (name: string, rv: string, value = 'v'): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion: rv }, data: { key: value } });
const list = (rv: string, items: KubeObject[]): Responder => (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ metadata: { resourceVersion: rv }, items }));
const events =
  (lines: object[], end = true): Responder =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    for (const line of lines) res.write(`${JSON.stringify(line)}\n`);
    if (end) res.end();
  };
const status = (code: number, message: string): Responder => (_req, res) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code, message, reason: 'X' }));

async function clientFor(url: string): Promise<KubeClient> {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
    currentContext: 'c',
  });
  return KubeClient.create(config);
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.unreachable(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const logger = createLogger('test', 'silent');

test('list, watch from its version, bookmarks, 410 -> relist with the differences reported, errors -> backoff', async () => {
  const fake = await fakeApiServer();
  const client = await clientFor(fake.url);
  const seen: string[] = [];
  const restarts: string[] = [];
  fake.lists.push(list('10', [configMap('a', '5'), configMap('b', '6')]));
  fake.watches.push(
    events([
      { type: 'MODIFIED', object: configMap('a', '11', 'changed') },
      // Only the resourceVersion changed: the cached projection did not, so no event.
      { type: 'MODIFIED', object: configMap('b', '12') },
      { type: 'BOOKMARK', object: { kind: 'ConfigMap', metadata: { resourceVersion: '20' } } },
    ]),
  );
  fake.watches.push(events([{ type: 'ERROR', object: { kind: 'Status', code: 410, message: 'too old resource version: 20 (25)' } }]));
  fake.lists.push(list('30', [configMap('a', '11', 'changed'), configMap('c', '29')]));
  fake.watches.push(status(500, 'etcd hiccup'));
  fake.watches.push(events([{ type: 'DELETED', object: configMap('c', '31') }], false));
  const informer = new Informer({
    client,
    resource: RESOURCES.configMaps,
    namespace: 'ns',
    labelSelector: 'app.kubernetes.io/managed-by=dicom-guard',
    transform: (o) => ({ data: o.data }),
    logger,
    backoff: { initialMs: 10, maxMs: 20 },
    watchTimeoutSeconds: () => 60,
    onRestart: (reason) => restarts.push(reason),
  });
  informer.on({
    add: (key) => seen.push(`add ${key}`),
    update: (key) => seen.push(`update ${key}`),
    delete: (key) => seen.push(`delete ${key}`),
  });
  try {
    informer.start();
    await informer.waitForSync();
    assert.ok(informer.hasSynced);
    await until('the last watch event', () => seen.includes('delete ns/c'));
    assert.equal(seen, ['add ns/a', 'add ns/b', 'update ns/a', 'add ns/c', 'delete ns/b', 'delete ns/c']);
    assert.equal(informer.keys(), ['ns/a']);
    assert.equal(informer.get('ns/a'), { data: { key: 'changed' } });
    assert.is(informer.resourceVersionOf('ns/a'), '11');
    assert.equal(informer.listIn('ns'), [{ data: { key: 'changed' } }]);
    const watchVersions = fake.requests.filter((r) => r.query.watch).map((r) => r.query.resourceVersion);
    assert.equal(watchVersions, ['10', '20', '30', '30'], 'from the list, then the bookmark, then the relist; the failed watch retried at the same version');
    const first = fake.requests[1]!;
    assert.equal([first.query.allowWatchBookmarks, first.query.timeoutSeconds, first.query.labelSelector], ['true', '60', 'app.kubernetes.io/managed-by=dicom-guard']);
    assert.is(fake.requests[0]!.query.limit, '500', 'lists are paged');
    assert.equal(restarts, ['closed', 'expired', 'error']);
  } finally {
    await informer.stop();
    client.close();
    await fake.close();
  }
});

test('metadata-only: asks for PartialObjectMetadata; lists follow continue tokens; null items are none', async () => {
  const fake = await fakeApiServer();
  const client = await clientFor(fake.url);
  fake.lists.push((_req, res) => res.writeHead(200).end(JSON.stringify({ metadata: { continue: 'page2' }, items: [configMap('a', '1')] })));
  fake.lists.push((_req, res) => res.writeHead(200).end(JSON.stringify({ metadata: { resourceVersion: '7' }, items: null })));
  const informer = new Informer({ client, resource: RESOURCES.secrets, metadataOnly: true, transform: (o) => o.metadata?.name, logger });
  try {
    informer.start();
    await informer.waitForSync();
    assert.equal(informer.list(), ['a']);
    assert.match(fake.requests[0]!.accept ?? '', /as=PartialObjectMetadataList;g=meta\.k8s\.io;v=v1/);
    assert.is(fake.requests[0]!.path, '/api/v1/secrets');
    assert.is(fake.requests[1]!.query.continue, 'page2');
    await until('the watch', () => fake.requests.length >= 3);
    assert.match(fake.requests[2]!.accept ?? '', /as=PartialObjectMetadata;g=meta\.k8s\.io;v=v1/);
    assert.is(fake.requests[2]!.query.resourceVersion, '7');
  } finally {
    await informer.stop();
    client.close();
    await fake.close();
  }
});

test('an optional resource that is not served: synced, served=false, looked for again; served when it appears', async () => {
  const fake = await fakeApiServer();
  const client = await clientFor(fake.url);
  fake.lists.push(status(404, 'the server could not find the requested resource'));
  fake.lists.push(list('3', [configMap('cert', '2')]));
  const served: boolean[] = [];
  const informer = new Informer({ client, resource: RESOURCES.certificates, optional: true, transform: (o) => o.metadata?.name, logger, absentRetryMs: 30 });
  informer.on({ served: (s) => served.push(s) });
  try {
    informer.start();
    await informer.waitForSync();
    assert.is(informer.hasSynced, true, 'not being served is a known state');
    await until('served', () => informer.served === true);
    assert.equal(served, [false, true]);
    assert.equal(informer.list(), ['cert']);
  } finally {
    await informer.stop();
    client.close();
    await fake.close();
  }
});

test('requests carry the bearer token; an error status becomes an ApiError naming the request', async () => {
  const fake = await fakeApiServer();
  const client = await clientFor(fake.url);
  let auth: string | undefined;
  fake.lists.push((req, res, url) => {
    auth = req.headers.authorization;
    status(403, 'configmaps "x" is forbidden')(req, res, url);
  });
  try {
    const error = await client.get(RESOURCES.configMaps, 'ns', 'x').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ApiError, 'an ApiError');
    assert.is(error.status, 403);
    assert.is(error.reason, 'X');
    assert.is(error.message, 'get configmaps ns/x: configmaps "x" is forbidden');
    assert.is(auth, 'Bearer secret-token');
  } finally {
    client.close();
    await fake.close();
  }
});

test.run();
