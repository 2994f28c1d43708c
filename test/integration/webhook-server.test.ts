// The webhook's HTTPS server on its own: a real TLS client posts AdmissionReviews; the
// serving certificate is rotated on disk the way cert-manager does it and picked up.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, readFile, rename, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { asStored } from '../../operator/api/defaults.ts';
import { API_VERSION, KIND } from '../../operator/api/v1alpha1.ts';
import { DEFAULT_INJECTION_SETTINGS } from '../../operator/webhook/inject.ts';
import { startWebhookServer, WEBHOOK_PATH } from '../../operator/webhook/server.ts';
import { createPki } from '../harness/pki.ts';
import { waitFor } from '../harness/processes.ts';

const policy = asStored(
  { apiVersion: API_VERSION, kind: KIND, metadata: { name: 'main-pacs', namespace: 'imaging' }, spec: { selector: { matchLabels: { app: 'orthanc' } }, calledAETitles: ['PACS'] } },
  { uid: 'u1', creationTimestamp: '2026-01-01T00:00:00Z' },
);

function post(port: number, ca: string, body: string): Promise<{ status: number; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: WEBHOOK_PATH, method: 'POST', ca, servername: 'localhost', headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), fingerprint: (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate()!.fingerprint256 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('serves AdmissionReviews over TLS and reloads a rotated certificate', async () => {
  const pki = await createPki();
  const first = await pki.issue('localhost', { usage: 'server', file: 'first' });
  const live = { cert: join(pki.dir, 'tls.crt'), key: join(pki.dir, 'tls.key') };
  await copyFile(first.cert, live.cert);
  await copyFile(first.key, live.key);
  const ca = await readFile(pki.ca.cert, 'utf8');
  const webhook = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    certFile: live.cert,
    keyFile: live.key,
    policiesOf: (ns) => (ns === 'imaging' ? [policy] : []),
    settings: () => DEFAULT_INJECTION_SETTINGS,
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
  });
  try {
    const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'abc', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', namespace: 'imaging', object: { metadata: { labels: { app: 'orthanc' } }, spec: { containers: [{ name: 'orthanc' }] } } } };
    const answer = await post(webhook.port, ca, JSON.stringify(review));
    assert.is(answer.status, 200);
    const parsed = JSON.parse(answer.body) as { response: { uid: string; allowed: boolean; patchType: string } };
    assert.equal([parsed.response.uid, parsed.response.allowed, parsed.response.patchType], ['abc', true, 'JSONPatch']);
    assert.is(answer.fingerprint, new X509Certificate(await readFile(first.cert)).fingerprint256);

    const bad = await post(webhook.port, ca, '{"not":"a review"}');
    assert.is(bad.status, 400);

    // cert-manager rotates: new files appear; the server serves the new certificate.
    const second = await pki.issue('localhost', { usage: 'server', file: 'second' });
    await copyFile(second.key, `${live.key}.tmp`);
    await copyFile(second.cert, `${live.cert}.tmp`);
    await rename(`${live.key}.tmp`, live.key);
    await rename(`${live.cert}.tmp`, live.cert);
    const expected = new X509Certificate(await readFile(second.cert)).fingerprint256;
    await waitFor('the rotated certificate', async () => (await post(webhook.port, ca, JSON.stringify(review))).fingerprint === expected, 10_000, 100);
  } finally {
    await webhook.close();
    await rm(pki.dir, { recursive: true, force: true });
  }
});

test.run();
