// Per-message checks (issue 14): an accepted association may carry only the DIMSE
// messages its peer's services allow, each on a presentation context that was accepted
// for that SOP class. The client is pynetdicom driven by test/python/dimse_probe.py
// (independent of the sidecar's codec), the PACS is Orthanc, the C-MOVE destination a
// DCMTK storescp, and between the sidecar and Orthanc a tripwire records the bytes that
// reached the PACS, which a small parser below reads on its own: "nothing of the
// offending message reached the PACS" is measured, not assumed.
//
// The first tests send the same probes straight to Orthanc, without the sidecar: they
// show that each probe does what it says (the defect is real) and is not refused for
// some other reason; the sidecar's tests only then mean something.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrthanc, type Orthanc } from '../harness/orthanc.ts';
import { startSidecar, type SidecarProcess } from '../harness/sidecar.ts';
import { startTripwire, type Tripwire } from '../harness/tripwire.ts';
import { dcmtk } from '../harness/dcmtk.ts';
import { newUid, writeImage, type GeneratedImage } from '../harness/dicom-file.ts';
import { freePort } from '../harness/ports.ts';
import { start, waitFor, type Running } from '../harness/processes.ts';
import { requireProgram } from '../harness/tools.ts';
import { describeProbe, runProbe, type ProbeName, type ProbeOptions, type ProbeResult } from '../harness/dimse-probe.ts';
import type { AuditRecord } from '../../sidecar/proxy/association.ts';

// PS3.7 E.1: (0000,0100) Command Field values of the requests.
const C_STORE_RQ = 0x0001;
const C_GET_RQ = 0x0010;
const C_FIND_RQ = 0x0020;
const C_MOVE_RQ = 0x0021;
const C_ECHO_RQ = 0x0030;
const VERIFICATION = '1.2.840.10008.1.1';
const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
const STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const STUDY_ROOT_MOVE = '1.2.840.10008.5.1.4.1.2.2.2';

// ---------------------------------------------------------------------------------------
// What reached the PACS: a parser of its own for the tripwire's bytes (PS3.8 9.3.1 PDU
// header, 9.3.5 P-DATA-TF and its PDV items, E.2 the message control header), so that
// the assertions do not trust the sidecar's codec to describe the sidecar.

interface Pdv {
  pcid: number;
  command: boolean;
  last: boolean;
  value: Buffer;
}

interface UpstreamMessage {
  pcid: number;
  /** (0000,0100), when the command bytes that arrived contain it. */
  commandField: number | undefined;
  /** Whether the last command fragment (control bits 11) arrived. */
  complete: boolean;
  fragments: number;
}

interface Upstream {
  pduTypes: number[];
  pdvs: Pdv[];
  /** Command sets, reassembled from their fragments, in arrival order (complete or not). */
  commands: UpstreamMessage[];
  /** Bytes after the last whole PDU: non-zero means a PDU was cut in the middle. */
  trailing: number;
}

/** (0000,0100) in an implicit VR little endian command set (PS3.7 6.3.1, PS3.5 7.1.3). */
function commandFieldOf(bytes: Buffer): number | undefined {
  let offset = 0;
  while (offset + 8 <= bytes.length) {
    const group = bytes.readUInt16LE(offset);
    const element = bytes.readUInt16LE(offset + 2);
    const length = bytes.readUInt32LE(offset + 4);
    if (group === 0x0000 && element === 0x0100 && length === 2 && offset + 10 <= bytes.length) return bytes.readUInt16LE(offset + 8);
    offset += 8 + length;
  }
  return undefined;
}

