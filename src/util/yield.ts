/**
 * Cooperative scheduling for long synchronous loops (CPU E-step, k-means): they call `maybeYield`
 * between blocks so that timers, progress rendering and `AbortSignal` events get to run.
 */
import { throwIfAborted } from '../errors.js';

const macrotask: () => Promise<void> =
  typeof setImmediate === 'function'
    ? () => new Promise((resolve) => setImmediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0));

/** Returns a function that yields to the event loop at most every `intervalMs`, then checks `signal`. */
export function createYielder(signal: AbortSignal | undefined, intervalMs = 25): () => Promise<void> | undefined {
  let last = Date.now();
  return () => {
    const now = Date.now();
    if (now - last < intervalMs) return undefined;
    return macrotask().then(() => {
      last = Date.now();
      throwIfAborted(signal);
    });
  };
}
