// Links this package's own `webgmm` bin into node_modules/.bin, so that `npx webgmm …` runs the
// checkout's CLI after `npm ci` (npm links the bins of dependencies only, not the project's own).
import { mkdirSync, rmSync, symlinkSync, chmodSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, 'node_modules', '.bin');
const target = join(root, 'bin', 'webgmm.js');
mkdirSync(binDir, { recursive: true });
rmSync(join(binDir, 'webgmm'), { force: true });
symlinkSync(relative(binDir, target), join(binDir, 'webgmm'));
chmodSync(target, 0o755);
