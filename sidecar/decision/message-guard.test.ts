// The message guard and the negotiation it relies on: which DIMSE messages an accepted
// association carries (PS3.4 operations, PS3.7 D.3.3.4 roles, PS3.8 Annex E.2 order).

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeCommandSet } from '../wire/command-set.ts';
import type { FrameEvent } from '../wire/framer.ts';
import { PduFramer } from '../wire/framer.ts';
import { AbortReason, PduType, type AssociateAccept, type AssociateRequest, type RoleSelection } from '../wire/pdu.ts';
import { checkCommand, MessageGuard, type MessageRules, type Sender } from './message-guard.ts';
import { negotiate, requestorRoles, type NegotiatedContext } from './negotiation.ts';

const VERIFICATION = '1.2.840.10008.1.1';
const CT = '1.2.840.10008.5.1.4.1.1.2';
const MR = '1.2.840.10008.5.1.4.1.1.4';
const STUDY_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const PATIENT_FIND = '1.2.840.10008.5.1.4.1.2.1.1';
const STUDY_MOVE = '1.2.840.10008.5.1.4.1.2.2.2';
const STUDY_GET = '1.2.840.10008.5.1.4.1.2.2.3';
const COMMITMENT = '1.2.840.10008.1.20.1';
const IMPLICIT = '1.2.840.10008.1.2';

const userInformation = (roleSelections: RoleSelection[] = []) => ({ roleSelections, extendedNegotiations: [], commonExtendedNegotiations: [], unknownSubItems: [] });

function request(contexts: [number, string][], roleSelections: RoleSelection[] = []): AssociateRequest {
  return {
    type: PduType.AssociateRequest,
    protocolVersion: 1,
    calledAETitle: 'PACS',
    callingAETitle: 'VIEWER',
    applicationContext: '1.2.840.10008.3.1.1.1',
    presentationContexts: contexts.map(([id, abstractSyntax]) => ({ id, abstractSyntax, transferSyntaxes: [IMPLICIT] })),
    userInformation: userInformation(roleSelections),
  };
}

function accept(results: [number, number][], roleSelections: RoleSelection[] = []): AssociateAccept {
  return {
    type: PduType.AssociateAccept,
    protocolVersion: 1,
    calledAETitle: 'PACS',
    callingAETitle: 'VIEWER',
    applicationContext: '1.2.840.10008.3.1.1.1',
    presentationContexts: results.map(([id, result]) => ({ id, result, transferSyntax: IMPLICIT })),
    userInformation: userInformation(roleSelections),
  };
}

const role = (sopClassUid: string, scuRole: number, scpRole: number): RoleSelection => ({ sopClassUid, scuRole, scpRole });

// ---------------------------------------------------------------------------------------
const negotiation = suite('negotiation: accepted contexts and roles (PS3.7 D.3.3.4)');

negotiation('without role selection the caller is SCU only; refused and unanswered contexts are not accepted', () => {
  const negotiated = negotiate(request([[1, VERIFICATION], [3, CT], [5, STUDY_FIND]]), accept([[1, 0], [3, 3]]));
  assert.equal([...negotiated.accepted.values()], [{ id: 1, abstractSyntax: VERIFICATION, requestor: { scu: true, scp: false } }]);
  assert.equal([...negotiated.proposed], [1, 3, 5]);
});

negotiation('an AC item for a context the caller never proposed accepts nothing', () => {
  assert.is(negotiate(request([[1, VERIFICATION]]), accept([[1, 0], [7, 0]])).accepted.has(7), false);
});

negotiation('each role the caller proposed and the PACS accepted; default roles when either side leaves the item out', () => {
  assert.equal(requestorRoles(role(CT, 0, 1), role(CT, 0, 1)), { scu: false, scp: true });
  assert.equal(requestorRoles(role(CT, 1, 1), role(CT, 1, 1)), { scu: true, scp: true });
  assert.equal(requestorRoles(role(CT, 1, 1), role(CT, 0, 1)), { scu: false, scp: true });
  assert.equal(requestorRoles(role(CT, 1, 0), role(CT, 0, 0)), { scu: false, scp: false });
  assert.equal(requestorRoles(role(CT, 0, 1), undefined), { scu: true, scp: false });
  assert.equal(requestorRoles(undefined, role(CT, 0, 1)), { scu: true, scp: false });
  const negotiated = negotiate(request([[1, STUDY_GET], [3, CT]], [role(CT, 0, 1)]), accept([[1, 0], [3, 0]], [role(CT, 0, 1)]));
  assert.equal(negotiated.accepted.get(3)?.requestor, { scu: false, scp: true });
});

// ---------------------------------------------------------------------------------------
const commands = suite('checkCommand: the operation, the role, the SOP class, the services');

