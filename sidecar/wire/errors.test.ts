import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PduError } from './errors.ts';
import { AbortReason } from './pdu.ts';

test('PduError carries the message, the offset and the A-ABORT reason, and is an Error', () => {
  const error = new PduError('presentation context item at offset 74: ID 2 is even', 74, AbortReason.InvalidPduParameterValue);
  assert.instance(error, Error);
  assert.is(error.name, 'PduError');
  assert.is(error.message, 'presentation context item at offset 74: ID 2 is even');
  assert.is(error.offset, 74);
  assert.is(error.abortReason, 6);
  assert.match(String(error.stack), /^PduError: presentation context item/);
});

test.run();