function parseUpstream(chunks: readonly Buffer[]): Upstream {
  const stream = Buffer.concat(chunks);
  const upstream: Upstream = { pduTypes: [], pdvs: [], commands: [], trailing: 0 };
  const open = new Map<number, { bytes: Buffer[]; fragments: number }>();
  let offset = 0;
  while (offset + 6 <= stream.length) {
    const type = stream[offset]!;
    const length = stream.readUInt32BE(offset + 2);
    if (offset + 6 + length > stream.length) break;
    upstream.pduTypes.push(type);
    if (type === 0x04) {
      const end = offset + 6 + length;
      let item = offset + 6;
      while (item + 6 <= end) {
        const itemLength = stream.readUInt32BE(item); // counts the PCID and the control header
        const pcid = stream[item + 4]!;
        const control = stream[item + 5]!;
        const value = stream.subarray(item + 6, item + 4 + itemLength);
        const pdv = { pcid, command: (control & 1) === 1, last: (control & 2) === 2, value };
        upstream.pdvs.push(pdv);
        if (pdv.command) {
          const message = open.get(pcid) ?? { bytes: [], fragments: 0 };
          message.bytes.push(value);
          message.fragments++;
          open.set(pcid, message);
          if (pdv.last) {
            upstream.commands.push({ pcid, commandField: commandFieldOf(Buffer.concat(message.bytes)), complete: true, fragments: message.fragments });
            open.delete(pcid);
          }
        }
        item += 4 + itemLength;
      }
    }
    offset += 6 + length;
  }
  for (const [pcid, message] of open) {
    upstream.commands.push({ pcid, commandField: commandFieldOf(Buffer.concat(message.bytes)), complete: false, fragments: message.fragments });
  }
  upstream.trailing = stream.length - offset;
  return upstream;
}

const hex = (n: number | undefined) => (n === undefined ? 'none' : `0x${n.toString(16).padStart(4, '0')}`);
const describeUpstream = (u: Upstream) =>
  `PDU types ${JSON.stringify(u.pduTypes)}, ${u.pdvs.length} PDVs, commands ${JSON.stringify(u.commands.map((c) => ({ ...c, commandField: hex(c.commandField) })))}`;

// ---------------------------------------------------------------------------------------
// The world: Orthanc seeded with one study, a storescp as move destination, a tripwire,
// the sidecar.

interface Context {
  dir: string;
  orthanc: Orthanc;
  tripwire: Tripwire;
  sidecar: SidecarProcess;
  /** A second sidecar for the peer with moveDestinations (started by the first test that needs it). */
  moverSidecar?: SidecarProcess;
  storescp: Running;
  destinationDir: string;
  /** The seeded study: two instances, one patient. */
  seeds: GeneratedImage[];
}

const test = suite<Context>('per-message checks: DIMSE commands against services and presentation contexts');

const peers = [
  { name: 'limited', aeTitles: ['LIMITED'], services: ['verification', 'query'] },
  { name: 'viewer', aeTitles: ['VIEWER'], services: ['verification', 'query', 'retrieve'] },
  { name: 'modality', aeTitles: ['CT01'], services: ['verification', 'storage'] },
];
// moveDestinations is the field being added with this change. It lives in a sidecar of
// its own so that, until the schema knows it, only the tests that need it fail. (A
// variable, not a literal, so TypeScript's excess property check lets it through.)
const mover = { name: 'mover', aeTitles: ['MOVER'], services: ['verification', 'query', 'retrieve'], moveDestinations: ['DEST'] };

async function destinationFiles(context: Context): Promise<number> {
  return (await readdir(context.destinationDir)).length;
}

async function freshImage(context: Context, name: string): Promise<GeneratedImage> {
  return writeImage(join(context.dir, `${name}-${newUid().slice(-8)}.dcm`));
}