const text = (value: string) => Uint8Array.from(Buffer.from(value.length % 2 ? `${value}\0` : value, 'latin1'));
const us = (value: number) => Uint8Array.of(value & 0xff, value >> 8);

interface CommandFields {
  field: number;
  affected?: string;
  requested?: string;
  moveDestination?: string;
  dataSet?: boolean;
}

function commandSet({ field, affected, requested, moveDestination, dataSet = false }: CommandFields): Uint8Array {
  return writeCommandSet([
    ...(affected ? [{ tag: 0x0002, value: text(affected) }] : []),
    ...(requested ? [{ tag: 0x0003, value: text(requested) }] : []),
    { tag: 0x0100, value: us(field) },
    ...(moveDestination !== undefined ? [{ tag: 0x0600, value: text(moveDestination.padEnd(16, ' ')) }] : []),
    { tag: 0x0800, value: us(dataSet ? 0x0000 : 0x0101) },
  ]);
}

const context = (id: number, abstractSyntax: string, requestor = { scu: true, scp: false }): NegotiatedContext => ({ id, abstractSyntax, requestor });
const allServices: MessageRules = { peer: 'anyone', services: undefined, moveDestinations: undefined };
const limited: MessageRules = { peer: 'limited', services: ['verification', 'query'], moveDestinations: undefined };
const viewer: MessageRules = { peer: 'viewer', services: ['verification', 'query', 'retrieve'], moveDestinations: undefined };

function verdict(ctx: NegotiatedContext, sender: Sender, fields: CommandFields, rules: MessageRules = allServices): string {
  const command = { commandField: fields.field, hasDataSet: fields.dataSet ?? false, ...(fields.affected ? { affectedSopClassUid: fields.affected } : {}), ...(fields.requested ? { requestedSopClassUid: fields.requested } : {}), ...(fields.moveDestination !== undefined ? { moveDestination: fields.moveDestination } : {}) };
  return checkCommand(ctx, sender, command, rules)?.rule ?? 'allowed';
}

commands('the defects of issue 14: C-STORE on Verification, C-MOVE on FIND, C-FIND on storage', () => {
  assert.is(verdict(context(1, VERIFICATION), 'requestor', { field: 0x0001, affected: CT, dataSet: true }, limited), 'operation-not-allowed');
  assert.is(verdict(context(3, STUDY_FIND), 'requestor', { field: 0x0021, affected: STUDY_MOVE, moveDestination: 'DEST' }, limited), 'operation-not-allowed');
  assert.is(verdict(context(5, CT), 'requestor', { field: 0x0020, affected: CT, dataSet: true }), 'operation-not-allowed');
  const refusal = checkCommand(context(1, VERIFICATION), 'requestor', { commandField: 0x0001, affectedSopClassUid: CT, hasDataSet: true }, limited)!;
  assert.is(refusal.command, 'C-STORE-RQ');
  assert.is(refusal.abortReason, AbortReason.UnexpectedPduParameter);
  assert.is(refusal.sopClassUid, CT);
  assert.match(refusal.why, /the caller sent C-STORE-RQ for SOP class 1\.2\.840\.10008\.5\.1\.4\.1\.1\.2 \(storage\) on presentation context 1 \(1\.2\.840\.10008\.1\.1 \(verification\)\), a context for C-ECHO only/);
});

commands('requests from the role that invokes them, responses from the other', () => {
  const echo = context(1, VERIFICATION);
  assert.is(verdict(echo, 'requestor', { field: 0x0030, affected: VERIFICATION }), 'allowed');
  assert.is(verdict(echo, 'acceptor', { field: 0x8030 }), 'allowed');
  assert.is(verdict(echo, 'acceptor', { field: 0x0030, affected: VERIFICATION }), 'role-not-negotiated');
  assert.is(verdict(echo, 'requestor', { field: 0x8030 }), 'role-not-negotiated');
});

commands('C-GET: the PACS stores to the caller on a storage context where the caller is SCP; the caller may not store there', () => {
  const received = context(3, CT, { scu: false, scp: true });
  assert.is(verdict(received, 'acceptor', { field: 0x0001, affected: CT, dataSet: true }, viewer), 'allowed');
  assert.is(verdict(received, 'requestor', { field: 0x8001 }, viewer), 'allowed');
  assert.is(verdict(received, 'requestor', { field: 0x0001, affected: CT, dataSet: true }, viewer), 'role-not-negotiated');
  // Proposed and accepted as SCU too: the role is there, the service is not.
  const both = context(3, CT, { scu: true, scp: true });
  assert.is(verdict(both, 'requestor', { field: 0x0001, affected: CT, dataSet: true }, viewer), 'service-not-allowed');
  assert.is(verdict(both, 'requestor', { field: 0x0001, affected: CT, dataSet: true }, { ...viewer, services: ['storage'] }), 'allowed');
  assert.is(verdict(context(1, STUDY_GET), 'requestor', { field: 0x0010, affected: STUDY_GET, dataSet: true }, viewer), 'allowed');
});

