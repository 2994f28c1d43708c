// The examples the README points to stay valid: the SidecarConfig against the sidecar's
// schema (its files exist only on a real host), the policy against the CRD's OpenAPI
// schema (the API server checks it for real in the demo and the operator tests).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseSidecarConfig } from '../sidecar/config/load.ts';
import { withDefaults } from '../operator/api/defaults.ts';
import { sidecarConfigYaml } from '../operator/render/sidecar-config.ts';
import { asStored } from '../operator/api/defaults.ts';
import type { DicomAccessPolicyInput } from '../operator/api/v1alpha1.ts';

const examples = join(import.meta.dirname, '..', 'examples');

test('examples/sidecar.yaml is a valid SidecarConfig', async () => {
  const config = parseSidecarConfig(await readFile(join(examples, 'sidecar.yaml'), 'utf8'), 'examples/sidecar.yaml');
  assert.equal(config.calledAETitles, ['PACS']);
  assert.is(config.identity.mode, 'Optional');
});

test('examples/edge.sidecar.yaml is a valid SidecarConfig in edge mode', async () => {
  const config = parseSidecarConfig(await readFile(join(examples, 'edge.sidecar.yaml'), 'utf8'), 'examples/edge.sidecar.yaml');
  assert.equal([config.upstream.tls?.serverName, config.upstream.tls?.minVersion, config.upstream.identity?.username, config.identity.forwardToUpstream], ['pacs.remote.example.org', 'TLSv1.3', 'site-a', false]);
});

test('examples/policy.yaml defaults and renders to a SidecarConfig the sidecar accepts', async () => {
  const manifest = parse(await readFile(join(examples, 'policy.yaml'), 'utf8')) as DicomAccessPolicyInput;
  assert.is(withDefaults(manifest.spec).networkPolicy.enabled, true);
  const policy = asStored(manifest, { uid: 'example', creationTimestamp: '2026-01-01T00:00:00Z' });
  const { yaml } = sidecarConfigYaml(policy, {});
  const config = parseSidecarConfig(yaml, 'rendered from examples/policy.yaml');
  assert.equal(config.peers.map((p) => p.name), ['ct-scanner', 'viewers']);
  assert.equal(config.upstream, { host: '127.0.0.1', port: 4242, connectTimeoutSeconds: 5 });
});

test.run();