test.before(async (context) => {
  context.dir = await mkdtemp(join(tmpdir(), 'dg-dimse-'));
  context.destinationDir = join(context.dir, 'destination');
  await mkdir(context.destinationDir);

  // The C-MOVE destination. +uf: a unique file name per received instance, so moving
  // the same study twice counts twice.
  const destinationPort = await freePort();
  context.storescp = start('storescp', requireProgram('storescp'), ['+uf', '-od', context.destinationDir, '-aet', 'DEST', String(destinationPort)]);
  await waitFor('storescp', async () => (await dcmtk('echoscu', ['-aet', 'PROBE', '-aec', 'DEST'], destinationPort)).code === 0, 15_000, 200);

  // Orthanc lets everything through (DicomAlways*): the sidecar's checks are what is
  // tested, not Orthanc's. DEST and OTHER are the same storescp, so a refused move to
  // OTHER would show in the same folder.
  context.orthanc = await startOrthanc({
    aeTitle: 'PACS',
    extra: {
      DicomAlwaysAllowMove: true,
      DicomModalities: {
        DEST: ['DEST', '127.0.0.1', destinationPort],
        OTHER: ['OTHER', '127.0.0.1', destinationPort],
      },
    },
  });
  const study = newUid();
  context.seeds = [
    await writeImage(join(context.dir, 'seed-1.dcm'), { studyInstanceUid: study, patientId: 'DG-SEED' }),
    await writeImage(join(context.dir, 'seed-2.dcm'), { studyInstanceUid: study, patientId: 'DG-SEED' }),
  ];
  const seeded = await dcmtk('storescu', ['-aet', 'SEED', '-aec', 'PACS'], context.orthanc.dicomPort, '127.0.0.1', context.seeds.map((s) => s.path));
  assert.is(seeded.code, 0, seeded.output);
  assert.is(await context.orthanc.countInstances(), 2);

  context.tripwire = await startTripwire({ host: '127.0.0.1', port: context.orthanc.dicomPort });
  context.sidecar = await startSidecar({ upstream: { host: '127.0.0.1', port: context.tripwire.port }, calledAETitles: ['PACS'], peers });
});

test.after(async (context) => {
  await context.moverSidecar?.stop();
  await context.sidecar?.stop();
  await context.tripwire?.close();
  await context.orthanc?.stop();
  await context.storescp?.stop();
  if (context.dir) await rm(context.dir, { recursive: true, force: true });
});

async function moverSidecar(context: Context): Promise<SidecarProcess> {
  context.moverSidecar ??= await startSidecar({ upstream: { host: '127.0.0.1', port: context.tripwire.port }, calledAETitles: ['PACS'], peers: [mover] });
  return context.moverSidecar;
}

interface Through {
  result: ProbeResult;
  /** What reached the PACS on this association's upstream connection. */
  upstream: Upstream;
  audit: AuditRecord | undefined;
}