commands('the SOP class is the context own, save a related storage class on a storage context (PS3.4 B.3.1.4)', () => {
  assert.is(verdict(context(1, STUDY_FIND), 'requestor', { field: 0x0020, affected: PATIENT_FIND, dataSet: true }), 'sop-class-mismatch');
  assert.is(verdict(context(1, CT), 'requestor', { field: 0x0001, affected: VERIFICATION, dataSet: true }), 'sop-class-mismatch');
  assert.is(verdict(context(1, CT), 'requestor', { field: 0x0001, affected: MR, dataSet: true }), 'allowed');
  // ... but the peer's services hold for the class actually sent.
  assert.is(verdict(context(1, CT), 'requestor', { field: 0x0001, affected: MR, dataSet: true }, { ...allServices, services: [CT] }), 'service-not-allowed');
  assert.is(verdict(context(1, CT), 'requestor', { field: 0x0001, dataSet: true }), 'malformed-command');
});

commands('moveDestinations: only the listed AE titles', () => {
  const mover: MessageRules = { peer: 'mover', services: undefined, moveDestinations: new Set(['DEST']) };
  const move = context(1, STUDY_MOVE);
  assert.is(verdict(move, 'requestor', { field: 0x0021, affected: STUDY_MOVE, moveDestination: 'DEST', dataSet: true }, mover), 'allowed');
  assert.is(verdict(move, 'requestor', { field: 0x0021, affected: STUDY_MOVE, moveDestination: 'ELSEWHERE', dataSet: true }, mover), 'move-destination-not-allowed');
  assert.is(verdict(move, 'requestor', { field: 0x0021, affected: STUDY_MOVE, dataSet: true }, mover), 'move-destination-not-allowed');
  assert.is(verdict(move, 'requestor', { field: 0x0021, affected: STUDY_MOVE, moveDestination: 'ELSEWHERE', dataSet: true }), 'allowed');
});

commands('C-CANCEL on FIND, MOVE and GET contexts only; command fields DIMSE does not define', () => {
  assert.is(verdict(context(1, STUDY_FIND), 'requestor', { field: 0x0fff }), 'allowed');
  assert.is(verdict(context(1, VERIFICATION), 'requestor', { field: 0x0fff }), 'operation-not-allowed');
  assert.is(verdict(context(1, VERIFICATION), 'requestor', { field: 0x1234 }), 'unknown-command');
  assert.is(verdict(context(1, STUDY_FIND), 'acceptor', { field: 0x8fff }), 'unknown-command');
});

commands('storage commitment: N-ACTION from the SCU, N-EVENT-REPORT from the SCP (PS3.4 J.3)', () => {
  const commitment = context(1, COMMITMENT);
  assert.is(verdict(commitment, 'requestor', { field: 0x0130, requested: COMMITMENT, dataSet: true }), 'allowed');
  assert.is(verdict(commitment, 'acceptor', { field: 0x0100, affected: COMMITMENT, dataSet: true }), 'allowed');
  assert.is(verdict(commitment, 'requestor', { field: 0x8100 }), 'allowed');
  assert.is(verdict(commitment, 'requestor', { field: 0x0100, affected: COMMITMENT, dataSet: true }), 'role-not-negotiated');
});

// ---------------------------------------------------------------------------------------
const sequence = suite('MessageGuard: fragments in order, on accepted contexts (PS3.8 Annex E.2)');

/** A P-DATA-TF of PDVs: [context, control (1 command, 2 last), value]. */
function pData(...values: [number, number, Uint8Array][]): Uint8Array {
  const items = values.map(([id, control, value]) => {
    const item = new Uint8Array(6 + value.length);
    new DataView(item.buffer).setUint32(0, value.length + 2);
    item[4] = id;
    item[5] = control;
    item.set(value, 6);
    return item;
  });
  const body = Buffer.concat(items);
  const pdu = new Uint8Array(6 + body.length);
  pdu[0] = 0x04;
  new DataView(pdu.buffer).setUint32(2, body.length);
  pdu.set(body, 6);
  return pdu;
}

const ECHO = commandSet({ field: 0x0030, affected: VERIFICATION });
const STORE_CT = commandSet({ field: 0x0001, affected: CT, dataSet: true });
const DATA = Uint8Array.of(1, 2, 3, 4);
const negotiated = negotiate(request([[1, VERIFICATION], [3, CT], [5, MR]]), accept([[1, 0], [3, 0], [5, 3]]));

