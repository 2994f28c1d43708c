// Associations over time: config reloads, limits, idle timeout, shutdown, and
// pynetdicom as a second client (several presentation contexts, large PDUs, services).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrthanc, type Orthanc } from '../harness/orthanc.ts';
import { completeConfig, startSidecar } from '../harness/sidecar.ts';
import { startScu } from '../harness/pynetdicom.ts';
import { dcmtk } from '../harness/dcmtk.ts';
import { writeImage } from '../harness/dicom-file.ts';
import { run, waitFor } from '../harness/processes.ts';
import { CLI, NODE } from '../harness/tools.ts';

interface Context {
  orthanc: Orthanc;
  dir: string;
}

const test = suite<Context>('association lifecycle');

test.before(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'dg-life-'));
  context.orthanc = await startOrthanc({ aeTitle: 'PACS' });
});

test.after(async (context) => {
  await context.orthanc?.stop();
  await rm(context.dir, { recursive: true, force: true });
});

const base = (orthanc: Orthanc) => ({
  upstream: { host: '127.0.0.1', port: orthanc.dicomPort },
  calledAETitles: ['PACS'],
});

test('reload while an association is open: it completes on its config, the next one follows the new rules', async ({ orthanc }) => {
  const sidecar = await startSidecar({ ...base(orthanc), peers: [{ name: 'modality', aeTitles: ['PYSCU', 'CT01'] }] });
  const scu = startScu(sidecar.port, { aet: 'PYSCU' });
  try {
    assert.is((await scu.send('associate')).established, true);
    assert.is((await scu.send('echo')).ok, true);

    const next = await completeConfig({ ...base(orthanc), peers: [{ name: 'modality', aeTitles: ['CT01'] }], listen: { host: '127.0.0.1', port: sidecar.port }, admin: { host: '127.0.0.1', port: sidecar.adminPort } });
    await sidecar.writeConfig(next);
    await sidecar.waitForLog((r) => r.msg.startsWith('config reloaded'));

    // The open association still works under the rules it started with.
    assert.is((await scu.send('echo')).ok, true, 'C-ECHO on the open association after the reload');
    assert.is((await scu.send('release')).released, true);
    const audit = await sidecar.waitForAudit((r) => r.callingAETitle === 'PYSCU' && r.decision === 'accepted');
    assert.is(audit.ended, 'released');

    // A new association from PYSCU is refused now; CT01 still passes.
    const refused = await dcmtk('echoscu', ['-aet', 'PYSCU', '-aec', 'PACS'], sidecar.port);
    assert.match(refused.output, /Calling AE Title Not Recognized/);
    const allowed = await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'PACS'], sidecar.port);
    assert.is(allowed.code, 0, allowed.output);
    assert.match(await sidecar.metrics(), /dicomguard_config_reloads_total\{result="success"\} 1/);
  } finally {
    await scu.close();
    await sidecar.stop();
  }
});

test('an invalid reload keeps the last good config and says why', async ({ orthanc }) => {
  const sidecar = await startSidecar({ ...base(orthanc), peers: [{ name: 'modality', aeTitles: ['CT01'] }] });
  try {
    await sidecar.writeConfig((await import('yaml')).stringify({ ...(await completeConfig({ ...base(orthanc), peers: [] })), peers: [{ name: 'bad', aeTitles: ['CT01'], ipBlocks: [{ cidr: '10.0.0.0/40' }] }] }));
    const refusal = await sidecar.waitForLog((r) => r.msg.startsWith('config reload refused'));
    assert.match(refusal.msg, /peers\[0\]\.ipBlocks\[0\]\.cidr: "10\.0\.0\.0\/40" is not a CIDR block/);
    const still = await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'PACS'], sidecar.port);
    assert.is(still.code, 0, `the last good config still admits CT01: ${still.output}`);
    assert.match(await sidecar.metrics(), /dicomguard_config_reloads_total\{result="failure"\} 1/);
  } finally {
    await sidecar.stop();
  }
});

test('an invalid config at start: exit 1 and a message naming the field', async ({ dir }) => {
  const path = join(dir, 'bad.yaml');
  await writeFile(path, 'apiVersion: dicomguard.io/v1alpha1\nkind: SidecarConfig\ncalledAETitles: [PACS]\npeers:\n  - name: ct\n    aeTitles: ["CT\\\\01"]\nlimits: {maxAssociations: 0}\n');
  const result = await run(NODE, [CLI, 'sidecar', '--config', path]);
  assert.is(result.code, 1);
  assert.match(result.stderr, /peers\[0\]\.aeTitles\[0\]: an AE title must not contain a backslash/);
  assert.match(result.stderr, /limits\.maxAssociations: /);
  const missing = await run(NODE, [CLI, 'sidecar', '--config', join(dir, 'nope.yaml')]);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /nope\.yaml:\n {2}- cannot read the file: ENOENT/);
});

test('command line: --help for each command; an unknown flag is a usage error (exit 2), not a stack trace', async () => {
  for (const args of [['--help'], ['sidecar', '--help'], ['check-config', '--help'], ['operator', '--help']]) {
    const help = await run(NODE, [CLI, ...args]);
    assert.is(help.code, 0, `${args.join(' ')}: ${help.output}`);
    assert.match(help.stdout, /usage:\s+dicom-guard/);
  }
  const unknown = await run(NODE, [CLI, 'sidecar', '--confg', 'x.yaml']);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /dicom-guard sidecar: Unknown option '--confg'/);
  assert.match(unknown.stderr, /usage: dicom-guard sidecar --config FILE/);
  assert.not.match(unknown.stderr, /\n\s+at /, 'no stack trace');
  const none = await run(NODE, [CLI, 'sidecar']);
  assert.is(none.code, 2);
  assert.match(none.stderr, /--config FILE is required/);
});

