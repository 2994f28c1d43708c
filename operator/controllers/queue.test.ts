// The work queue: dedupe, one worker per key, delays, per-key backoff, the token bucket,
// shutdown. Time is a fake clock, advanced by hand.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BucketRateLimiter, ItemExponentialRateLimiter, MaxOfRateLimiter, WorkQueue, type Clock } from './queue.ts';

class FakeClock implements Clock {
  time = 0;
  #timers: { at: number; callback: () => void; id: number }[] = [];
  #next = 1;
  now = () => this.time;
  setTimeout = (callback: () => void, ms: number) => {
    const id = this.#next++;
    this.#timers.push({ at: this.time + ms, callback, id });
    return id;
  };
  clearTimeout = (handle: unknown) => {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  };
  advance(ms: number): void {
    this.time += ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= this.time).sort((a, b) => a.at - b.at)[0];
      if (!due) return;
      this.#timers = this.#timers.filter((t) => t !== due);
      due.callback();
    }
  }
  get pending(): number {
    return this.#timers.length;
  }
}

const noLimit = { when: () => 0, forget: () => {}, failures: () => 0 };

test('a key added many times is handed out once', async () => {
  const queue = new WorkQueue<string>({ clock: new FakeClock(), rateLimiter: noLimit });
  queue.add('a');
  queue.add('b');
  queue.add('a');
  assert.is(queue.length, 2);
  assert.is(await queue.get(), 'a');
  assert.is(await queue.get(), 'b');
  assert.is(queue.length, 0);
});

test('a key added while processed is handed out again after done(), never to two workers at once', async () => {
  const queue = new WorkQueue<string>({ clock: new FakeClock(), rateLimiter: noLimit });
  queue.add('a');
  const first = await queue.get();
  queue.add('a');
  queue.add('a');
  assert.is(queue.length, 0, 'not queued while a worker has it');
  let second: string | undefined;
  void queue.get().then((k) => (second = k));
  await Promise.resolve();
  assert.is(second, undefined);
  queue.done(first!);
  await Promise.resolve();
  assert.is(second, 'a', 'queued once more when the worker is done');
});

test('a waiting worker gets the next key at once', async () => {
  const queue = new WorkQueue<string>({ clock: new FakeClock(), rateLimiter: noLimit });
  const got = queue.get();
  queue.add('x');
  assert.is(await got, 'x');
});

test('addAfter: the key comes when due; the earliest of two delays wins', () => {
  const clock = new FakeClock();
  const queue = new WorkQueue<string>({ clock, rateLimiter: noLimit });
  queue.addAfter('a', 1000);
  queue.addAfter('a', 300);
  queue.addAfter('a', 5000);
  assert.is(clock.pending, 1);
  clock.advance(299);
  assert.is(queue.length, 0);
  clock.advance(1);
  assert.is(queue.length, 1);
  clock.advance(10_000);
  assert.is(queue.length, 1, 'the later delays were dropped');
});

test('per-key exponential backoff: doubles per failure, capped, forget() starts over', () => {
  const limiter = new ItemExponentialRateLimiter<string>(500, 4000);
  assert.equal([1, 2, 3, 4, 5].map(() => limiter.when('a')), [500, 1000, 2000, 4000, 4000]);
  assert.is(limiter.when('b'), 500, 'keys are separate');
  assert.is(limiter.failures('a'), 5);
  limiter.forget('a');
  assert.is(limiter.when('a'), 500);
});

test('token bucket: a burst passes, then one per 1/qps', () => {
  const clock = new FakeClock();
  const bucket = new BucketRateLimiter<string>(10, 3, clock);
  assert.equal([bucket.when('a'), bucket.when('b'), bucket.when('c')], [0, 0, 0]);
  assert.is(bucket.when('d'), 100);
  assert.is(bucket.when('e'), 200, 'each waits behind the one before');
  clock.advance(1000);
  assert.is(bucket.when('f'), 0, 'refilled');
});

test('addRateLimited: the longer of backoff and bucket; a failing key waits longer each time', () => {
  const clock = new FakeClock();
  const queue = new WorkQueue<string>({ clock, rateLimiter: new MaxOfRateLimiter(new ItemExponentialRateLimiter(100, 10_000), new BucketRateLimiter(1000, 1000, clock)) });
  queue.addRateLimited('a');
  clock.advance(99);
  assert.is(queue.length, 0);
  clock.advance(1);
  assert.is(queue.length, 1);
  queue.addRateLimited('b');
  queue.addRateLimited('b');
  assert.is(queue.failures('b'), 2);
  queue.forget('b');
  assert.is(queue.failures('b'), 0);
});

test('shutDown: queued and delayed keys are dropped, waiting workers get undefined, in-flight keys finish first', async () => {
  const clock = new FakeClock();
  const depths: number[] = [];
  const queue = new WorkQueue<string>({ clock, rateLimiter: noLimit, onDepth: (d) => depths.push(d) });
  queue.add('busy');
  const busy = await queue.get();
  queue.add('queued');
  queue.addAfter('later', 1000);
  let drained = false;
  const shutdown = queue.shutDown().then(() => (drained = true));
  assert.is(await queue.get(), undefined);
  assert.is(queue.length, 0);
  assert.is(clock.pending, 0, 'delayed keys cancelled');
  queue.add('new');
  assert.is(queue.length, 0, 'no adds after shutdown');
  await Promise.resolve();
  assert.is(drained, false, 'waits for the key in flight');
  queue.done(busy!);
  await shutdown;
  assert.ok(drained);
  assert.is(depths.at(-1), 0);
});

test.run();
