// WebGPU availability for tests: with WEBGMM_REQUIRE_GPU=1 (CI) a missing adapter is a failure;
// otherwise WebGPU tests skip with a visible notice.
import { acquireGpu, gpuUnavailableReason, setGpuProvider } from '../src/backends/webgpu/device.js';
import { nodeGpuProvider } from '../src/backends/webgpu/node-gpu.js';

setGpuProvider(nodeGpuProvider);
const handle = await acquireGpu();
export const GPU_AVAILABLE = handle !== null;
export const GPU_ADAPTER = handle?.adapter ?? '';

if (!handle) {
  const reason = gpuUnavailableReason();
  if (process.env.WEBGMM_REQUIRE_GPU === '1') {
    throw new Error(`WEBGMM_REQUIRE_GPU=1 but no WebGPU adapter is available: ${reason}`);
  }
  console.warn(`\n*** WebGPU tests SKIPPED: ${reason}. Set WEBGMM_REQUIRE_GPU=1 to make this a failure. ***\n`);
} else {
  console.log(`WebGPU tests run on: ${handle.adapter}`);
}
