// Structural defaulting, as the API server applies it on every read and write: a missing
// field with a default gets it, then the defaults inside it. The operator reads policies
// that are defaulted already; this is for policies that did not come from the API server
// (test fixtures, a manifest rendered offline).
import type { StructuralSchema } from './structural.ts';
import { openAPIV3Schema, type DicomAccessPolicy, type DicomAccessPolicyInput, type DicomAccessPolicySpec, type DicomAccessPolicySpecInput } from './v1alpha1.ts';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function applyDefaults(schema: StructuralSchema, value: unknown): unknown {
  if (schema.type === 'array' && Array.isArray(value)) return schema.items ? value.map((item) => applyDefaults(schema.items!, item)) : value;
  if (schema.type !== 'object' || !isObject(value)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    if (out[name] === undefined && child.default !== undefined) out[name] = structuredClone(child.default);
    if (out[name] !== undefined) out[name] = applyDefaults(child, out[name]);
  }
  if (schema.additionalProperties) {
    for (const [name, item] of Object.entries(out)) out[name] = applyDefaults(schema.additionalProperties, item);
  }
  return out;
}

/** A spec as written, with the CRD's defaults filled in (what the API server would store). */
export function withDefaults(spec: DicomAccessPolicySpecInput): DicomAccessPolicySpec {
  // The walk follows the schema the types are computed from, so the result has the stored type.
  return applyDefaults(openAPIV3Schema.properties.spec, spec) as DicomAccessPolicySpec;
}

/**
 * A manifest as the API server would hand it back: defaults filled in, and the metadata
 * the server sets (for tests and for rendering a manifest offline).
 */
export function asStored(
  manifest: DicomAccessPolicyInput,
  server: { uid: string; generation?: number; creationTimestamp: string; namespace?: string },
): DicomAccessPolicy {
  return {
    apiVersion: manifest.apiVersion,
    kind: manifest.kind,
    metadata: {
      ...manifest.metadata,
      namespace: manifest.metadata.namespace ?? server.namespace ?? 'default',
      uid: server.uid,
      generation: server.generation ?? 1,
      creationTimestamp: server.creationTimestamp,
    },
    spec: withDefaults(manifest.spec),
  };
}
