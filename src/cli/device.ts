// --device: the backend a command's tensors live on and its kernels run on. cpu is the default;
// webgpu runs on a GPU through WebGPU (Dawn, from the optional `webgpu` package, in Node).

import { lastBackendError, setBackend } from '../tensor/engine.js';
import { CliError, type FlagSpec, type FlagValues } from './args.js';

export const DEVICES = ['cpu', 'webgpu'] as const;

export const deviceFlag: FlagSpec = {
  type: 'string', default: 'cpu', choices: DEVICES,
  help: 'where tensors live and kernels run: cpu, or webgpu (a GPU through WebGPU)',
};

/**
 * Switches to the --device backend before the command makes any tensor. A device that cannot start
 * is a one-line error: for webgpu without an adapter, the backend's reason.
 */
export async function useDevice(f: FlagValues, command: string): Promise<void> {
  const device = (f.device as string | undefined) ?? 'cpu';
  if (!(DEVICES as readonly string[]).includes(device)) throw new CliError(`${command}: --device must be one of ${DEVICES.join(', ')}, got '${device}'`);
  if (await setBackend(device)) return;
  const reason = lastBackendError.split('\n')[0]!.replace(/^webgpu backend: /, '');
  if (/no GPU adapter/i.test(reason)) throw new CliError(`${command}: --device webgpu: WebGPU has no adapter here (${reason})`);
  throw new CliError(`${command}: --device ${device} could not start: ${reason}`);
}
