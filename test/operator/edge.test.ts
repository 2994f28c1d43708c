// Edge mode from a DicomAccessPolicy, on a real API server with the operator running:
// the policy names a remote upstream, the remote's CA and the site's passcode (Secrets)
// and asks for the pod's certificate as client certificate. The operator renders the
// config, the identity Secret and a Certificate with client auth; the test plays
// cert-manager (it writes the TLS Secret) and the kubelet (it mounts the ConfigMap and
// Secrets at /etc/dicom-guard in the sidecar's own mount namespace). That edge sidecar
// then carries a storescu association over TLS to a far sidecar in front of Orthanc.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import { bcrypt } from 'hash-wasm';
import { CRD_FILE } from '../../operator/api/crd.ts';
import { API_VERSION, KIND } from '../../operator/api/v1alpha1.ts';
import { IDENTITY_KEYS, objectNames, SIDECAR_CONFIG_DIR, SIDECAR_CONFIG_KEY, SIDECAR_IDENTITY_DIR, SIDECAR_TLS_DIR } from '../../operator/render/mounts.ts';
import type { SidecarConfigInput } from '../../sidecar/config/schema.ts';
import { certManagerCrds, startControlPlane, type ControlPlane } from '../cluster/control-plane.ts';
import { dcmtk } from '../harness/dcmtk.ts';
import { writeImage } from '../harness/dicom-file.ts';
import { applyObjects, getJson, operatorKubeconfig, startOperatorProcess, type OperatorProcess } from '../harness/operator.ts';
import { startOrthanc, type Orthanc } from '../harness/orthanc.ts';
import { createPki, type Pki } from '../harness/pki.ts';
import { freePort } from '../harness/ports.ts';
import { waitFor } from '../harness/processes.ts';
import { startSidecar, type SidecarProcess } from '../harness/sidecar.ts';
import { ROOT } from '../harness/tools.ts';

interface Context {
  dir: string;
  cp: ControlPlane;
  operator: OperatorProcess;
  orthanc: Orthanc;
  pki: Pki;
  far: SidecarProcess;
}

const NS = 'hospital';
const PASSCODE = 'edge site passcode';
const POLICY = 'edge';
const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');

const test = suite<Context>('edge mode from a DicomAccessPolicy');

test.before(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'dg-edge-operator-'));
  context.cp = await startControlPlane({ dir: join(context.dir, 'cp'), crds: [certManagerCrds, join(ROOT, CRD_FILE)] });
  await applyObjects(context.cp, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  context.operator = await startOperatorProcess({ kubeconfig: await operatorKubeconfig(context.cp, context.dir), identity: 'operator-0', dir: context.dir });
  context.orthanc = await startOrthanc({ aeTitle: 'PACS' });
  context.pki = await createPki('remote hospital CA');
  const server = await context.pki.issue('pacs.remote.example.org', { usage: 'server' });
  const hash = await bcrypt({ password: PASSCODE, salt: new Uint8Array(randomBytes(16)), costFactor: 6, outputType: 'encoded' });
  await writeFile(join(context.dir, 'htpasswd'), `site-a:${hash}\n`);
  context.far = await startSidecar({
    upstream: { host: '127.0.0.1', port: context.orthanc.dicomPort },
    calledAETitles: ['PACS'],
    peers: [{ name: 'site-a', aeTitles: ['CT01'], users: ['site-a'], clientCertificateNames: ['edge-a.hospital.example.org'] }],
    identity: { mode: 'Required', htpasswd: { file: join(context.dir, 'htpasswd') } },
    tls: { mode: 'Required', certFile: server.cert, keyFile: server.key, clientCAFile: context.pki.ca.cert, clientCertificates: 'Required' },
  });
});

test.after(async (context) => {
  await context.far?.stop();
  await context.orthanc?.stop();
  await context.operator?.stop();
  await context.cp?.stop();
  for (const dir of [context.dir, context.pki?.dir]) if (dir) await rm(dir, { recursive: true, force: true });
});

type Certificate = { spec: { dnsNames: string[]; usages: string[]; secretName: string; issuerRef: { name: string } } };
type Secret = { data: Record<string, string> };

