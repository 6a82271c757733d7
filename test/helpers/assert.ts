// Numeric assertions shared by the tests.
import assert from 'node:assert/strict';

/** Largest |a-b| / max(|b|, floor) over all elements; throws naming the worst element if above tol. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = 'values', floor = 1e-3): number {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} differs from expected ${expected.length}`);
  let worst = 0, at = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (e === a) continue;
    const err = Math.abs(a - e) / Math.max(Math.abs(e), floor);
    if (!(err <= worst)) { worst = err; at = i; }
  }
  if (!(worst <= tol)) assert.fail(`${what}: relative error ${worst.toExponential(2)} > ${tol} at [${at}]: got ${actual[at]}, expected ${expected[at]}`);
  return worst;
}
