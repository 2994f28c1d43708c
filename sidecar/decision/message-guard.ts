// The rules every DIMSE message of an accepted association is held to, in the relay.
// A PACS runs whatever command arrives on an accepted presentation context (Orthanc stores
// a C-STORE sent on a Verification context and moves studies for a C-MOVE sent on a FIND
// context), so `services` only means something if the proxy checks each message:
//   - every PDV travels on a presentation context the PACS accepted (PS3.8 9.3.5.1);
//   - fragments come in order: a command set whole, then its data set if it announced one,
//     on the same context, messages one after another (PS3.8 Annex E.2, PS3.7 6.3.1);
//   - the command is an operation of the context's SOP class (PS3.4), sent by the side
//     that holds the role for it (PS3.7 D.3.3.4), for the context's own SOP class (PS3.7 9.1);
//   - a request from the caller is for a service the peer may use, and a C-MOVE goes to a
//     destination the peer may name (peers[].moveDestinations).
// Pure: events in, a verdict out; `MessageGuard` keeps the little state the order needs.

import type { CommandSetEvent, FrameEvent, PresentationDataValueEvent } from '../wire/framer.ts';
import { readCommandSet, type CommandSet } from '../wire/command-set.ts';
import { PduError } from '../wire/errors.ts';
import { AbortReason, PduType, type AbortReasonCode } from '../wire/pdu.ts';
import { pduName } from '../wire/reader.ts';
import { CommandField, RESPONSE_BIT, commandName, operationsOf, sopClassFits, type Invoker } from '../dicom/operations.ts';
import { servicesCover, servicesOf } from '../dicom/services.ts';
import type { Negotiated, NegotiatedContext, Roles } from './negotiation.ts';

/** Which side sent a message: the association requestor (the caller) or the acceptor (the PACS). */
export type Sender = 'requestor' | 'acceptor';

/** What a peer may do beyond its negotiated contexts (from peers[] in the SidecarConfig). */
export interface MessageRules {
  peer: string;
  /** Service names and SOP class UIDs; undefined: all. */
  services: readonly string[] | undefined;
  /** C-MOVE destinations (AE titles); undefined: any. */
  moveDestinations: ReadonlySet<string> | undefined;
}

/** Stable names of the rules, for metric labels and audit records. */
export type MessageRule =
  | 'context-not-accepted'
  | 'out-of-sequence'
  | 'malformed-command'
  | 'unknown-command'
  | 'operation-not-allowed'
  | 'role-not-negotiated'
  | 'sop-class-mismatch'
  | 'service-not-allowed'
  | 'move-destination-not-allowed';

export interface MessageRefusal {
  rule: MessageRule;
  /** In words, for the log and the audit record. */
  why: string;
  /** Sent with source 2 (service provider) in the A-ABORT, PS3.8 Table 9-26. */
  abortReason: AbortReasonCode;
  presentationContextId: number;
  abstractSyntax?: string;
  /** DIMSE name ("C-STORE-RQ"), or the command field in hex when it is none. */
  command?: string;
  sopClassUid?: string;
  moveDestination?: string;
}

const WHO: Record<Sender, string> = { requestor: 'the caller', acceptor: 'the PACS' };

/** A SOP class with the service it falls under, for messages: `1.2.840.10008.1.1 (verification)`. */
function describe(uid: string): string {
  const services = servicesOf(uid);
  return services.length ? `${uid} (${services.join(', ')})` : uid;
}

function rolesOf(context: NegotiatedContext, sender: Sender): Roles {
  // The acceptor holds the roles opposite to the requestor's (PS3.7 D.3.3.4).
  return sender === 'requestor' ? context.requestor : { scu: context.requestor.scp, scp: context.requestor.scu };
}

function roleText(roles: Roles): string {
  return roles.scu && roles.scp ? 'SCU and SCP' : roles.scu ? 'SCU' : roles.scp ? 'SCP' : 'no role';
}

/**
 * Whether `command`, sent by `sender` on the accepted `context`, is one the association
 * allows; undefined when it is, else why not.
 */
