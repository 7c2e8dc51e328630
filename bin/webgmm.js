#!/usr/bin/env node
// The webgmm command line; the implementation is src/cli/main.ts, compiled to dist/ by `npm ci`.
import { main } from '../dist/cli/main.js';

const code = await main(process.argv);
// Dawn's WebGPU instance keeps the event loop alive; all output has been flushed by now.
process.exit(code);
