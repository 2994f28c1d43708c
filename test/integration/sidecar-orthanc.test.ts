// The sidecar in front of a real Orthanc, driven by DCMTK: what a hospital sees.
// Between the sidecar and Orthanc sits a tripwire that counts every connection and
// byte reaching the PACS, so "nothing reached the upstream" is measured, not assumed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrthanc, type Orthanc } from '../harness/orthanc.ts';
import { startSidecar, type SidecarProcess } from '../harness/sidecar.ts';
import { startTripwire, type Tripwire } from '../harness/tripwire.ts';
import { dcmtk } from '../harness/dcmtk.ts';
import { writeImage, type GeneratedImage } from '../harness/dicom-file.ts';
import { waitFor } from '../harness/processes.ts';

interface Context {
  orthanc: Orthanc;
  tripwire: Tripwire;
  sidecar: SidecarProcess;
  dir: string;
  image: GeneratedImage;
}

const test = suite<Context>('sidecar in front of Orthanc');

const peers = [
  { name: 'ct-scanner', aeTitles: ['CT01'], ipBlocks: [{ cidr: '127.0.0.0/8', except: ['127.0.0.99/32'] }] },
  { name: 'remote-site', aeTitles: ['FARAWAY'], ipBlocks: [{ cidr: '10.99.0.0/16' }] },
];

test.before(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'dg-it-'));
  context.orthanc = await startOrthanc({ aeTitle: 'PACS' });
  context.tripwire = await startTripwire({ host: '127.0.0.1', port: context.orthanc.dicomPort });
  context.sidecar = await startSidecar({
    upstream: { host: '127.0.0.1', port: context.tripwire.port },
    calledAETitles: ['PACS'],
    peers,
  });
  context.image = await writeImage(join(context.dir, 'image.dcm'), { rows: 256, columns: 256 });
});

test.after(async (context) => {
  await context.sidecar?.stop();
  await context.tripwire?.close();
  await context.orthanc?.stop();
  await rm(context.dir, { recursive: true, force: true });
});

test('allowed peer: C-ECHO succeeds through the sidecar', async ({ sidecar, tripwire }) => {
  const before = tripwire.connections;
  const result = await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'PACS'], sidecar.port);
  assert.is(result.code, 0, result.output);
  assert.is(tripwire.connections, before + 1);
  const audit = await sidecar.waitForAudit((r) => r.callingAETitle === 'CT01' && r.decision === 'accepted');
  assert.is(audit.peer, 'ct-scanner');
  assert.is(audit.ended, 'released');
  assert.ok(audit.bytes.toUpstream > 0 && audit.bytes.toClient > 0);
});

test('allowed peer: a C-STORE arrives in Orthanc, and C-FIND finds it', async ({ sidecar, orthanc, image }) => {
  const before = await orthanc.countInstances();
  const store = await dcmtk('storescu', ['-aet', 'CT01', '-aec', 'PACS'], sidecar.port, '127.0.0.1', [image.path]);
  assert.is(store.code, 0, store.output);
  assert.is(await orthanc.countInstances(), before + 1);

  const find = await dcmtk('findscu', ['-v', '-S', '-aet', 'CT01', '-aec', 'PACS', '-k', 'QueryRetrieveLevel=STUDY', '-k', `PatientID=${image.patientId}`, '-k', 'StudyInstanceUID'], sidecar.port);
  assert.is(find.code, 0, find.output);
  assert.ok(find.output.includes(image.studyInstanceUid), `C-FIND response should carry the study UID:\n${find.output}`);
});

test('unknown calling AE title: (1,1,3) and nothing reaches the PACS', async ({ sidecar, tripwire }) => {
  const before = { connections: tripwire.connections, bytes: tripwire.bytes };
  const result = await dcmtk('echoscu', ['-aet', 'INTRUDER', '-aec', 'PACS'], sidecar.port);
  assert.is.not(result.code, 0);
  assert.match(result.output, /Rejected Permanent, Source: Service User/);
  assert.match(result.output, /Calling AE Title Not Recognized/);
  assert.equal({ connections: tripwire.connections, bytes: tripwire.bytes }, before);
  const audit = await sidecar.waitForAudit((r) => r.callingAETitle === 'INTRUDER');
  assert.is(audit.decision, 'rejected');
  assert.is(audit.reject?.name, 'calling-ae-title-not-recognized');
});