export function checkCommand(context: NegotiatedContext, sender: Sender, command: CommandSet, rules: MessageRules): MessageRefusal | undefined {
  const field = command.commandField;
  const name = commandName(field);
  const sopClass = command.affectedSopClassUid ?? command.requestedSopClassUid;
  /** `C-STORE-RQ for SOP class 1.2... (storage)`: the command and what it is about. */
  const what = () => (sopClass === undefined ? name : `${name} for SOP class ${describe(sopClass)}`);
  // Words are built only for a refusal: this runs for every message of every association.
  const on = () => `on presentation context ${context.id} (${describe(context.abstractSyntax)})`;
  const refuse = (rule: MessageRule, why: string, extra: Partial<MessageRefusal> = {}): MessageRefusal => ({
    rule,
    why,
    abortReason: AbortReason.UnexpectedPduParameter,
    presentationContextId: context.id,
    abstractSyntax: context.abstractSyntax,
    ...(sopClass === undefined ? {} : { sopClassUid: sopClass }),
    command: name ?? `0x${field.toString(16).padStart(4, '0')}`,
    ...extra,
  });
  if (name === undefined) return refuse('unknown-command', `${WHO[sender]} sent command field 0x${field.toString(16).padStart(4, '0')} ${on()}, which is no DIMSE command (PS3.7 Annex E)`);

  const isResponse = (field & RESPONSE_BIT) !== 0;
  const request = field & ~RESPONSE_BIT;
  const operations = operationsOf(context.abstractSyntax);
  const operation = operations.find((o) => o.request === request);
  if (!operation) {
    const allowed = [...new Set(operations.map((o) => commandName(o.request)!.replace(/-RQ$/, '')))].join(', ');
    return refuse('operation-not-allowed', `${WHO[sender]} sent ${what()} ${on()}, a context for ${allowed} only (PS3.4)`);
  }

  // A request is sent by the role that invokes the operation, its response by the other.
  const needed: Invoker = isResponse ? (operation.invokedBy === 'scu' ? 'scp' : 'scu') : operation.invokedBy;
  const roles = rolesOf(context, sender);
  if (!roles[needed]) {
    return refuse('role-not-negotiated', `${WHO[sender]} sent ${what()} ${on()}, where it is ${roleText(roles)}; sending it takes the ${needed.toUpperCase()} role (PS3.7 D.3.3.4)`);
  }
  if (isResponse || request === CommandField.CCancel) return undefined; // responses and C-CANCEL name no SOP class of their own

  if (sopClass === undefined) {
    return refuse('malformed-command', `${WHO[sender]} sent ${name} ${on()} without an Affected or Requested SOP Class UID (PS3.7 9.3, 10.3)`, { abortReason: AbortReason.InvalidPduParameterValue });
  }
  if (!sopClassFits(sopClass, context.abstractSyntax)) {
    return refuse('sop-class-mismatch', `${WHO[sender]} sent ${what()} ${on()}`);
  }
  if (sender === 'requestor' && !servicesCover(rules.services, sopClass)) {
    return refuse('service-not-allowed', `peer ${rules.peer} sent ${what()} ${on()}; its services are ${rules.services!.join(', ')}`);
  }
  if (sender === 'requestor' && request === CommandField.CMove && rules.moveDestinations) {
    const destination = command.moveDestination ?? '';
    if (!rules.moveDestinations.has(destination)) {
      return refuse(
        'move-destination-not-allowed',
        `peer ${rules.peer} sent C-MOVE-RQ ${on()} to move destination ${JSON.stringify(destination)}; its moveDestinations are ${[...rules.moveDestinations].join(', ')}`,
        { moveDestination: destination },
      );
    }
  }
  return undefined;
}

type Expecting =
  | { what: 'command' }
  /** A command set has begun on this context and is not complete yet. */
  | { what: 'command-fragment'; context: number }
  /** The command on this context announced a data set, not complete yet. */
  | { what: 'data-set'; context: number };

/**
 * One direction of an association: follows its frame events (PduFramer) and answers each
 * with undefined or the refusal that must end the association.
 */
export class MessageGuard {
  readonly #negotiated: Negotiated;
  readonly #sender: Sender;
  readonly #rules: MessageRules;
  #expecting: Expecting = { what: 'command' };

