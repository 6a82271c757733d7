// The error any layer throws for bad input (a flag, a file, a field): its message is one line that
// names the problem, and the CLI prints it as it is and exits 2. Anything else is a bug.

export class InputError extends Error {
  override name = 'InputError';
}

/** Node's filesystem errors, said with the path and the likely cause instead of raw errno text. */
export function describeFsError(err: unknown, action: string, path: string): InputError | unknown {
  const code = (err as { code?: string } | null)?.code;
  const why: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EROFS: 'the filesystem is read-only',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOTDIR: 'a part of the path is a file, not a directory',
    EISDIR: 'it is a directory',
    EDQUOT: 'the disk quota is exhausted',
    EEXIST: 'it already exists',
  };
  return code && why[code] ? new InputError(`cannot ${action} ${path}: ${why[code]} (${code})`) : err;
}

/** Runs fn, turning filesystem errors into InputErrors that name the action and the path. */
export async function withFsContext<T>(action: string, path: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw describeFsError(err, action, path);
  }
}
