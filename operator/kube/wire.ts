// Kubernetes objects in the wire format, typed by @kubernetes/client-node's models. The
// models are maintained with Kubernetes, but their generator renames fields that clash
// with TypeScript words (NetworkPolicyIngressRule `from` is `_from`) and types timestamps
// as Date; the API server reads `from` and RFC 3339 strings. Wire<T> is the model as the
// API server reads it: the operator's desired objects are checked against client-node's
// models without going through its ObjectSerializer (which drops a `from` it does not
// expect, leaving a rule open to every source).
type WireKey<K> = K extends `_${infer Name}` ? Name : K;

export type Wire<T> = T extends Date
  ? string
  : T extends readonly (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T as WireKey<K>]: Wire<T[K]> }
      : T;

/** T with the fields K present. */
export type With<T, K extends keyof T> = T & { [P in K]-?: NonNullable<T[P]> };
