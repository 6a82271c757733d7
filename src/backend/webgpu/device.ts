// Finding a GPUDevice: the browser's navigator.gpu, or in Node the optional `webgpu` package (Dawn).
// The package is imported here, inside an async function, so that loading tlm never needs it.

/** The object Dawn's create() returns. Dawn aborts the process if it is collected while a device
 *  lives, so it stays referenced from module scope for the whole process. */
let dawnRoot: GPU | null = null;
const DAWN_PACKAGE = 'webgpu';

export interface AcquiredDevice {
  device: GPUDevice;
  /** A one-line description of the adapter, for logs and test output. */
  adapter: string;
}

async function gpuEntry(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (dawnRoot !== null) return dawnRoot;
  let mod: { create(options: string[]): GPU };
  try {
    // A variable specifier: browser bundles must not pull in the Node package (browsers have navigator.gpu).
    mod = await import(/* @vite-ignore */ DAWN_PACKAGE) as typeof mod;
  } catch (err) {
    throw new Error(`webgpu backend: the optional package 'webgpu' (Dawn for Node) could not be loaded ` +
      `(${err instanceof Error ? err.message.split('\n')[0] : String(err)}); install it with 'npm install webgpu'`);
  }
  // Dawn writes per-user runtime files; without XDG_RUNTIME_DIR its Vulkan path fails on some systems.
  const env = globalThis.process?.env;
  if (env && !env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = '/tmp';
  dawnRoot = mod.create([]);
  return dawnRoot;
}

/** Limits worth raising above WebGPU's defaults when the adapter allows (bigger tensors, matmul tiles). */
const WANTED_LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY'] as const;

export async function acquireDevice(): Promise<AcquiredDevice> {
  const gpu = await gpuEntry();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) {
    throw new Error('webgpu backend: no GPU adapter found. On Linux without a GPU, install Mesa\'s software ' +
      'Vulkan driver (llvmpipe) from bookworm-backports: apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1 ' +
      '(bookworm\'s own Mesa 22 is refused by Dawn)');
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredLimits });
  const info = (adapter as unknown as { info: { vendor: string; architecture: string; device: string; description: string } }).info;
  const adapterName = [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' / ') || 'unknown adapter';
  return { device, adapter: adapterName };
}
