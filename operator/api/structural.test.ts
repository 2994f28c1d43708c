// FromSchema maps a structural schema to the type of what it admits. Most of these checks
// are made by the compiler (tsc --noEmit runs over test files): an assignment that must
// fail carries @ts-expect-error, so the file stops compiling when the mapping changes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FromSchema, StructuralSchema } from './structural.ts';
import type { DicomAccessPolicySpec, DicomAccessPolicySpecInput } from './v1alpha1.ts';

const _example = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', maxLength: 10 },
    mode: { type: 'string', enum: ['On', 'Off'], default: 'Off' },
    count: { type: 'integer' },
    tags: { type: 'array', items: { type: 'string' } },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    nested: { type: 'object', default: {}, properties: { enabled: { type: 'boolean', default: true } } },
  },
} as const satisfies StructuralSchema;

type Stored = FromSchema<typeof _example>;
type Written = FromSchema<typeof _example, 'written'>;

test('required and defaulted fields are present when stored; only required ones when written', () => {
  const stored: Stored = { name: 'a', mode: 'On', nested: { enabled: false } };
  const written: Written = { name: 'a' };
  // @ts-expect-error a stored object has its defaults
  const missingDefault: Stored = { name: 'a', nested: { enabled: true } };
  // @ts-expect-error the required field may not be left out
  const missingRequired: Written = { mode: 'On' };
  // @ts-expect-error an enum admits its values only
  const badEnum: Written = { name: 'a', mode: 'Maybe' };
  const full: Written = { name: 'a', count: 1, tags: ['x'], labels: { k: 'v' }, nested: {} };
  assert.ok(stored && written && missingDefault && missingRequired && badEnum && full);
});

test('the policy types follow the CRD schema', () => {
  const spec: DicomAccessPolicySpecInput = { selector: { matchLabels: { app: 'orthanc' } }, calledAETitles: ['PACS'] };
  const mode: DicomAccessPolicySpec['identity']['mode'] = 'Required';
  const port: DicomAccessPolicySpec['listen']['port'] = 11112;
  // @ts-expect-error tls.mode has three values
  const badTls: DicomAccessPolicySpec['tls']['mode'] = 'Strict';
  // @ts-expect-error calledAETitles is required
  const noTitles: DicomAccessPolicySpecInput = { selector: {} };
  assert.ok(spec && mode && port && badTls && noTitles);
});

test.run();
