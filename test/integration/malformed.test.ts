// Every malformed-input class of dicom-wire.md against the running sidecar process:
// no crash, bounded time (ARTIM), the right A-ABORT or A-ASSOCIATE-RJ, and nothing
// reaching the PACS (a tripwire in front of Orthanc counts connections and bytes).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { startOrthanc, type Orthanc } from '../harness/orthanc.ts';
import { startSidecar, type SidecarProcess } from '../harness/sidecar.ts';
import { startTripwire, type Tripwire } from '../harness/tripwire.ts';
import { exchange, providerAbortBytes, rejectBytes } from '../harness/raw-client.ts';
import { dcmtk } from '../harness/dcmtk.ts';
import { associateFixedFields, item, lengthPrefixed, pdu, text, u16, type Bytes } from '../../sidecar/wire/pdu.fixtures.ts';
import { writePdu } from '../../sidecar/wire/writer.ts';
import { readPdu } from '../../sidecar/wire/reader.ts';
import { DICOM_APPLICATION_CONTEXT, PduType, type AssociateRequest } from '../../sidecar/wire/pdu.ts';

const ARTIM_SECONDS = 2;
const VERIFICATION = '1.2.840.10008.1.1';
const IMPLICIT = '1.2.840.10008.1.2';

interface Context {
  orthanc: Orthanc;
  tripwire: Tripwire;
  sidecar: SidecarProcess;
}

const test = suite<Context>('malformed input');

test.before(async (context) => {
  context.orthanc = await startOrthanc({ aeTitle: 'PACS' });
  context.tripwire = await startTripwire({ host: '127.0.0.1', port: context.orthanc.dicomPort });
  context.sidecar = await startSidecar({
    upstream: { host: '127.0.0.1', port: context.tripwire.port },
    calledAETitles: ['PACS'],
    peers: [{ name: 'modality', aeTitles: ['CT01'] }],
    limits: { associationRequestTimeoutSeconds: ARTIM_SECONDS, maxAssociateRequestBytes: 131072, failedAttempts: { max: 1000 } },
  });
});

test.after(async (context) => {
  await context.sidecar?.stop();
  await context.tripwire?.close();
  await context.orthanc?.stop();
});

function request(overrides: Partial<AssociateRequest> = {}): AssociateRequest {
  return {
    type: PduType.AssociateRequest,
    protocolVersion: 1,
    calledAETitle: 'PACS',
    callingAETitle: 'CT01',
    applicationContext: DICOM_APPLICATION_CONTEXT,
    presentationContexts: [{ id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT] }],
    userInformation: { maxLength: 16384, implementationClassUid: '1.2.3.4', roleSelections: [], extendedNegotiations: [], commonExtendedNegotiations: [], unknownSubItems: [] },
    ...overrides,
  };
}

/** An A-ASSOCIATE-RQ built item by item, for what the writer would refuse to produce. */
function rawRequest(calling: string, items: Bytes[], called = 'PACS'): Uint8Array {
  return pdu(PduType.AssociateRequest, associateFixedFields(called, calling), ...items);
}
const applicationContext = item(0x10, text(DICOM_APPLICATION_CONTEXT));
const userInformation = item(0x50, item(0x51, [0, 0, 0x40, 0]), item(0x52, text('1.2.3.4')));
const presentationContext = (id: number, ...subItems: Bytes[]) => item(0x20, [id, 0, 0, 0], ...subItems);
const verificationContext = presentationContext(1, item(0x30, text(VERIFICATION)), item(0x40, text(IMPLICIT)));

