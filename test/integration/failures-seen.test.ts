// What an operator on call sees when things go wrong: the PACS dying mid-association
// (the caller gets an A-ABORT, the audit says why), the bytes each refusal really sent,
// and a source address locked out by a port scan (a metric, a gauge, a log record).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startOrthanc } from '../harness/orthanc.ts';
import { startSidecar } from '../harness/sidecar.ts';
import { startTripwire } from '../harness/tripwire.ts';
import { exchange, providerAbortBytes, rejectBytes } from '../harness/raw-client.ts';
import { writePdu } from '../../sidecar/wire/writer.ts';
import { DICOM_APPLICATION_CONTEXT, PduType, type AssociateRequest } from '../../sidecar/wire/pdu.ts';
import { waitFor } from '../harness/processes.ts';

const test = suite('failures, as the audit and the metrics tell them');

function request(callingAETitle: string): Uint8Array {
  const pdu: AssociateRequest = {
    type: PduType.AssociateRequest,
    protocolVersion: 1,
    calledAETitle: 'PACS',
    callingAETitle,
    applicationContext: DICOM_APPLICATION_CONTEXT,
    presentationContexts: [{ id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: ['1.2.840.10008.1.2'] }],
    userInformation: { maxLength: 16384, implementationClassUid: '1.2.3.4', roleSelections: [], extendedNegotiations: [], commonExtendedNegotiations: [], unknownSubItems: [] },
  };
  return writePdu(pdu);
}

test('the PACS dies mid-association: the caller gets an A-ABORT at a PDU boundary, the audit says why', async () => {
  const orthanc = await startOrthanc({ aeTitle: 'PACS' });
  const tripwire = await startTripwire({ host: '127.0.0.1', port: orthanc.dicomPort });
  const sidecar = await startSidecar({ upstream: { host: '127.0.0.1', port: tripwire.port }, calledAETitles: ['PACS'], peers: [{ name: 'modality', aeTitles: ['CT01'] }] });
  try {
    const exchanged = exchange(sidecar.port, request('CT01'), { waitMs: 15_000 });
    // The A-ASSOCIATE-AC went back through the tripwire: the association is established.
    await waitFor('the A-ASSOCIATE-AC', () => tripwire.flow[0]?.some((f) => f.direction === 'down' && f.bytes[0] === PduType.AssociateAccept), 10_000);
    await orthanc.process.stop('SIGKILL');
    const { received, closedAfterMs } = await exchanged;
    assert.is(received[0], PduType.AssociateAccept);
    assert.ok(closedAfterMs !== undefined, 'the sidecar closed the connection');
    assert.equal([...received.subarray(received.length - 10)], [...providerAbortBytes(0)], 'an A-ABORT (service provider, reason not specified) last');
    const audit = await sidecar.waitForAudit((r) => r.callingAETitle === 'CT01');
    assert.is(audit.decision, 'accepted');
    assert.ok(audit.ended === 'upstream-closed' || audit.ended === 'upstream-reset', audit.ended);
    assert.match(audit.why ?? '', /the (PACS closed its connection|connection to the PACS was reset) in the middle of the association/);
    assert.is(audit.bytes.toClient, received.length, 'the AC and the A-ABORT, as the caller received them');
    assert.is(audit.bytes.toUpstream, tripwire.bytes, 'the A-ASSOCIATE-RQ the sidecar forwarded, as the PACS side received it');
  } finally {
    await sidecar.stop();
    await tripwire.close();
    await orthanc.stop();
  }
});

test('a rejected association counts the A-ASSOCIATE-RJ it sent', async () => {
  const sidecar = await startSidecar({ upstream: { host: '127.0.0.1', port: 9 }, calledAETitles: ['PACS'], peers: [{ name: 'modality', aeTitles: ['CT01'] }] });
  try {
    const { received } = await exchange(sidecar.port, request('INTRUDER'));
    assert.equal([...received], [...rejectBytes(1, 1, 3)]);
    const audit = await sidecar.waitForAudit((r) => r.callingAETitle === 'INTRUDER');
    assert.equal(audit.bytes, { toUpstream: 0, toClient: received.length });
  } finally {
    await sidecar.stop();
  }
});

test('a port scan locks its address out: visible as a metric, a gauge and a source-blocked log record', async () => {
  const sidecar = await startSidecar({
    upstream: { host: '127.0.0.1', port: 9 },
    calledAETitles: ['PACS'],
    peers: [{ name: 'modality', aeTitles: ['CT01'] }],
    limits: { failedAttempts: { max: 2, windowSeconds: 60, blockSeconds: 300 } },
  });
  try {
    // What nmap -sV sends to an unknown port: an HTTP request, then a bare connection closed.
    await exchange(sidecar.port, Buffer.from('GET / HTTP/1.0\r\n\r\n'));
    await exchange(sidecar.port, Buffer.from('\r\n\r\n'));
    const blocked = await sidecar.waitForLog((r) => r.event === 'source-blocked');
    assert.is(blocked.level, 'warn');
    assert.match(blocked.msg, /source address 127\.0\.0\.1 blocked for 300 s after 2 refused connections within 60 s/);
    const metrics = await sidecar.metrics();
    assert.match(metrics, /dicomguard_source_blocks_total 1/);
    assert.match(metrics, /dicomguard_blocked_sources 1/);
    // The modality behind that address now gets (2,3,1) until the block ends.
    const { received } = await exchange(sidecar.port, request('CT01'));
    assert.equal([...received], [...rejectBytes(2, 3, 1)]);
  } finally {
    await sidecar.stop();
  }
});

test('a reset from the PACS is noticed at once, not at the idle timeout', async () => {
  // A PACS that accepts the TCP connection and the association, then resets it.
  const orthanc = await startOrthanc({ aeTitle: 'PACS' });
  const tripwire = await startTripwire({ host: '127.0.0.1', port: orthanc.dicomPort });
  const sidecar = await startSidecar({ upstream: { host: '127.0.0.1', port: tripwire.port }, calledAETitles: ['PACS'], peers: [{ name: 'modality', aeTitles: ['CT01'] }], limits: { idleTimeoutSeconds: 600 } });
  const client = connect({ host: '127.0.0.1', port: sidecar.port });
  try {
    const received: Buffer[] = [];
    client.on('data', (chunk: Buffer) => received.push(chunk));
    client.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.write(request('CT01'));
    await waitFor('the A-ASSOCIATE-AC', () => received.length > 0, 10_000);
    const started = Date.now();
    // The tripwire's socket towards the sidecar is reset, as a crashing PACS host would.
    await sleep(100);
    await tripwire.resetAll();
    await Promise.race([closed, sleep(10_000)]);
    assert.ok(Date.now() - started < 5_000, 'closed within seconds');
    const audit = await sidecar.waitForAudit((r) => r.callingAETitle === 'CT01');
    assert.ok(audit.ended === 'upstream-reset' || audit.ended === 'upstream-closed', audit.ended);
    assert.match(audit.why ?? '', /PACS/);
  } finally {
    client.destroy();
    await sidecar.stop();
    await tripwire.close();
    await orthanc.stop();
  }
});

test.run();
