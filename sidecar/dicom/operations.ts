// DIMSE operations (PS3.7 section 9 and 10, command field values in Annex E) and which
// of them each SOP class admits, and in which role (PS3.4). This is the knowledge the
// relay needs to hold a peer to what its presentation contexts were negotiated for: a
// PACS runs whatever command arrives on an accepted context, whatever the context's
// abstract syntax (a C-STORE on a Verification context is stored by Orthanc).

import {
  GET_MODELS,
  MODALITY_PERFORMED_PROCEDURE_STEP,
  MODALITY_WORKLIST_FIND,
  MOVE_MODELS,
  QUERY_MODELS,
  STORAGE_COMMITMENT_PUSH,
  VERIFICATION,
  isStorageSopClass,
} from './services.ts';

/** Command Field (0000,0100) values of the requests, PS3.7 Annex E; a response is `request | 0x8000`. */
export const CommandField = {
  CStore: 0x0001,
  CGet: 0x0010,
  CFind: 0x0020,
  CMove: 0x0021,
  CEcho: 0x0030,
  NEventReport: 0x0100,
  NGet: 0x0110,
  NSet: 0x0120,
  NAction: 0x0130,
  NCreate: 0x0140,
  NDelete: 0x0150,
  /** C-CANCEL-RQ has no response (PS3.7 9.3.2.3). */
  CCancel: 0x0fff,
} as const;
export type RequestCommandField = (typeof CommandField)[keyof typeof CommandField];

export const RESPONSE_BIT = 0x8000;

const OPERATION_NAMES = new Map<number, string>([
  [CommandField.CStore, 'C-STORE'],
  [CommandField.CGet, 'C-GET'],
  [CommandField.CFind, 'C-FIND'],
  [CommandField.CMove, 'C-MOVE'],
  [CommandField.CEcho, 'C-ECHO'],
  [CommandField.NEventReport, 'N-EVENT-REPORT'],
  [CommandField.NGet, 'N-GET'],
  [CommandField.NSet, 'N-SET'],
  [CommandField.NAction, 'N-ACTION'],
  [CommandField.NCreate, 'N-CREATE'],
  [CommandField.NDelete, 'N-DELETE'],
  [CommandField.CCancel, 'C-CANCEL'],
]);

/** A command field as DIMSE names it ("C-STORE-RQ", "C-FIND-RSP"), or undefined for a value PS3.7 does not define. */
export function commandName(commandField: number): string | undefined {
  const isResponse = (commandField & RESPONSE_BIT) !== 0;
  const operation = OPERATION_NAMES.get(commandField & ~RESPONSE_BIT);
  if (operation === undefined || (isResponse && commandField === (CommandField.CCancel | RESPONSE_BIT))) return undefined;
  return `${operation}-${isResponse ? 'RSP' : 'RQ'}`;
}

/** Who invokes an operation: the SCU of the SOP class, or (notifications) its SCP. */
export type Invoker = 'scu' | 'scp';

export interface Operation {
  request: RequestCommandField;
  invokedBy: Invoker;
}

const scu = (...requests: RequestCommandField[]): Operation[] => requests.map((request) => ({ request, invokedBy: 'scu' }));

// PS3.4 per service class: the DIMSE services each SOP class is built from.
const VERIFICATION_OPERATIONS = scu(CommandField.CEcho); // Annex A.4
const STORAGE_OPERATIONS = scu(CommandField.CStore); // Annex B.2.2
const FIND_OPERATIONS = scu(CommandField.CFind, CommandField.CCancel); // Annex C.4.1, K.4
const MOVE_OPERATIONS = scu(CommandField.CMove, CommandField.CCancel); // Annex C.4.2
const GET_OPERATIONS = scu(CommandField.CGet, CommandField.CCancel); // Annex C.4.3
const MPPS_OPERATIONS = scu(CommandField.NCreate, CommandField.NSet); // Annex F.7.2
// Annex J.3.2: the SCU asks with N-ACTION; the SCP answers with N-EVENT-REPORT, on this
// association while it lasts (J.3.3).
const STORAGE_COMMITMENT_OPERATIONS: Operation[] = [...scu(CommandField.NAction), { request: CommandField.NEventReport, invokedBy: 'scp' }];
// A SOP class the tables below do not know (a private one, or one a peer lists by UID):
// any operation, but still only the SCU invokes requests other than notifications, and the
// command's SOP class must be the context's own (see `sopClassFits`).
const ANY_OPERATION: Operation[] = [
  ...scu(
    CommandField.CStore,
    CommandField.CGet,
    CommandField.CFind,
    CommandField.CMove,
    CommandField.CEcho,
    CommandField.NGet,
    CommandField.NSet,
    CommandField.NAction,
    CommandField.NCreate,
    CommandField.NDelete,
    CommandField.CCancel,
  ),
  { request: CommandField.NEventReport, invokedBy: 'scp' },
];

/** The operations a presentation context for `abstractSyntax` carries (PS3.4). */
export function operationsOf(abstractSyntax: string): readonly Operation[] {
  if (abstractSyntax === VERIFICATION) return VERIFICATION_OPERATIONS;
  if (isStorageSopClass(abstractSyntax)) return STORAGE_OPERATIONS;
  if (QUERY_MODELS.has(abstractSyntax) || abstractSyntax === MODALITY_WORKLIST_FIND) return FIND_OPERATIONS;
  if (MOVE_MODELS.has(abstractSyntax)) return MOVE_OPERATIONS;
  if (GET_MODELS.has(abstractSyntax)) return GET_OPERATIONS;
  if (abstractSyntax === MODALITY_PERFORMED_PROCEDURE_STEP) return MPPS_OPERATIONS;
  if (abstractSyntax === STORAGE_COMMITMENT_PUSH) return STORAGE_COMMITMENT_OPERATIONS;
  return ANY_OPERATION;
}

/**
 * Whether a request's SOP class (Affected or Requested SOP Class UID) fits the context it
 * travels on. It is the context's abstract syntax (PS3.7 9.1: the SOP class of the
 * operation is what the context was negotiated for), except that a storage context may
 * carry an instance of a related specialised storage SOP class (PS3.4 B.3.1.4, PS3.7
 * D.3.3.6): both must then be storage SOP classes.
 */
export function sopClassFits(sopClass: string, abstractSyntax: string): boolean {
  return sopClass === abstractSyntax || (isStorageSopClass(sopClass) && isStorageSopClass(abstractSyntax));
}