/** The P-DATA-TF of a C-ECHO-RQ on context 1 (PS3.7 9.3.5, implicit VR little endian). */
function echoRequest(): Uint8Array {
  const element = (tag: number, value: Buffer) => {
    const header = Buffer.alloc(8);
    header.writeUInt16LE(0x0000, 0);
    header.writeUInt16LE(tag, 2);
    header.writeUInt32LE(value.length, 4);
    return Buffer.concat([header, value]);
  };
  const us = (n: number) => Buffer.from([n & 0xff, n >> 8]);
  const body = Buffer.concat([element(0x0002, Buffer.from(`${VERIFICATION}\0`)), element(0x0100, us(0x0030)), element(0x0110, us(1)), element(0x0800, us(0x0101))]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(body.length);
  const command = Buffer.concat([element(0x0000, groupLength), body]);
  return writePdu({ type: PduType.DataTransfer, values: [{ presentationContextId: 1, isCommand: true, isLast: true, data: command }] });
}

interface Expectation {
  /** The exact bytes the sidecar answers with (RJ or A-ABORT), or 'nothing' for a silent close (ARTIM). */
  answer: Buffer | 'nothing';
  /** Upper bound on the time to close. */
  closeWithinMs: number;
}

async function expectRefused(context: Context, name: string, payload: Uint8Array | Uint8Array[], expected: Expectation, options: Parameters<typeof exchange>[2] = {}) {
  const before = { connections: context.tripwire.connections, bytes: context.tripwire.bytes };
  const result = await exchange(context.sidecar.port, payload, { waitMs: ARTIM_SECONDS * 1000 + 3000, ...options });
  if (expected.answer === 'nothing') assert.is(result.received.length, 0, `${name}: expected no answer, got ${result.received.toString('hex')}`);
  else assert.is(result.received.toString('hex'), expected.answer.toString('hex'), `${name}: answer`);
  assert.ok(result.closedAfterMs !== undefined && result.closedAfterMs <= expected.closeWithinMs, `${name}: closed after ${result.closedAfterMs} ms, expected within ${expected.closeWithinMs} ms`);
  assert.equal({ connections: context.tripwire.connections, bytes: context.tripwire.bytes }, before, `${name}: something reached the upstream`);
}

const abortAtOnce = (reason: number): Expectation => ({ answer: providerAbortBytes(reason), closeWithinMs: 1000 });
const rejectAtOnce = (result: number, source: number, reason: number): Expectation => ({ answer: rejectBytes(result, source, reason), closeWithinMs: 1000 });
const artimClose: Expectation = { answer: 'nothing', closeWithinMs: ARTIM_SECONDS * 1000 + 1500 };

test('1: PDU length 0xFFFFFFFF or over the cap is refused from the header, before the body', async (context) => {
  await expectRefused(context, 'length 0xFFFFFFFF', Uint8Array.from([0x01, 0, 0xff, 0xff, 0xff, 0xff]), abortAtOnce(6));
  await expectRefused(context, 'length over maxAssociateRequestBytes', Uint8Array.from([0x01, 0, 0x00, 0x02, 0x00, 0x01]), abortAtOnce(6));
});

test('2: truncated header or body, then silence: closed by ARTIM', async (context) => {
  await expectRefused(context, 'truncated header', Uint8Array.from([0x01, 0, 0]), artimClose);
  const whole = writePdu(request());
  await expectRefused(context, 'truncated body', whole.subarray(0, 40), artimClose);
  await expectRefused(context, 'nothing at all', new Uint8Array(0), artimClose);
});

test('3: items overrunning their parent, zero-length items', async (context) => {
  const overrun = [0x10, 0, ...u16(500), ...text(DICOM_APPLICATION_CONTEXT)];
  await expectRefused(context, 'application context overruns the PDU', rawRequest('CT01', [overrun]), abortAtOnce(6));
  await expectRefused(context, 'zero-length presentation context', rawRequest('CT01', [applicationContext, item(0x20), userInformation]), abortAtOnce(6));
  await expectRefused(context, 'zero-length abstract syntax', rawRequest('CT01', [applicationContext, presentationContext(1, item(0x30), item(0x40, text(IMPLICIT))), userInformation]), abortAtOnce(6));
  const subItemOverrun = item(0x50, [0x51, 0, ...u16(40), 0, 0, 0x40, 0]);
  await expectRefused(context, 'sub-item overruns user information', rawRequest('CT01', [applicationContext, verificationContext, subItemOverrun]), abortAtOnce(6));
});

test('4: A-ASSOCIATE-RJ, A-RELEASE and A-ABORT with a length other than 4', async (context) => {
  await expectRefused(context, 'release length 6', Uint8Array.from([0x05, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0]), abortAtOnce(6));
  await expectRefused(context, 'abort length 2', Uint8Array.from([0x07, 0, 0, 0, 0, 2, 0, 0]), abortAtOnce(6));
  await expectRefused(context, 'reject length 5', Uint8Array.from([0x03, 0, 0, 0, 0, 5, 0, 1, 1, 1, 0]), abortAtOnce(6));
});

test('5: unknown PDU types and PDUs out of sequence', async (context) => {
  await expectRefused(context, 'type 0x09', Uint8Array.from([0x09, 0, 0, 0, 0, 4, 0, 0, 0, 0]), abortAtOnce(1));
  await expectRefused(context, 'type 0x00', Uint8Array.from([0x00, 0, 0, 0, 0, 4, 0, 0, 0, 0]), abortAtOnce(1));
  await expectRefused(context, 'A-ASSOCIATE-AC from a caller', pdu(PduType.AssociateAccept, associateFixedFields('PACS', 'CT01'), applicationContext, userInformation), abortAtOnce(2));
  await expectRefused(context, 'P-DATA before acceptance', echoRequest(), abortAtOnce(2));
  await expectRefused(context, 'A-RELEASE-RQ first', Uint8Array.from([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0]), abortAtOnce(2));
});

test('5: a second A-ASSOCIATE-RQ inside an association aborts both sides; it never reaches the PACS', async (context) => {
  const connectionsBefore = context.tripwire.connections;
  const first = writePdu(request());
  const result = await exchange(context.sidecar.port, [first], { waitMs: 1500 });
  assert.is(result.firstPduType, PduType.AssociateAccept, 'the first RQ is accepted');
  // Now a session that does the same and then sends another RQ.
  const session = await exchange(context.sidecar.port, [first, writePdu(request())], { waitMs: 4000 });
  const ac = readPdu(session.received, 1 << 20);
  assert.is(ac?.pdu.type, PduType.AssociateAccept);
  assert.is(session.received.subarray(ac!.length).toString('hex'), providerAbortBytes(2).toString('hex'));
  assert.is(context.tripwire.connections, connectionsBefore + 2);
  const upstreamBytes = Buffer.concat(context.tripwire.received.at(-1)!);
  const forwarded = readPdu(upstreamBytes, 1 << 20)!;
  assert.is(forwarded.pdu.type, PduType.AssociateRequest);
  assert.is(upstreamBytes.subarray(forwarded.length).toString('hex'), providerAbortBytes(0).toString('hex'), 'the PACS got the first RQ, then an A-ABORT: never the second RQ');
});

test('6: AE titles all spaces, with control characters, non-ASCII', async (context) => {
  await expectRefused(context, 'calling AE all spaces', writePdu(request({ callingAETitle: '' })), rejectAtOnce(1, 1, 3));
  await expectRefused(context, 'called AE with a control character', writePdu(request({ calledAETitle: 'PA\x01CS' })), rejectAtOnce(1, 1, 7));
  await expectRefused(context, 'calling AE non-ASCII', writePdu(request({ callingAETitle: 'CT\u00d801' })), rejectAtOnce(1, 1, 3));
  await expectRefused(context, 'calling AE with a backslash', writePdu(request({ callingAETitle: 'CT\\01' })), rejectAtOnce(1, 1, 3));
});

test('7: UIDs non-ASCII, over 64 characters, odd length, NUL padded', async (context) => {
  const context7 = (uid: Bytes) => presentationContext(1, item(0x30, uid), item(0x40, text(IMPLICIT)));
  await expectRefused(context, 'non-ASCII UID', rawRequest('CT01', [applicationContext, context7([...text('1.2.840.'), 0xe9]), userInformation]), abortAtOnce(6));
  await expectRefused(context, 'UID of 65 characters', rawRequest('CT01', [applicationContext, context7(text(`1.${'2'.repeat(63)}`)), userInformation]), abortAtOnce(6));
  // Valid forms: parsed, then refused for the unknown calling AE title, never aborted.
  await expectRefused(context, 'odd-length UID', rawRequest('NOBODY', [applicationContext, context7(text('1.2.840.10008.1.1')), userInformation]), rejectAtOnce(1, 1, 3));
  await expectRefused(context, 'NUL-padded UID', rawRequest('NOBODY', [applicationContext, context7([...text('1.2.840.10008.1.1'), 0]), userInformation]), rejectAtOnce(1, 1, 3));
});

test('8: presentation contexts with even or duplicate IDs, no abstract syntax, no transfer syntax', async (context) => {
  const abstract = item(0x30, text(VERIFICATION));
  const transfer = item(0x40, text(IMPLICIT));
  await expectRefused(context, 'even ID', rawRequest('CT01', [applicationContext, presentationContext(2, abstract, transfer), userInformation]), abortAtOnce(6));
  await expectRefused(context, 'duplicate IDs', rawRequest('CT01', [applicationContext, presentationContext(1, abstract, transfer), presentationContext(1, abstract, transfer), userInformation]), abortAtOnce(6));
  await expectRefused(context, 'no abstract syntax', rawRequest('CT01', [applicationContext, presentationContext(1, transfer), userInformation]), abortAtOnce(6));
  await expectRefused(context, 'no transfer syntax', rawRequest('CT01', [applicationContext, presentationContext(1, abstract), userInformation]), abortAtOnce(6));
});

test('9: user information with max length 0, unknown sub-items, identity fields of 65525 bytes', async (context) => {
  const odd = (...subItems: Bytes[]) => rawRequest('NOBODY', [applicationContext, verificationContext, item(0x50, ...subItems)]);
  await expectRefused(context, 'max length 0', odd(item(0x51, [0, 0, 0, 0])), rejectAtOnce(1, 1, 3));
  await expectRefused(context, 'unknown sub-items', odd(item(0x51, [0, 0, 0x40, 0]), item(0x5f, [1, 2, 3]), item(0x7a)), rejectAtOnce(1, 1, 3));
  const huge = new Array<number>(65525).fill(0x41);
  await expectRefused(context, 'identity primary field of 65525 bytes', odd(item(0x58, [2, 1], lengthPrefixed(huge), lengthPrefixed([]))), rejectAtOnce(1, 1, 3));
});

test('10: protocol confusion: a TLS ClientHello and HTTP on the plain DICOM port', async (context) => {
  const clientHello = Uint8Array.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]);
  await expectRefused(context, 'TLS ClientHello', clientHello, abortAtOnce(1));
  await expectRefused(context, 'HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: pacs\r\n\r\n'), abortAtOnce(1));
});