/** Frame the bytes and let a guard judge every event; the rule of the first refusal, or 'allowed'. */
function judge(bytes: Uint8Array[], sender: Sender = 'requestor', rules: MessageRules = allServices): string {
  const framer = new PduFramer(1 << 20);
  const guard = new MessageGuard(negotiated, sender, rules);
  for (const chunk of bytes) {
    for (const event of framer.push(chunk)) {
      const refusal = guard.inspect(event);
      if (refusal) return `${refusal.rule}: ${refusal.why}`;
    }
  }
  return 'allowed';
}

sequence('messages one after another: command, data set, command', () => {
  assert.is(judge([pData([3, 3, STORE_CT]), pData([3, 0, DATA]), pData([3, 2, DATA]), pData([1, 3, ECHO])]), 'allowed');
});

sequence('a PDV on a context that was refused, or never proposed', () => {
  assert.match(judge([pData([5, 3, STORE_CT])]), /^context-not-accepted: the caller sent a command fragment on presentation context 5, which was not accepted/);
  assert.match(judge([pData([201, 3, STORE_CT])]), /^context-not-accepted: .* presentation context 201, which was never proposed/);
  assert.match(judge([pData([201, 2, DATA])], 'acceptor'), /^context-not-accepted: the PACS sent a data set fragment/);
});

sequence('data with no command before it, a command inside a data set, a data set on another context', () => {
  assert.match(judge([pData([3, 2, DATA])]), /^out-of-sequence: .* with no command before it/);
  assert.match(judge([pData([3, 3, STORE_CT]), pData([1, 3, ECHO])]), /^out-of-sequence: .*command fragment on presentation context 1 while the data set on context 3 was incomplete/);
  assert.match(judge([pData([3, 3, STORE_CT]), pData([1, 2, DATA])]), /^out-of-sequence: /);
  assert.match(judge([pData([1, 3, ECHO]), pData([1, 2, DATA])]), /^out-of-sequence: .* with no command before it/, 'C-ECHO announced no data set');
});

sequence('a command split over PDUs is judged whole; a data fragment or another context inside it is refused', () => {
  const half = STORE_CT.length >> 1;
  assert.is(judge([pData([3, 1, STORE_CT.subarray(0, half)]), pData([3, 3, STORE_CT.subarray(half)]), pData([3, 2, DATA])]), 'allowed');
  assert.match(judge([pData([3, 1, STORE_CT.subarray(0, half)]), pData([3, 2, DATA])]), /^out-of-sequence: .* before the command set on context 3 was complete/);
  assert.match(judge([pData([3, 1, STORE_CT.subarray(0, half)]), pData([1, 3, ECHO])]), /^out-of-sequence: .* while the command set on context 3 was incomplete/);
  const storeOnVerification = commandSet({ field: 0x0001, affected: CT, dataSet: true });
  assert.match(judge([pData([1, 1, storeOnVerification.subarray(0, 10)]), pData([1, 3, storeOnVerification.subarray(10)])], 'requestor', limited), /^operation-not-allowed: .*C-STORE-RQ for SOP class .* on presentation context 1/);
});

sequence('other PDUs inside a message: an A-ABORT may end a data set, nothing may interrupt a command set', () => {
  const abort = Uint8Array.of(0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0);
  const release = Uint8Array.of(0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0);
  assert.is(judge([pData([3, 3, STORE_CT]), pData([3, 0, DATA]), abort]), 'allowed');
  assert.match(judge([pData([3, 3, STORE_CT]), release]), /^out-of-sequence: the caller sent A-RELEASE-RQ while the data set on presentation context 3 was incomplete/);
  assert.match(judge([pData([3, 1, STORE_CT.subarray(0, 8)]), abort]), /^out-of-sequence: the caller sent A-ABORT while the command set/);
});

sequence('a command set that cannot be read is refused with invalid-PDU-parameter-value', () => {
  const framer = new PduFramer(1 << 20);
  const guard = new MessageGuard(negotiated, 'requestor', allServices);
  const events: FrameEvent[] = [...framer.push(pData([1, 3, Uint8Array.of(8, 0, 0x16, 0, 0, 0, 0, 0)]))];
  const refusal = events.map((event) => guard.inspect(event)).find(Boolean);
  assert.is(refusal?.rule, 'malformed-command');
  assert.is(refusal?.abortReason, AbortReason.InvalidPduParameterValue);
  assert.match(refusal!.why, /cannot be read: command set, offset 0: element \(0008,0016\) is not a command element/);
});

negotiation.run();
commands.run();
sequence.run();
