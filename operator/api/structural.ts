// The subset of OpenAPI v3 that a Kubernetes structural schema uses, and the TypeScript
// type of the objects such a schema admits. The CRD's openAPIV3Schema is written once as
// a typed const (api/v1alpha1.ts); the operator's types are computed from it here, so the
// two cannot drift apart.
//
// Structural schemas (Kubernetes "Specifying a structural schema"): every node has a
// type, object nodes list their properties or are maps (additionalProperties), no
// additionalProperties next to properties, x-kubernetes-preserve-unknown-fields only where
// a subtree is free-form. That is narrow enough that the type mapping is a page long.

/** One x-kubernetes-validations entry (apiextensions.k8s.io/v1 ValidationRule). */
export interface ValidationRule {
  readonly rule: string;
  readonly message?: string;
  readonly messageExpression?: string;
  /** A path relative to the node the rule sits on, e.g. ".issuerRef" or ".peers". */
  readonly fieldPath?: string;
  readonly reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export interface StructuralSchema {
  readonly type: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly description?: string;
  readonly properties?: Readonly<Record<string, StructuralSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: StructuralSchema;
  readonly items?: StructuralSchema;
  readonly enum?: readonly (string | number)[];
  readonly default?: unknown;
  readonly format?: string;
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minProperties?: number;
  readonly maxProperties?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly 'x-kubernetes-validations'?: readonly ValidationRule[];
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly 'x-kubernetes-map-type'?: 'atomic' | 'granular';
  readonly 'x-kubernetes-preserve-unknown-fields'?: true;
}

/**
 * "written": what a person may write (fields with a default are optional).
 * "stored": what the API server hands back after defaulting (fields with a default are
 * always present), which is what the operator reads.
 */
export type SchemaView = 'written' | 'stored';

type RequiredNames<S> = S extends { readonly required: readonly (infer K)[] } ? K : never;
type DefaultedNames<P> = { [K in keyof P]: P[K] extends { readonly default: unknown } ? K : never }[keyof P];
type PresentNames<S, P, V extends SchemaView> = RequiredNames<S> | (V extends 'stored' ? DefaultedNames<P> : never);

type Flatten<T> = { [K in keyof T]: T[K] } & {};

type ObjectOf<S, P, V extends SchemaView> = Flatten<
  { -readonly [K in keyof P as K extends PresentNames<S, P, V> ? K : never]: FromSchema<P[K], V> } & {
    -readonly [K in keyof P as K extends PresentNames<S, P, V> ? never : K]?: FromSchema<P[K], V>;
  }
>;

/** The TypeScript type of the values a structural schema admits. */
export type FromSchema<S, V extends SchemaView = 'stored'> = S extends { readonly enum: readonly (infer E)[] }
  ? E
  : S extends { readonly type: 'string' }
    ? string
    : S extends { readonly type: 'integer' | 'number' }
      ? number
      : S extends { readonly type: 'boolean' }
        ? boolean
        : S extends { readonly type: 'array'; readonly items: infer I }
          ? FromSchema<I, V>[]
          : S extends { readonly type: 'object'; readonly properties: infer P }
            ? ObjectOf<S, P, V>
            : S extends { readonly type: 'object'; readonly additionalProperties: infer A }
              ? Record<string, FromSchema<A, V>>
              : S extends { readonly type: 'object'; readonly 'x-kubernetes-preserve-unknown-fields': true }
                ? Record<string, unknown>
                : never;