test('11: one-byte TCP segments; several PDUs in one read', async (context) => {
  await expectRefused(context, 'RQ one byte at a time', writePdu(request({ callingAETitle: 'NOBODY' })), rejectAtOnce(1, 1, 3), { oneByteSegments: true });
  // RQ and a C-ECHO in one write: the PACS must see the RQ, answer it, and only then the P-DATA.
  const session = await exchange(context.sidecar.port, Buffer.concat([writePdu(request()), echoRequest(), Uint8Array.from([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0])]), { waitMs: 5000 });
  const ac = readPdu(session.received, 1 << 20);
  assert.is(ac?.pdu.type, PduType.AssociateAccept);
  const flow = context.tripwire.flow.at(-1)!;
  const firstUp = readPdu(flow[0]!.bytes, 1 << 20);
  assert.is(firstUp?.pdu.type, PduType.AssociateRequest);
  assert.is(firstUp?.length, flow[0]!.bytes.length, 'the first bytes to reach the PACS are exactly one A-ASSOCIATE-RQ');
  assert.is(flow[1]?.direction, 'down', 'the PACS answered before anything else was forwarded');
  const after = Buffer.concat(flow.slice(2).filter((f) => f.direction === 'up').map((f) => f.bytes));
  assert.is(after.subarray(0, echoRequest().length).toString('hex'), Buffer.from(echoRequest()).toString('hex'), 'the C-ECHO followed the acceptance');
});