/** Run a probe through `sidecar`; return it with what reached the PACS and the audit record. */
async function through(context: Context, sidecar: SidecarProcess, probe: ProbeName, options: ProbeOptions): Promise<Through> {
  const connection = context.tripwire.received.length;
  const result = await runProbe(probe, sidecar.port, options);
  let audit: AuditRecord | undefined;
  if (result.established) {
    // The audit record is written once both sockets are closed; then every byte the
    // sidecar sent upstream has been written to the tripwire.
    audit = await sidecar.waitForAudit((r) => r.source.port === result.localPort && r.callingAETitle === options.aet, 5000).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { result, upstream: parseUpstream(context.tripwire.received[connection] ?? []), audit };
}

/**
 * The refusal the sidecar owes an offending message: an A-ABORT from the service
 * provider (source 2, PS3.8 9.3.8) at a PDU boundary, nothing of the message at the PACS,
 * and an audit record saying which command on which presentation context was refused.
 */
function assertRefused(via: Through, offending: { commandField: number; name: string; contextId: number; commandKnown?: boolean }): void {
  const { result, upstream, audit } = via;
  const detail = `${describeProbe(result)}\nupstream: ${describeUpstream(upstream)}`;
  assert.ok(result.established, `the association itself is allowed:\n${detail}`);
  assert.is(result.sent?.contextId, offending.contextId, `the probe sent on the intended context:\n${detail}`);
  assert.is(result.outcome, 'aborted', `the client should see an A-ABORT, not ${result.outcome}:\n${detail}`);
  assert.is(result.abort?.source, 2, `A-ABORT source 2 (service provider: the sidecar), not ${result.abort?.source}:\n${detail}`);
  assert.is(result.status, null, `no DIMSE response may come back:\n${detail}`);
  assert.not.ok(
    upstream.commands.some((c) => c.commandField === offending.commandField),
    `no ${offending.name} command set may reach the PACS:\n${detail}`,
  );
  // Each probe sends one message and nothing before it: not a single PDV of it, not even
  // a fragment of its command set before the command field, may have been relayed.
  assert.is(upstream.pdvs.length, 0, `no P-DATA of the offending message may reach the PACS:\n${detail}`);
  assert.is(upstream.trailing, 0, `the PACS's stream must end at a PDU boundary:\n${detail}`);
  assert.ok(audit, `no audit record from source port ${result.localPort} within 5 s of the association's end:\n${detail}`);
  assert.is(audit.decision, 'accepted', JSON.stringify(audit));
  assert.is(audit.ended, 'message-refused', JSON.stringify(audit));
  // A fragment on a context that was not accepted is refused at its PDV header, before
  // the command it starts could be read: then the why names the context only.
  if (offending.commandKnown !== false) assert.match(audit.why ?? '', new RegExp(offending.name), JSON.stringify(audit));
  else assert.is(audit.refusedMessage?.rule, 'context-not-accepted', JSON.stringify(audit));
  assert.match(audit.why ?? '', new RegExp(`presentation context\\D{0,20}\\b${offending.contextId}\\b`, 'i'), `why names presentation context ${offending.contextId}: ${JSON.stringify(audit)}`);
}

function assertAnswered(result: ProbeResult, status = 0x0000): void {
  assert.is(result.outcome, 'response', describeProbe(result));
  assert.is(result.status, status, describeProbe(result));
}

const contextOf = (result: ProbeResult, abstractSyntax: string) => result.contexts.find((c) => c.abstractSyntax === abstractSyntax);

// ---------------------------------------------------------------------------------------
// Without the sidecar: the probes do what they say.

test('direct to Orthanc: C-STORE on the Verification context is stored (the defect)', async (context) => {
  const { orthanc } = context;
  const before = await orthanc.countInstances();
  const result = await runProbe('store-on-verification', orthanc.dicomPort, { aet: 'LIMITED', file: (await freshImage(context, 'direct')).path });
  assert.is(contextOf(result, VERIFICATION)?.result, 0, describeProbe(result));
  assert.is(result.sent?.contextId, contextOf(result, VERIFICATION)?.id);
  assertAnswered(result);
  assert.is(await orthanc.countInstances(), before + 1);
});

test('direct to Orthanc: the same C-STORE split into 20-byte command fragments is stored', async (context) => {
  const { orthanc } = context;
  const before = await orthanc.countInstances();
  const result = await runProbe('split-command-store-on-verification', orthanc.dicomPort, { aet: 'LIMITED', file: (await freshImage(context, 'direct')).path });
  assert.ok((result.sent?.commandFragments ?? 0) > 5, describeProbe(result));
  assertAnswered(result);
  assert.is(await orthanc.countInstances(), before + 1);
});

test('direct to Orthanc: C-MOVE on the Study Root FIND context moves the study', async (context) => {
  const before = await destinationFiles(context);
  const result = await runProbe('move-on-find', context.orthanc.dicomPort, { aet: 'LIMITED', file: context.seeds[0]!.path, moveDestination: 'DEST' });
  assert.is(result.sent?.contextId, contextOf(result, STUDY_ROOT_FIND)?.id, describeProbe(result));
  assertAnswered(result);
  assert.is(result.numberOfCompletedSuboperations, 2, describeProbe(result));
  await waitFor('the moved instances', async () => (await destinationFiles(context)) === before + 2);
});

test('direct to Orthanc: C-FIND on a storage context is answered', async (context) => {
  const result = await runProbe('find-on-storage', context.orthanc.dicomPort, { aet: 'CT01', file: context.seeds[0]!.path });
  assert.is(result.sent?.contextId, contextOf(result, SECONDARY_CAPTURE)?.id, describeProbe(result));
  assertAnswered(result);
  assert.ok(result.statuses.includes(0xff00), `a pending response carrying the match:\n${describeProbe(result)}`);
});

test('direct to Orthanc: C-STORE from the client on its C-GET storage context (SCU+SCP roles asked) is stored', async (context) => {
  const { orthanc } = context;
  const before = await orthanc.countInstances();
  const result = await runProbe('store-on-get-context', orthanc.dicomPort, { aet: 'VIEWER', file: (await freshImage(context, 'direct')).path });
  assertAnswered(result);
  assert.is(await orthanc.countInstances(), before + 1);
});

test('direct to Orthanc: C-GET with SCP-role storage contexts brings the study', async (context) => {
  const result = await runProbe('get', context.orthanc.dicomPort, { aet: 'VIEWER', file: context.seeds[0]!.path });
  assert.is(contextOf(result, SECONDARY_CAPTURE)?.scpRole, true, describeProbe(result));
  assertAnswered(result);
  assert.is(result.instancesReceived, 2, describeProbe(result));
});

test('direct to Orthanc: P-DATA on a refused or unproposed context ID gets an A-ABORT from Orthanc itself', async (context) => {
  // DCMTK under Orthanc checks the PCID of every PDV; not every PACS does, and the
  // sidecar must not rely on it. Here the probes are shown to send what they claim.
  const { orthanc } = context;
  const before = await orthanc.countInstances();
  const refused = await runProbe('pdata-on-refused-context', orthanc.dicomPort, { aet: 'LIMITED', file: (await freshImage(context, 'direct')).path });
  const used = refused.contexts.find((c) => c.id === refused.sent?.contextId);
  assert.ok(used && used.result !== 0, `sent on a context the AC refused:\n${describeProbe(refused)}`);
  assert.is(refused.outcome, 'aborted', describeProbe(refused));
  const unproposed = await runProbe('pdata-on-unproposed-context', orthanc.dicomPort, { aet: 'LIMITED', file: (await freshImage(context, 'direct')).path });
  assert.is(unproposed.sent?.contextId, 201, describeProbe(unproposed));
  assert.not.ok(unproposed.contexts.some((c) => c.id === 201));
  assert.is(unproposed.outcome, 'aborted', describeProbe(unproposed));
  assert.is(await orthanc.countInstances(), before);
});

// ---------------------------------------------------------------------------------------
// Through the sidecar: what is allowed still works.

test('allowed: C-ECHO and C-FIND from LIMITED, C-STORE from CT01', async (context) => {
  const { sidecar, orthanc } = context;
  assertAnswered((await through(context, sidecar, 'echo', { aet: 'LIMITED' })).result);
  const find = await through(context, sidecar, 'find', { aet: 'LIMITED', file: context.seeds[0]!.path });
  assertAnswered(find.result);
  assert.ok(find.result.statuses.includes(0xff00), describeProbe(find.result));
  const before = await orthanc.countInstances();
  const store = await through(context, sidecar, 'store', { aet: 'CT01', file: (await freshImage(context, 'ct')).path });
  assertAnswered(store.result);
  assert.is(await orthanc.countInstances(), before + 1);
});

test('allowed: a C-ECHO whose command set is split across P-DATA-TF PDUs is relayed and answered', async (context) => {
  const via = await through(context, context.sidecar, 'split-command', { aet: 'LIMITED', fragment: 20 });
  assert.ok((via.result.sent?.commandFragments ?? 0) >= 3, describeProbe(via.result));
  assertAnswered(via.result);
  assert.equal(
    via.upstream.commands.map((c) => [c.commandField, c.complete]),
    [[C_ECHO_RQ, true]],
    describeUpstream(via.upstream),
  );
});

test('allowed: a split C-STORE from CT01 (which may store) arrives in Orthanc', async (context) => {
  const before = await context.orthanc.countInstances();
  const via = await through(context, context.sidecar, 'store', { aet: 'CT01', file: (await freshImage(context, 'ct')).path, fragment: 20 });
  assert.ok((via.result.sent?.commandFragments ?? 0) > 5, describeProbe(via.result));
  assertAnswered(via.result);
  assert.is(await context.orthanc.countInstances(), before + 1);
});

// ---------------------------------------------------------------------------------------
// Through the sidecar: what is not allowed is refused before the PACS sees it.

test('C-STORE on the Verification context (LIMITED): A-ABORT, nothing stored, nothing upstream', async (context) => {
  const before = await context.orthanc.countInstances();
  const via = await through(context, context.sidecar, 'store-on-verification', { aet: 'LIMITED', file: (await freshImage(context, 'limited')).path });
  assertRefused(via, { commandField: C_STORE_RQ, name: 'C-STORE-RQ', contextId: contextOf(via.result, VERIFICATION)?.id ?? 1 });
  // Which SOP class, in the record and in words.
  assert.is(via.audit?.refusedMessage?.sopClassUid, SECONDARY_CAPTURE, JSON.stringify(via.audit));
  assert.ok(via.audit?.why?.includes(`SOP class ${SECONDARY_CAPTURE} (storage)`), JSON.stringify(via.audit));
  assert.is(await context.orthanc.countInstances(), before);
});

test('C-MOVE on the Study Root FIND context (LIMITED): A-ABORT, the destination receives nothing', async (context) => {
  const before = await destinationFiles(context);
  const via = await through(context, context.sidecar, 'move-on-find', { aet: 'LIMITED', file: context.seeds[0]!.path, moveDestination: 'DEST' });
  assertRefused(via, { commandField: C_MOVE_RQ, name: 'C-MOVE-RQ', contextId: contextOf(via.result, STUDY_ROOT_FIND)?.id ?? 1 });
  assert.is(via.audit?.refusedMessage?.sopClassUid, STUDY_ROOT_MOVE, JSON.stringify(via.audit));
  await new Promise((resolve) => setTimeout(resolve, 1000)); // a move would have landed by now
  assert.is(await destinationFiles(context), before);
});

test('C-FIND on a storage context (CT01): A-ABORT, nothing upstream', async (context) => {
  const via = await through(context, context.sidecar, 'find-on-storage', { aet: 'CT01', file: context.seeds[0]!.path });
  assertRefused(via, { commandField: C_FIND_RQ, name: 'C-FIND-RQ', contextId: contextOf(via.result, SECONDARY_CAPTURE)?.id ?? 1 });
});

test('P-DATA on a presentation context the sidecar refused (LIMITED storage, result 3): A-ABORT, nothing stored', async (context) => {
  const before = await context.orthanc.countInstances();
  const via = await through(context, context.sidecar, 'pdata-on-refused-context', { aet: 'LIMITED', file: (await freshImage(context, 'limited')).path });
  const storage = contextOf(via.result, SECONDARY_CAPTURE);
  assert.ok(storage, describeProbe(via.result));
  assert.is(storage.result, 3, `LIMITED's storage context is refused with abstract-syntax-not-supported:\n${describeProbe(via.result)}`);
  assertRefused(via, { commandField: C_STORE_RQ, name: 'C-STORE-RQ', contextId: storage.id, commandKnown: false });
  assert.is(await context.orthanc.countInstances(), before);
});

test('P-DATA on a presentation context ID never proposed (201): A-ABORT, nothing upstream', async (context) => {
  const before = await context.orthanc.countInstances();
  const via = await through(context, context.sidecar, 'pdata-on-unproposed-context', { aet: 'LIMITED', file: (await freshImage(context, 'limited')).path });
  assertRefused(via, { commandField: C_STORE_RQ, name: 'C-STORE-RQ', contextId: 201, commandKnown: false });
  assert.is(await context.orthanc.countInstances(), before);
});

test('a disallowed C-STORE split into 20-byte command fragments: A-ABORT, not one fragment upstream', async (context) => {
  const before = await context.orthanc.countInstances();
  const via = await through(context, context.sidecar, 'split-command-store-on-verification', { aet: 'LIMITED', file: (await freshImage(context, 'limited')).path, fragment: 20 });
  assert.ok((via.result.sent?.commandFragments ?? 0) > 5, describeProbe(via.result));
  // The command field sits after the SOP class UID, several fragments in: a relay that
  // forwards fragments until it has read the command field has already leaked them.
  assertRefused(via, { commandField: C_STORE_RQ, name: 'C-STORE-RQ', contextId: contextOf(via.result, VERIFICATION)?.id ?? 1 });
  assert.equal(via.upstream.commands, [], describeUpstream(via.upstream));
  assert.is(await context.orthanc.countInstances(), before);
});

// ---------------------------------------------------------------------------------------
// C-GET: storage contexts proposed with the SCP role (PS3.7 D.3.3.4) are what a
// retrieve needs; they do not let the client store.

test('C-GET by VIEWER (retrieve, no storage): the study arrives over the SCP-role storage context', async (context) => {
  const via = await through(context, context.sidecar, 'get', { aet: 'VIEWER', file: context.seeds[0]!.path });
  const storage = contextOf(via.result, SECONDARY_CAPTURE);
  assert.ok(storage, describeProbe(via.result));
  assert.is(storage.result, 0, `the storage context proposed with the SCP role is accepted:\n${describeProbe(via.result)}`);
  assert.is(storage.scpRole, true, describeProbe(via.result));
  assertAnswered(via.result);
  assert.is(via.result.instancesReceived, 2, describeProbe(via.result));
  assert.equal(via.upstream.commands.filter((c) => c.commandField === C_GET_RQ).length, 1, describeUpstream(via.upstream));
});

test('VIEWER cannot simply store: its storage context without role selection is refused (result 3)', async (context) => {
  const before = await context.orthanc.countInstances();
  const via = await through(context, context.sidecar, 'store', { aet: 'VIEWER', file: (await freshImage(context, 'viewer')).path });
  assert.is(contextOf(via.result, SECONDARY_CAPTURE)?.result, 3, describeProbe(via.result));
  assert.is(await context.orthanc.countInstances(), before);
});

test('C-STORE-RQ from VIEWER on its C-GET storage context (SCU+SCP roles asked): A-ABORT, nothing stored', async (context) => {
  const before = await context.orthanc.countInstances();
  const via = await through(context, context.sidecar, 'store-on-get-context', { aet: 'VIEWER', file: (await freshImage(context, 'viewer')).path });
  assertRefused(via, { commandField: C_STORE_RQ, name: 'C-STORE-RQ', contextId: contextOf(via.result, SECONDARY_CAPTURE)?.id ?? 3 });
  assert.is(await context.orthanc.countInstances(), before);
});

// ---------------------------------------------------------------------------------------
// C-MOVE destinations (peers[].moveDestinations).

test('C-MOVE by MOVER to DEST (in its moveDestinations): the destination receives the study', async (context) => {
  const sidecar = await moverSidecar(context);
  const before = await destinationFiles(context);
  const via = await through(context, sidecar, 'move', { aet: 'MOVER', file: context.seeds[0]!.path, moveDestination: 'DEST' });
  assertAnswered(via.result);
  assert.is(via.result.numberOfCompletedSuboperations, 2, describeProbe(via.result));
  await waitFor('the moved instances', async () => (await destinationFiles(context)) === before + 2);
});

test('C-MOVE by MOVER to OTHER (known to Orthanc, not in moveDestinations): A-ABORT, the destination receives nothing', async (context) => {
  const sidecar = await moverSidecar(context);
  const before = await destinationFiles(context);
  const via = await through(context, sidecar, 'move', { aet: 'MOVER', file: context.seeds[0]!.path, moveDestination: 'OTHER' });
  assertRefused(via, { commandField: C_MOVE_RQ, name: 'C-MOVE-RQ', contextId: contextOf(via.result, STUDY_ROOT_MOVE)?.id ?? 1 });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.is(await destinationFiles(context), before);
});

// ---------------------------------------------------------------------------------------

test('metrics: refused messages are counted', async ({ sidecar }) => {
  const metrics = await sidecar.metrics();
  assert.match(metrics, /^dicomguard_messages_refused_total(\{[^}]*\})? [1-9]/m, metrics.split('\n').filter((l) => l.startsWith('dicomguard_')).join('\n'));
});

test.run();