test('the operator renders the edge; the rendered edge carries storescu to the far side over TLS with the site\'s identity', async (context) => {
  const { cp } = context;
  await applyObjects(
    cp,
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'remote-ca', namespace: NS }, data: { 'ca.crt': b64(await readFile(context.pki.ca.cert)) } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'site-a', namespace: NS }, data: { passcode: b64(`${PASSCODE}\n`) } },
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: POLICY, namespace: NS },
      spec: {
        selector: { matchLabels: { app: 'dicom-edge' } },
        calledAETitles: ['PACS'],
        peers: [{ name: 'ct', aeTitles: ['CT01'] }],
        upstream: {
          host: '127.0.0.1',
          port: context.far.port,
          tls: { caSecretRef: { name: 'remote-ca' }, serverName: 'pacs.remote.example.org', clientCertificate: true },
          identity: { username: 'site-a', passcodeSecretRef: { name: 'site-a' }, positiveResponseRequested: true },
        },
        tls: { issuerRef: { name: 'hospital-ca', kind: 'ClusterIssuer' }, dnsNames: ['edge-a.hospital.example.org'] },
      },
    },
  );
  const names = objectNames(POLICY);
  const certificate = await waitFor('the Certificate', () => getJson<Certificate>(cp, ['certificates.cert-manager.io', names.certificate, '-n', NS]), 20_000, 200);
  assert.equal(certificate.spec.dnsNames, ['edge-a.hospital.example.org']);
  assert.equal(certificate.spec.usages, ['client auth', 'digital signature', 'key encipherment'], 'a client certificate: TLS is off on the listening side');
  const identity = await waitFor('the identity Secret', () => getJson<Secret>(cp, ['secret', names.identitySecret, '-n', NS]), 20_000, 200);
  assert.equal(Object.keys(identity.data).sort(), [IDENTITY_KEYS.upstreamCA, IDENTITY_KEYS.upstreamPasscode].sort());
  const configMap = await waitFor('the ConfigMap', () => getJson<{ data: Record<string, string> }>(cp, ['configmap', names.configMap, '-n', NS]), 20_000, 200);
  const rendered = parse(configMap.data[SIDECAR_CONFIG_KEY]!) as SidecarConfigInput;
  assert.equal(rendered.upstream?.identity, { username: 'site-a', passcodeFile: `${SIDECAR_IDENTITY_DIR}/${IDENTITY_KEYS.upstreamPasscode}`, positiveResponseRequested: true });

  // cert-manager's part: the key pair in the Certificate's Secret.
  const issued = await context.pki.issue(certificate.spec.dnsNames[0]!, { usage: 'client' });
  await applyObjects(cp, { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: certificate.spec.secretName, namespace: NS }, data: { 'tls.crt': b64(await readFile(issued.cert)), 'tls.key': b64(await readFile(issued.key)) } });
  const tlsSecret = (await getJson<Secret>(cp, ['secret', certificate.spec.secretName, '-n', NS]))!;

  // The kubelet's part: the ConfigMap and both Secrets as files, where the webhook mounts them.
  const etc = join(context.dir, 'etc-dicom-guard');
  const files: [string, Record<string, string>, (v: string) => string][] = [
    [SIDECAR_CONFIG_DIR, configMap.data, (v) => v],
    [SIDECAR_IDENTITY_DIR, identity.data, (v) => Buffer.from(v, 'base64').toString()],
    [SIDECAR_TLS_DIR, tlsSecret.data, (v) => Buffer.from(v, 'base64').toString()],
  ];
  for (const [target, data, decode] of files) {
    const dir = join(etc, target.slice('/etc/dicom-guard/'.length));
    await mkdir(dir, { recursive: true });
    for (const [key, value] of Object.entries(data)) await writeFile(join(dir, key), decode(value), { mode: 0o600 });
  }

  // Only what cannot exist on this host changes: the ports.
  const edge = await startSidecar(
    { ...rendered, listen: { host: '127.0.0.1', port: await freePort() }, admin: { host: '127.0.0.1', port: await freePort() } },
    { mounts: [{ source: etc, target: '/etc/dicom-guard' }] },
  );
  try {
    const image = await writeImage(join(context.dir, 'image.dcm'));
    const before = await context.orthanc.countInstances();
    const sent = await dcmtk('storescu', ['-aet', 'CT01', '-aec', 'PACS'], edge.port, '127.0.0.1', [image.path]);
    assert.is(sent.code, 0, sent.output);
    assert.is(await context.orthanc.countInstances(), before + 1);
    const near = await edge.waitForAudit((r) => r.decision === 'accepted');
    assert.equal([near.upstream?.tls?.version, near.upstream?.user], ['TLSv1.3', 'site-a']);
    const far = await context.far.waitForAudit((r) => r.decision === 'accepted' && r.source.port === near.upstream?.localPort);
    assert.is(far.user, 'site-a');
    assert.match(far.tls?.clientCertificateSubject ?? '', /CN=edge-a\.hospital\.example\.org/, 'the certificate the Certificate asked for');
  } finally {
    await edge.stop();
  }
});

test.run();
