#!/usr/bin/env node
// The webgmm command line; the implementation is src/cli/main.ts, compiled to dist/ by `npm ci`.
import { main } from '../dist/cli/main.js';

const code = await main(process.argv);
if (code >= 128) {
  // Stopped by a signal: work the stop interrupted may still run in the GPU driver (lavapipe
  // compiling a shader), and process.exit() now tears its thread down mid-compile (a segfault,
  // exit 139, in ~1 of 30 Ctrl-Cs on a cold shader cache). Node exits by itself once that work is
  // done; anything else still holding the event loop is ended after a short wait.
  process.exitCode = code;
  setTimeout(() => process.exit(code), 2000).unref();
} else {
  // All output has been flushed by now.
  process.exit(code);
}
