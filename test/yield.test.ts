// The cooperative yielder's clock is shared: loops that each run shorter than the interval, one
// after another (the refined start's k-means on each subsample), still yield once the interval has
// passed since any of them last did. It is the monotonic clock: the wall clock may step back.
import { describe, it, expect, vi, afterEach } from 'vitest';
import { createYielder } from '../src/util/yield.js';

afterEach(() => vi.restoreAllMocks());

describe('createYielder', () => {
  it('measures the interval from the last yield of any yielder, not from its own creation', async () => {
    let now = performance.now() + 1e9;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    // Synchronize the shared clock: a yielder that yields now.
    await createYielder(undefined)();
    for (let run = 0; run < 5; run++) {
      // A short loop, created afresh: 10 ms of work, under the 25 ms interval on its own.
      const y = createYielder(undefined);
      now += 10;
      const p = y();
      if (run < 2) expect(p).toBeUndefined();
      else {
        // 30 ms since the last yield by then: this loop yields although it ran only 10 ms.
        expect(p).toBeInstanceOf(Promise);
        await p;
        return;
      }
    }
    expect.unreachable();
  });

  it('keeps yielding when the wall clock steps back', async () => {
    let now = performance.now() + 2e9;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    await createYielder(undefined)();
    vi.spyOn(Date, 'now').mockImplementation(() => 0); // an hour, a year back: no matter
    const y = createYielder(undefined);
    now += 30;
    expect(y()).toBeInstanceOf(Promise);
  });

  it('checks the signal when it yields', async () => {
    let now = performance.now() + 3e9;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const ac = new AbortController();
    const y = createYielder(ac.signal);
    now += 1e6;
    ac.abort();
    await expect(y()).rejects.toThrow(/abort/i);
  });
});
