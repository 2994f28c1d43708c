// The API's names, apart from its schema (v1alpha1.ts): what the API client, the
// resources table and the sidecar's Events need, without loading the schema itself.
export const GROUP = 'dicomguard.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;
export const KIND = 'DicomAccessPolicy';
export const PLURAL = 'dicomaccesspolicies';
export const SINGULAR = 'dicomaccesspolicy';
export const CRD_NAME = `${PLURAL}.${GROUP}`;
