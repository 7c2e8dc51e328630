/** Where the WebGPU backend keeps the uploaded points: `TrainOptions.dataResidency` says more. */
export const RESIDENCIES = ['auto', 'device', 'streamed'] as const;
export type Residency = (typeof RESIDENCIES)[number];
