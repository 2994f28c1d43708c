import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FailedAttempts } from './failed-attempts.ts';

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (seconds: number) => (t += seconds * 1000) };
}

test('blocks after max refusals within the window, for blockSeconds', () => {
  const c = clock();
  const tracker = new FailedAttempts({ max: 3, windowSeconds: 60, blockSeconds: 300 }, c.now);
  assert.is(tracker.recordRefusal('10.0.0.1'), false);
  assert.is(tracker.recordRefusal('10.0.0.1'), false);
  assert.not.ok(tracker.isBlocked('10.0.0.1'));
  assert.is(tracker.recordRefusal('10.0.0.1'), true);
  assert.ok(tracker.isBlocked('10.0.0.1'));
  assert.not.ok(tracker.isBlocked('10.0.0.2'), 'other addresses are not affected');
  c.advance(299);
  assert.ok(tracker.isBlocked('10.0.0.1'));
  c.advance(2);
  assert.not.ok(tracker.isBlocked('10.0.0.1'), 'the block ends after blockSeconds');
});

test('refusals older than the window do not count', () => {
  const c = clock();
  const tracker = new FailedAttempts({ max: 3, windowSeconds: 60, blockSeconds: 300 }, c.now);
  tracker.recordRefusal('10.0.0.1');
  tracker.recordRefusal('10.0.0.1');
  c.advance(61);
  assert.is(tracker.recordRefusal('10.0.0.1'), false);
  assert.not.ok(tracker.isBlocked('10.0.0.1'));
  assert.is(tracker.recordRefusal('10.0.0.1'), false);
  assert.is(tracker.recordRefusal('10.0.0.1'), true);
});

test('refusals while blocked do not extend or restart the block', () => {
  const c = clock();
  const tracker = new FailedAttempts({ max: 1, windowSeconds: 60, blockSeconds: 10 }, c.now);
  assert.is(tracker.recordRefusal('a'), true);
  c.advance(5);
  assert.is(tracker.recordRefusal('a'), false);
  c.advance(6);
  assert.not.ok(tracker.isBlocked('a'));
  assert.is(tracker.blockedCount, 0);
});

test('memory stays bounded under an address sweep', () => {
  const c = clock();
  const tracker = new FailedAttempts({ max: 5, windowSeconds: 60, blockSeconds: 300 }, c.now);
  for (let i = 0; i < 120_000; i++) tracker.recordRefusal(`addr-${i}`);
  const size = (tracker as unknown as { entries: Map<string, unknown> }).entries.size;
  assert.ok(size <= 100_000, `tracked ${size}`);
});

test.run();
