// Parsing and validating a SidecarConfig document. Pure: text in, config or error out.
// Reading the file and watching it for changes is the proxy's job (config/watch.ts).
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { sidecarConfigSchema, type SidecarConfig } from './schema.ts';
import { ConfigError } from './error.ts';

export { ConfigError } from './error.ts';

/** "peers[0].ipBlocks[1].cidr", the way a person finds it in the YAML. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(document)';
}

export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    if (issue.code === 'invalid_type' && issue.input === undefined) message = 'required';
    return `${fieldPath(issue.path)}: ${message}`;
  });
}

/** Parse YAML (or JSON) text into a validated config with defaults filled in. */
export function parseSidecarConfig(text: string, source = '(inline)'): SidecarConfig {
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    const detail = error instanceof YAMLParseError ? error.message.split('\n')[0] : String(error);
    throw new ConfigError(source, [`not valid YAML: ${detail}`]);
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(source, ['(document): expected a mapping with apiVersion: dicomguard.io/v1alpha1 and kind: SidecarConfig']);
  }
  const result = sidecarConfigSchema.safeParse(document);
  if (!result.success) throw new ConfigError(source, describeIssues(result.error.issues));
  return result.data;
}
