import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Test files run one after another: several lavapipe (CPU Vulkan) devices plus the CPU
    // backend's tests in parallel oversubscribe a two-core machine by an order of magnitude.
    fileParallelism: false,
    testTimeout: 60_000,
  },
});
