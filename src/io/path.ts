// Path helpers for the core modules: node:path where it exists (Windows separators included), else
// the POSIX rules, which is all a browser's virtual paths need.

import type * as NodePath from 'node:path';

type PathApi = Pick<typeof NodePath, 'join' | 'dirname' | 'basename' | 'isAbsolute' | 'normalize'>;

function normalizePosix(p: string): string {
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (part !== '..' || !abs) out.push(part);
  }
  const s = (abs ? '/' : '') + out.join('/');
  return s === '' ? '.' : s;
}

const posix: PathApi = {
  join: (...parts: string[]) => normalizePosix(parts.filter((s) => s !== '').join('/')),
  dirname: (p: string) => {
    const s = p.length > 1 ? p.replace(/\/+$/, '') || '/' : p;
    const i = s.lastIndexOf('/');
    return i < 0 ? '.' : i === 0 ? '/' : s.slice(0, i).replace(/\/+$/, '') || '/';
  },
  basename: (p: string) => p.replace(/\/+$/, '').split('/').pop() ?? '',
  isAbsolute: (p: string) => p.startsWith('/'),
  normalize: normalizePosix,
};

const api: PathApi = (globalThis.process?.getBuiltinModule?.('node:path') as PathApi | undefined) ?? posix;

export const join = (...parts: string[]): string => api.join(...parts);
export const dirname = (p: string): string => api.dirname(p);
export const basename = (p: string): string => api.basename(p);
export const isAbsolute = (p: string): boolean => api.isAbsolute(p);
export const normalize = (p: string): string => api.normalize(p);
/** The POSIX rules, whatever the platform (tested against node:path.posix). */
export const posixPath = posix;