  constructor(negotiated: Negotiated, sender: Sender, rules: MessageRules) {
    this.#negotiated = negotiated;
    this.#sender = sender;
    this.#rules = rules;
  }

  inspect(event: FrameEvent): MessageRefusal | undefined {
    switch (event.kind) {
      case 'pdu':
        return this.#pdu(event.type);
      case 'pdv':
        return this.#presentationDataValue(event);
      case 'command':
        return this.#command(event);
    }
  }

  #pdu(type: number): MessageRefusal | undefined {
    if (type === PduType.DataTransfer || this.#expecting.what === 'command') return undefined;
    // An A-ABORT may come at any time (PS3.8 9.3.8), but not into a command still held back
    // unchecked: the relay would have to pass the command's first fragments on with it.
    if (type === PduType.Abort && this.#expecting.what === 'data-set') return undefined;
    const context = this.#expecting.context;
    const incomplete = this.#expecting.what === 'command-fragment' ? 'command set' : 'data set';
    return {
      rule: 'out-of-sequence',
      why: `${WHO[this.#sender]} sent ${pduName(type as Parameters<typeof pduName>[0])} while the ${incomplete} on presentation context ${context} was incomplete (PS3.8 Annex E.2)`,
      abortReason: AbortReason.UnexpectedPdu,
      presentationContextId: context,
    };
  }

  #presentationDataValue(pdv: PresentationDataValueEvent): MessageRefusal | undefined {
    const id = pdv.presentationContextId;
    const context = this.#negotiated.accepted.get(id);
    if (!context) {
      const was = this.#negotiated.proposed.has(id) ? 'which was not accepted in the A-ASSOCIATE-AC' : 'which was never proposed';
      return {
        rule: 'context-not-accepted',
        why: `${WHO[this.#sender]} sent a ${pdv.isCommand ? 'command' : 'data set'} fragment on presentation context ${id}, ${was} (PS3.8 9.3.5.1)`,
        abortReason: AbortReason.InvalidPduParameterValue,
        presentationContextId: id,
      };
    }
    const fragment = pdv.isCommand ? 'command' : 'data set';
    const outOfSequence = (why: string): MessageRefusal => ({
      rule: 'out-of-sequence',
      why: `${WHO[this.#sender]} sent a ${fragment} fragment on presentation context ${id} ${why} (PS3.8 Annex E.2)`,
      abortReason: AbortReason.UnexpectedPduParameter,
      presentationContextId: id,
      abstractSyntax: context.abstractSyntax,
    });
    const expecting = this.#expecting;
    switch (expecting.what) {
      case 'command':
        if (!pdv.isCommand) return outOfSequence('with no command before it');
        this.#expecting = { what: 'command-fragment', context: id };
        return undefined;
      case 'command-fragment':
        if (!pdv.isCommand) return outOfSequence(`before the command set on context ${expecting.context} was complete`);
        if (id !== expecting.context) return outOfSequence(`while the command set on context ${expecting.context} was incomplete`);
        return undefined;
      case 'data-set':
        if (pdv.isCommand) return outOfSequence(`while the data set on context ${expecting.context} was incomplete`);
        if (id !== expecting.context) return outOfSequence(`while the data set of the message on context ${expecting.context} was incomplete`);
        if (pdv.isLast) this.#expecting = { what: 'command' };
        return undefined;
    }
  }

  #command(event: CommandSetEvent): MessageRefusal | undefined {
    const context = this.#negotiated.accepted.get(event.presentationContextId)!; // its PDVs passed the context check
    let command: CommandSet;
    try {
      command = readCommandSet(event.bytes);
    } catch (error) {
      if (!(error instanceof PduError)) throw error;
      return {
        rule: 'malformed-command',
        why: `${WHO[this.#sender]} sent a command set on presentation context ${context.id} that cannot be read: ${error.message}`,
        abortReason: error.abortReason,
        presentationContextId: context.id,
        abstractSyntax: context.abstractSyntax,
      };
    }
    const refusal = checkCommand(context, this.#sender, command, this.#rules);
    if (refusal) return refusal;
    this.#expecting = command.hasDataSet ? { what: 'data-set', context: context.id } : { what: 'command' };
    return undefined;
  }
}