test('12: reset or half-close in the middle of a PDU', async (context) => {
  const before = context.tripwire.connections;
  const partial = writePdu(request()).subarray(0, 30);
  const reset = await exchange(context.sidecar.port, partial, { resetAfterSend: true, waitMs: 500 });
  assert.is(reset.received.length, 0);
  const halfClosed = await exchange(context.sidecar.port, partial, { halfCloseAfterSend: true, waitMs: 3000 });
  assert.ok(halfClosed.closedAfterMs !== undefined && halfClosed.closedAfterMs < 1000, `half-close answered by a close (${halfClosed.closedAfterMs} ms)`);
  assert.is(context.tripwire.connections, before);
  const health = await fetch(`http://127.0.0.1:${context.sidecar.adminPort}/healthz`);
  assert.is(health.status, 200);
});

test('12: upstream timing out and upstream closing first: the caller gets an A-ABORT', async () => {
  const silent = await startTripwire(); // accepts, never answers
  const closer = createServer((socket) => socket.destroy());
  closer.listen({ host: '127.0.0.1', port: 0 });
  await once(closer, 'listening');
  const closerPort = (closer.address() as { port: number }).port;
  for (const [name, port] of [['silent upstream', silent.port], ['upstream closing', closerPort]] as const) {
    const sidecar = await startSidecar({ upstream: { host: '127.0.0.1', port }, calledAETitles: ['PACS'], peers: [{ name: 'modality', aeTitles: ['CT01'] }], limits: { associationRequestTimeoutSeconds: ARTIM_SECONDS } });
    try {
      const result = await exchange(sidecar.port, writePdu(request()), { waitMs: ARTIM_SECONDS * 1000 + 3000 });
      assert.is(result.received.toString('hex'), providerAbortBytes(0).toString('hex'), name);
      assert.ok(result.closedAfterMs !== undefined && result.closedAfterMs < ARTIM_SECONDS * 1000 + 1500, `${name}: closed after ${result.closedAfterMs} ms`);
    } finally {
      await sidecar.stop();
    }
  }
  await silent.close();
  closer.close();
});

test('after all of it the sidecar still serves a real client', async ({ sidecar }) => {
  const result = await dcmtk('echoscu', ['-aet', 'CT01', '-aec', 'PACS'], sidecar.port);
  assert.is(result.code, 0, result.output);
  assert.ok(!sidecar.logs().some((r) => r.level === 'fatal' || r.msg.includes('failed unexpectedly')), 'no unexpected failure was logged');
});

test.run();
