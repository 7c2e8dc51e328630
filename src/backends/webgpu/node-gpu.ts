/**
 * Dawn's WebGPU for Node (the `webgpu` package), loaded on first use.
 *
 * The object `create()` returns owns Dawn's instance: if it is garbage-collected while a device
 * lives, the process segfaults inside Dawn's event processing. It is therefore kept in a module
 * variable for the life of the process.
 */
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { GpuProvider } from './device.js';

/**
 * Stands in for Dawn where Linux has no Vulkan driver at all: it finds no adapter, as Dawn would,
 * without Dawn's own warnings on stderr ("vkCreateInstance: Found no drivers!" and a source
 * location), which every `train` on such a machine printed.
 */
const NO_ADAPTER = { requestAdapter: async () => null } as unknown as GPU;

let dawn: GPU | undefined;
let loading: Promise<GPU | undefined> | undefined;

export const nodeGpuProvider: GpuProvider = () => {
  if (dawn) return Promise.resolve(dawn);
  loading ??= (async () => {
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    if (process.platform === 'linux' && !vulkanDriverListed()) return NO_ADAPTER;
    try {
      const { create, globals } = await import('webgpu');
      // GPUBufferUsage, GPUMapMode, … as globals, as in a browser.
      for (const [name, value] of Object.entries(globals as Record<string, unknown>)) {
        if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
      }
      dawn = create([]);
      return dawn;
    } catch {
      return undefined;
    }
  })();
  return loading;
};

/**
 * Whether the Vulkan loader could find any driver (ICD) manifest: true when an environment variable
 * names drivers (the loader then decides) or any of its default manifest folders holds a .json file.
 * Conservative: anything unusual counts as "maybe", and Dawn is asked.
 */
function vulkanDriverListed(): boolean {
  const env = process.env;
  if (env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES || env.VK_ADD_DRIVER_FILES) return true;
  const home = env.HOME || homedir();
  const config = [env.XDG_CONFIG_HOME || join(home, '.config'), ...(env.XDG_CONFIG_DIRS || '/etc/xdg').split(':'), '/usr/local/etc', '/etc'];
  const data = [env.XDG_DATA_HOME || join(home, '.local/share'), ...(env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':')];
  for (const base of [...config, ...data]) {
    if (!base) continue;
    const dir = join(base, 'vulkan', 'icd.d');
    try {
      if (existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.json'))) return true;
    } catch {
      return true;
    }
  }
  return false;
}
