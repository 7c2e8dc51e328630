/** Where the WebGPU backend keeps the uploaded points: `TrainOptions.dataResidency` says more. */
export const RESIDENCIES = ['auto', 'device', 'streamed'] as const;
/** `'auto'`, `'device'` (all points in GPU buffers) or `'streamed'` (uploaded chunk by chunk every pass); see `TrainOptions.dataResidency`. */
export type Residency = (typeof RESIDENCIES)[number];