test('maxAssociationsPerPeer: the next association gets (2,3,2) until one is released', async ({ orthanc }) => {
  const sidecar = await startSidecar({ ...base(orthanc), peers: [{ name: 'modality', aeTitles: ['PYSCU', 'CT01'] }], limits: { maxAssociationsPerPeer: 1 } });
  const scu = startScu(sidecar.port, { aet: 'PYSCU' });
  try {
    assert.is((await scu.send('associate')).established, true);
    const over = await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'PACS'], sidecar.port);
    assert.match(over.output, /Rejected Transient, Source: Service Provider \(Presentation Related\)/);
    assert.match(over.output, /Local Limit Exceeded/);
    assert.is((await scu.send('release')).released, true);
    await waitFor('slot released', async () => (await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'PACS'], sidecar.port)).code === 0, 10_000, 200);
  } finally {
    await scu.close();
    await sidecar.stop();
  }
});

test('idle timeout: a silent association is aborted', async ({ orthanc }) => {
  const sidecar = await startSidecar({ ...base(orthanc), peers: [{ name: 'modality', aeTitles: ['PYSCU'] }], limits: { idleTimeoutSeconds: 1 } });
  const scu = startScu(sidecar.port, { aet: 'PYSCU' });
  try {
    assert.is((await scu.send('associate')).established, true);
    const audit = await sidecar.waitForAudit((r) => r.callingAETitle === 'PYSCU', 10_000);
    assert.is(audit.ended, 'idle-timeout');
    await waitFor('pynetdicom sees the abort', async () => (await scu.send('state')).aborted === true, 5000, 200);
  } finally {
    await scu.close();
    await sidecar.stop();
  }
});

test('SIGTERM: an open association may finish within the grace period, then the sidecar exits 0', async ({ orthanc }) => {
  const sidecar = await startSidecar({ ...base(orthanc), peers: [{ name: 'modality', aeTitles: ['PYSCU', 'CT01'] }], limits: { shutdownGraceSeconds: 20 } });
  const scu = startScu(sidecar.port, { aet: 'PYSCU' });
  try {
    assert.is((await scu.send('associate')).established, true);
    sidecar.process.child.kill('SIGTERM');
    await sidecar.waitForLog((r) => r.msg.startsWith('shutting down'));
    const late = await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'PACS'], sidecar.port);
    assert.is.not(late.code, 0, 'no new associations during shutdown');
    assert.is((await scu.send('echo')).ok, true, 'the open association still works');
    assert.is((await scu.send('release')).released, true);
    assert.is(await sidecar.process.exited, 0);
  } finally {
    await scu.close();
    await sidecar.stop();
  }
});

test('SIGTERM: past the grace period open associations get an A-ABORT', async ({ orthanc }) => {
  const sidecar = await startSidecar({ ...base(orthanc), peers: [{ name: 'modality', aeTitles: ['PYSCU'] }], limits: { shutdownGraceSeconds: 1 } });
  const scu = startScu(sidecar.port, { aet: 'PYSCU' });
  try {
    assert.is((await scu.send('associate')).established, true);
    sidecar.process.child.kill('SIGTERM');
    assert.is(await sidecar.process.exited, 0);
    assert.is((await scu.send('state')).aborted, true);
    assert.ok(sidecar.audits().some((r) => r.callingAETitle === 'PYSCU' && r.ended === 'shutdown'));
  } finally {
    await scu.close();
    await sidecar.stop();
  }
});

test('pynetdicom: many presentation contexts and a large maximum PDU', async ({ orthanc, dir }) => {
  const sidecar = await startSidecar({ ...base(orthanc), peers: [{ name: 'modality', aeTitles: ['PYSCU'] }] });
  for (const maxPdu of [1048576, 0]) {
    // A new instance each time: Orthanc stores a SOP instance UID once.
    const image = await writeImage(join(dir, `big-${maxPdu}.dcm`), { rows: 1024, columns: 2048 }); // 4 MiB of pixels
    const scu = startScu(sidecar.port, { aet: 'PYSCU', contexts: 60, maxPdu });
    try {
      const associated = await scu.send('associate');
      assert.is(associated.established, true);
      assert.ok((associated.accepted_contexts as string[]).length >= 50, `accepted ${(associated.accepted_contexts as string[]).length} contexts`);
      const before = await orthanc.countInstances();
      assert.is((await scu.send(`store ${image.path}`)).ok, true);
      assert.is(await orthanc.countInstances(), before + 1);
      assert.is((await scu.send('release')).released, true);
    } finally {
      await scu.close();
    }
  }
  await sidecar.stop();
});

test('services: contexts outside the peer services are refused with result 3, the rest work', async ({ orthanc }) => {
  const sidecar = await startSidecar({ ...base(orthanc), peers: [{ name: 'viewer', aeTitles: ['PYSCU'], services: ['verification'] }] });
  const scu = startScu(sidecar.port, { aet: 'PYSCU', contexts: 3 });
  try {
    const associated = await scu.send('associate');
    assert.is(associated.established, true);
    assert.equal(associated.accepted_contexts, ['1.2.840.10008.1.1']);
    const refused = associated.rejected_contexts as [string, number][];
    assert.ok(refused.length >= 1 && refused.every(([, result]) => result === 3), JSON.stringify(refused));
    assert.is((await scu.send('echo')).ok, true);
    assert.is((await scu.send('release')).released, true);
  } finally {
    await scu.close();
    await sidecar.stop();
  }
});

test.run();
