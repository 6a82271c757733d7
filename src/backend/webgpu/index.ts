// Registers the webgpu backend (started lazily by setBackend('webgpu')).
import { registerBackend } from '../../tensor/engine.js';

registerBackend('webgpu', async () => {
  throw new Error('webgpu backend: not implemented yet');
});
