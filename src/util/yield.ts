/**
 * Cooperative scheduling for long synchronous loops (CPU E-step, k-means): they call `maybeYield`
 * between blocks so that timers, progress rendering and `AbortSignal` events get to run.
 */
import { throwIfAborted } from '../errors.js';

const macrotask: () => Promise<void> =
  typeof setImmediate === 'function'
    ? () => new Promise((resolve) => setImmediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * When any yielder last yielded, on the monotonic clock (a wall clock stepped back an hour would
 * stop every loop yielding for that hour). Shared, not per yielder: training runs many short loops
 * in a row (the refined start's k-means on each subsample, the wider search's refits), each shorter
 * than the interval, and a clock per loop let a run of 400 of them hold the event loop for 3.7 s.
 */
let lastYield = performance.now();

/** Returns a function that yields to the event loop once `intervalMs` have passed since any yielder last did, then checks `signal`. */
export function createYielder(signal: AbortSignal | undefined, intervalMs = 25): () => Promise<void> | undefined {
  return () => {
    if (performance.now() - lastYield < intervalMs) return undefined;
    return macrotask().then(() => {
      lastYield = performance.now();
      throwIfAborted(signal);
    });
  };
}
