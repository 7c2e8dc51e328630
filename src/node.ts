/**
 * webgmm's Node entry: everything the browser-safe root entry exports. File I/O and Dawn device
 * acquisition join it here, so that the root entry never reaches a `node:` import.
 */
export * from './index.js';
