// Service names a peer may be allowed, and the abstract syntaxes (SOP classes) each one
// covers (PS3.4). Presentation contexts proposing anything else are refused in the
// A-ASSOCIATE-AC with result 3, abstract-syntax-not-supported (PS3.8 Table 9-18).

export const SERVICE_NAMES = ['verification', 'storage', 'query', 'retrieve', 'worklist', 'mpps', 'storage-commitment'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export function isKnownServiceName(value: string): value is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(value);
}

// PS3.4 Annex B.5: almost every Storage SOP class lives under this root, and new ones
// keep being added there, so it is matched as a prefix. The few non-storage classes
// under the same root (Annex HH inventory, Annex II protocol approval) are excluded.
const STORAGE_ROOT = '1.2.840.10008.5.1.4.1.1.';
const NOT_STORAGE_UNDER_ROOT = new Set([
  '1.2.840.10008.5.1.4.1.1.200.4', // Protocol Approval Information Model FIND
  '1.2.840.10008.5.1.4.1.1.200.5', // ... MOVE
  '1.2.840.10008.5.1.4.1.1.200.6', // ... GET
  '1.2.840.10008.5.1.4.1.1.201.2', // Inventory FIND
  '1.2.840.10008.5.1.4.1.1.201.3', // Inventory MOVE
  '1.2.840.10008.5.1.4.1.1.201.4', // Inventory GET
  '1.2.840.10008.5.1.4.1.1.201.5', // Inventory Creation
  '1.2.840.10008.5.1.4.1.1.201.6', // Repository Query
]);
const STORAGE_ELSEWHERE = new Set([
  '1.2.840.10008.5.1.4.34.7', // RT Beams Delivery Instruction Storage
  '1.2.840.10008.5.1.4.34.10', // RT Brachy Application Setup Delivery Instruction Storage
  '1.2.840.10008.5.1.4.38.1', // Hanging Protocol Storage
  '1.2.840.10008.5.1.4.39.1', // Color Palette Storage
  '1.2.840.10008.5.1.4.43.1', // Generic Implant Template Storage
  '1.2.840.10008.5.1.4.44.1', // Implant Assembly Template Storage
  '1.2.840.10008.5.1.4.45.1', // Implant Template Group Storage
]);

// PS3.4 Annex C.6: Query/Retrieve information models.
export const QUERY_MODELS: ReadonlySet<string> = new Set([
  '1.2.840.10008.5.1.4.1.2.1.1', // Patient Root Q/R FIND
  '1.2.840.10008.5.1.4.1.2.2.1', // Study Root Q/R FIND
  '1.2.840.10008.5.1.4.1.2.3.1', // Patient/Study Only Q/R FIND (retired, still sent)
]);
// C-MOVE and C-GET models apart: C-GET returns its instances on storage contexts the
// requestor proposes with the SCP role (PS3.4 C.4.3, PS3.7 D.3.3.4), C-MOVE over a new
// association from the PACS to the move destination (PS3.4 C.4.2).
export const MOVE_MODELS: ReadonlySet<string> = new Set([
  '1.2.840.10008.5.1.4.1.2.1.2', // Patient Root Q/R MOVE
  '1.2.840.10008.5.1.4.1.2.2.2', // Study Root Q/R MOVE
  '1.2.840.10008.5.1.4.1.2.3.2', // Patient/Study Only Q/R MOVE (retired)
  '1.2.840.10008.5.1.4.1.2.4.2', // Composite Instance Root Retrieve MOVE
]);
export const GET_MODELS: ReadonlySet<string> = new Set([
  '1.2.840.10008.5.1.4.1.2.1.3', // Patient Root Q/R GET
  '1.2.840.10008.5.1.4.1.2.2.3', // Study Root Q/R GET
  '1.2.840.10008.5.1.4.1.2.3.3', // Patient/Study Only Q/R GET (retired)
  '1.2.840.10008.5.1.4.1.2.4.3', // Composite Instance Root Retrieve GET
  '1.2.840.10008.5.1.4.1.2.5.3', // Composite Instance Retrieve Without Bulk Data GET
]);

export const VERIFICATION = '1.2.840.10008.1.1'; // PS3.4 Annex A
export const MODALITY_WORKLIST_FIND = '1.2.840.10008.5.1.4.31'; // PS3.4 Annex K.6.1
export const MODALITY_PERFORMED_PROCEDURE_STEP = '1.2.840.10008.3.1.2.3.3'; // PS3.4 Annex F.7
export const STORAGE_COMMITMENT_PUSH = '1.2.840.10008.1.20.1'; // PS3.4 Annex J.3

const EXACT: Record<Exclude<ServiceName, 'storage' | 'query' | 'retrieve'>, ReadonlySet<string>> = {
  verification: new Set([VERIFICATION]),
  worklist: new Set([MODALITY_WORKLIST_FIND]),
  mpps: new Set([MODALITY_PERFORMED_PROCEDURE_STEP]),
  'storage-commitment': new Set([STORAGE_COMMITMENT_PUSH]),
};

export function isStorageSopClass(uid: string): boolean {
  return (uid.startsWith(STORAGE_ROOT) && !NOT_STORAGE_UNDER_ROOT.has(uid)) || STORAGE_ELSEWHERE.has(uid);
}

/** Whether an abstract syntax belongs to a service name or equals a listed SOP class UID. */
export function serviceCovers(service: string, abstractSyntax: string): boolean {
  switch (service) {
    case 'storage':
      return isStorageSopClass(abstractSyntax);
    case 'query':
      return QUERY_MODELS.has(abstractSyntax);
    case 'retrieve':
      return MOVE_MODELS.has(abstractSyntax) || GET_MODELS.has(abstractSyntax);
    case 'verification':
    case 'worklist':
    case 'mpps':
    case 'storage-commitment':
      return EXACT[service].has(abstractSyntax);
    default:
      return service === abstractSyntax; // a raw SOP class UID
  }
}

/** Whether any of `services` (absent: all) covers `sopClass`. */
export function servicesCover(services: readonly string[] | undefined, sopClass: string): boolean {
  return services === undefined || services.some((service) => serviceCovers(service, sopClass));
}

/**
 * Whether a peer with these services may retrieve with C-GET, and so must be able to
 * receive the instances on storage contexts it proposes with the SCP role, without being
 * allowed to store (PS3.4 C.4.3.3).
 */
export function servicesAllowGet(services: readonly string[] | undefined): boolean {
  return [...GET_MODELS].some((model) => servicesCover(services, model));
}

/** The service names an abstract syntax falls under (for logs and metrics). */
export function servicesOf(abstractSyntax: string): string[] {
  return SERVICE_NAMES.filter((name) => serviceCovers(name, abstractSyntax));
}
