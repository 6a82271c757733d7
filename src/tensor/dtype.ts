// The three dtypes tlm knows, and the typed arrays that hold them.

export type DType = 'float32' | 'int32' | 'bool';
export type TypedArray = Float32Array | Int32Array | Uint8Array;
export type TypedArrayFor<D extends DType> = D extends 'float32' ? Float32Array : D extends 'int32' ? Int32Array : Uint8Array;

export const DTYPES: readonly DType[] = ['float32', 'int32', 'bool'];

export function bytesPerElement(dtype: DType): number {
  return dtype === 'bool' ? 1 : 4;
}

export function arrayType(dtype: DType): Float32ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor {
  switch (dtype) {
    case 'float32': return Float32Array;
    case 'int32': return Int32Array;
    case 'bool': return Uint8Array;
  }
}

export function assertDType(dtype: string): DType {
  if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') {
    throw new Error(`unknown dtype '${dtype}': expected one of float32, int32, bool`);
  }
  return dtype;
}

/** Result dtype of arithmetic between two tensors (PyTorch's promotion, restricted to our dtypes). */
export function promote(a: DType, b: DType): DType {
  if (a === 'float32' || b === 'float32') return 'float32';
  if (a === 'int32' || b === 'int32') return 'int32';
  return 'bool';
}
