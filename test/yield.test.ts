// The cooperative yielder's clock is shared: loops that each run shorter than the interval, one
// after another (the refined start's k-means per subsample), still yield once the interval has
// passed since any of them last did.
import { describe, it, expect, vi, afterEach } from 'vitest';
import { createYielder } from '../src/util/yield.js';

afterEach(() => vi.restoreAllMocks());

describe('createYielder', () => {
  it('measures the interval from the last yield of any yielder, not from its own creation', async () => {
    let now = Date.now() + 1e9;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    // Synchronize the shared clock: a yielder that yields now.
    now += 1e6;
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

  it('checks the signal when it yields', async () => {
    let now = Date.now() + 2e9;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const ac = new AbortController();
    const y = createYielder(ac.signal);
    now += 1e6;
    ac.abort();
    await expect(y()).rejects.toThrow(/abort/i);
  });
});
