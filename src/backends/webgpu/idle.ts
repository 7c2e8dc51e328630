/**
 * The public face of device.ts's gpuIdle, in a module of its own: device.ts references WebGPU's
 * types (which need the DOM library), and the published declarations of the root entry must not.
 */
import { gpuIdle as deviceIdle } from './device.js';

/**
 * Resolves once the GPU work that aborted trainings left running on the shared device (a build, a
 * timed pass) has ended and the device's queue is idle; at once where no device was asked for. An
 * abort rejects `train()` at once, while such work may still run in the driver for seconds (a
 * shader's first compilation); Dawn aborts the process when a thread ends — `process.exit()`, a
 * worker's `terminate()` — with one of its operations pending. Await this before ending one after
 * an abort (a process that simply runs out of work waits by itself).
 */
export function gpuIdle(): Promise<void> {
  return deviceIdle();
}
