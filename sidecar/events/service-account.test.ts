// The sidecar's in-cluster credentials, and that the sidecar does not load
// @kubernetes/client-node (its cost is what service-account.ts avoids).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RequestOptions } from 'node:https';
import { inClusterServer, serviceAccountCredentials } from './service-account.ts';

const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

test('inClusterServer: the kubelet\'s variables, IPv6 in brackets, none outside a pod', () => {
  assert.is(inClusterServer(env), 'https://10.96.0.1:443');
  assert.is(inClusterServer({ KUBERNETES_SERVICE_HOST: 'fd00:10:96::1', KUBERNETES_SERVICE_PORT: '443' }), 'https://[fd00:10:96::1]:443');
  assert.is(inClusterServer({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }), undefined);
});

test('serviceAccountCredentials: the CA and the bearer token; a rotated token is read after a minute', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dg-sa-'));
  try {
    await writeFile(join(dir, 'ca.crt'), 'CA PEM');
    await writeFile(join(dir, 'token'), 'first\n');
    let clock = 0;
    const credentials = await serviceAccountCredentials(env, dir, () => clock);
    assert.is(credentials.server, 'https://10.96.0.1:443');
    const apply = async () => {
      const options: RequestOptions = {};
      await credentials.applyToHTTPSOptions(options);
      return [String(options.ca), (options.headers as Record<string, string>).authorization];
    };
    assert.equal(await apply(), ['CA PEM', 'Bearer first']);
    await writeFile(join(dir, 'token'), 'second');
    clock = 59_000;
    assert.equal((await apply())[1], 'Bearer first', 'not re-read within the minute');
    clock = 60_000;
    assert.equal((await apply())[1], 'Bearer second');
    await rm(join(dir, 'token'));
    clock = 130_000;
    assert.equal((await apply())[1], 'Bearer second', 'a failed re-read keeps the token');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('serviceAccountCredentials: what is missing, named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dg-sa-'));
  try {
    await serviceAccountCredentials({}, dir).then(
      () => assert.unreachable('no server'),
      (error: Error) => assert.match(error.message, /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set/),
    );
    await serviceAccountCredentials(env, dir).then(
      () => assert.unreachable('no CA'),
      (error: Error) => assert.match(error.message, /no service account CA at .*ca\.crt/),
    );
    await writeFile(join(dir, 'ca.crt'), 'CA PEM');
    await serviceAccountCredentials(env, dir).then(
      () => assert.unreachable('no token'),
      (error: Error) => assert.match(error.message, /no service account token at .*token/),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the sidecar\'s modules do not include @kubernetes/client-node or the CRD schema', async () => {
  // Every module the sidecar command loads, recorded by a resolve hook in a child process.
  const script = `
    import { registerHooks } from 'node:module';
    const seen = [];
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
    await import(${JSON.stringify(new URL('../proxy/sidecar.ts', import.meta.url).href)});
    console.log(JSON.stringify(seen));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  const loaded = JSON.parse(stdout) as string[];
  assert.ok(loaded.some((url) => url.endsWith('/sidecar/events/recorder.ts')), 'the hook sees the sidecar\'s own modules');
  assert.not.ok(loaded.some((url) => url.includes('@kubernetes/client-node')), '@kubernetes/client-node is loaded');
  assert.not.ok(loaded.some((url) => url.endsWith('/operator/api/v1alpha1.ts')), 'the CRD schema is loaded');
});

test.run();