test('wrong called AE title: (1,1,7) and nothing reaches the PACS', async ({ sidecar, tripwire }) => {
  const before = tripwire.connections;
  const result = await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'NOTPACS'], sidecar.port);
  assert.is.not(result.code, 0);
  assert.match(result.output, /Called AE Title Not Recognized/);
  assert.is(tripwire.connections, before);
});

test("AE title used from outside its peer's ipBlocks: (1,1,3), nothing upstream", async ({ sidecar, tripwire }) => {
  const before = tripwire.connections;
  const result = await dcmtk('echoscu', ['-aet', 'FARAWAY', '-aec', 'PACS'], sidecar.port);
  assert.is.not(result.code, 0);
  assert.match(result.output, /Calling AE Title Not Recognized/);
  assert.is(tripwire.connections, before);
  const audit = await sidecar.waitForAudit((r) => r.callingAETitle === 'FARAWAY');
  assert.match(audit.why ?? '', /peer remote-site\) is not allowed from 127\.0\.0\.1/);
});

test('metrics count accepted and rejected associations by peer and reason', async ({ sidecar }) => {
  const metrics = await sidecar.metrics();
  assert.match(metrics, /dicomguard_associations_total\{peer="ct-scanner",decision="accepted",reason=""\} [1-9]/);
  assert.match(metrics, /dicomguard_associations_total\{peer="",decision="rejected",reason="calling-ae-title-not-recognized"\} [1-9]/);
  assert.match(metrics, /dicomguard_association_setup_seconds_count\{peer="ct-scanner"\} [1-9]/);
  assert.match(metrics, /dicomguard_relayed_bytes_total\{peer="ct-scanner",direction="to_upstream"\} [1-9]/);
});

test('address outside every peer: closed before a byte is read, nothing upstream', async ({ orthanc }) => {
  const tripwire = await startTripwire({ host: '127.0.0.1', port: orthanc.dicomPort });
  const bound = await startSidecar({
    upstream: { host: '127.0.0.1', port: tripwire.port },
    calledAETitles: ['PACS'],
    peers: [{ name: 'lan', aeTitles: ['CT01'], ipBlocks: [{ cidr: '10.0.0.0/8' }, { cidr: 'fd00::/8' }] }],
  });
  try {
    const result = await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'PACS'], bound.port);
    assert.is.not(result.code, 0);
    assert.not.match(result.output, /Association Rejected/, 'no A-ASSOCIATE-RJ: the connection is simply closed');
    assert.is(tripwire.connections, 0);
    const audit = await bound.waitForAudit((r) => r.ended === 'address-not-allowed');
    assert.is(audit.decision, 'closed');
    assert.is(audit.bytes.toUpstream, 0);
    assert.match(await bound.metrics(), /dicomguard_connections_closed_total\{reason="address-not-allowed"\} 1/);
  } finally {
    await bound.stop();
    await tripwire.close();
  }
});

test('upstream down: (2,3,1) temporary congestion', async () => {
  const dead = await startTripwire();
  const port = dead.port;
  await dead.close(); // nothing listens there any more
  const sidecar = await startSidecar({ upstream: { host: '127.0.0.1', port, connectTimeoutSeconds: 2 }, calledAETitles: ['PACS'], peers });
  try {
    const result = await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'PACS'], sidecar.port);
    assert.is.not(result.code, 0);
    assert.match(result.output, /Rejected Transient/);
    assert.match(result.output, /Temporary Congestion/);
  } finally {
    await sidecar.stop();
  }
});

test('SIGTERM: the sidecar stops accepting and exits 0', async ({ orthanc }) => {
  const sidecar = await startSidecar({ upstream: { host: '127.0.0.1', port: orthanc.dicomPort }, calledAETitles: ['PACS'], peers });
  assert.is(await sidecar.stop('SIGTERM'), 0);
  await waitFor('port closed', async () => (await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'PACS'], sidecar.port)).code !== 0);
});

test.run();
