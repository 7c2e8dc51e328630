/**
 * Picks and builds the E-step backend for one `train()` call: WebGPU when asked or, under
 * `'auto'`, when an adapter exists and the problem fits the kernels; otherwise the CPU backend.
 */
import type { EStepBackend } from './backend.js';
import { CpuBackend } from './cpu/cpu-backend.js';
import type { Dataset } from '../data.js';
import type { CovarianceType } from '../model/gaussian-mixture.js';
import { WebGmmError } from '../errors.js';
import { acquireGpu, gpuUnavailableReason } from './webgpu/device.js';
import { WebGpuBackend } from './webgpu/webgpu-backend.js';

/** Which backend runs the E-step. `'auto'`: WebGPU when an adapter exists, else the CPU. */
export type BackendChoice = 'auto' | 'webgpu' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'cpu'];

export const HOW_TO_GET_WEBGPU =
  'WebGPU needs a GPU adapter: in a browser, a WebGPU-enabled one (Chrome or Edge ≥ 113); in Node, ' +
  'the package\'s Node entry (import from "webgmm" in Node, or "webgmm/node") with a GPU driver, or on Linux ' +
  'without a GPU Mesa\'s lavapipe CPU driver (Debian 12: apt-get install -t bookworm-backports mesa-vulkan-drivers)';

export interface SelectedBackend {
  backend: EStepBackend;
  /** Adapter description when WebGPU runs. */
  adapter?: string;
  /** Why `'auto'` fell back to the CPU. */
  note?: string;
}

export async function selectBackend(
  choice: BackendChoice,
  ds: Dataset,
  weights: Float64Array | null,
  options: { k: number; covarianceType: CovarianceType; maxChunkPoints?: number | undefined },
): Promise<SelectedBackend> {
  if (choice === 'cpu') return { backend: new CpuBackend(ds, weights) };
  const why = WebGpuBackend.unsupported(ds.d, options.k, options.covarianceType);
  if (why) {
    if (choice === 'webgpu') throw new WebGmmError('UNSUPPORTED', `backend 'webgpu': ${why}; use backend 'cpu'`);
    return { backend: new CpuBackend(ds, weights), note: `using the CPU backend: ${why}` };
  }
  const handle = await acquireGpu();
  if (!handle) {
    if (choice === 'webgpu') {
      throw new WebGmmError('NO_WEBGPU', `backend 'webgpu' is unavailable: ${gpuUnavailableReason()}. ${HOW_TO_GET_WEBGPU}`);
    }
    return { backend: new CpuBackend(ds, weights), note: `using the CPU backend: ${gpuUnavailableReason()}` };
  }
  const backend = await WebGpuBackend.create(handle, ds, weights, options);
  return { backend, adapter: handle.adapter };
}
