// Log-probabilities of next tokens from one row of logits, as OpenAI's `logprobs` report them:
// the model's distribution (before temperature or truncation), the chosen token's value and the
// k most likely alternatives.

export interface TokenLogprob { token: number; logprob: number }

/** log Σ exp(row), computed stably (max subtracted). */
export function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  return max + Math.log(sum);
}

/** The k highest-scoring tokens with their log-probabilities, most likely first (ties: lower id first); lse: the row's logSumExp when the caller has it. */
export function topLogprobs(row: Float32Array, k: number, lse = logSumExp(row)): TokenLogprob[] {
  k = Math.min(k, row.length);
  if (k <= 0) return [];
  // A sorted list of the best k so far: O(V·k) worst case, O(V) typically (most scores fail the first test).
  const ids: number[] = [], vals: number[] = [];
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (ids.length === k && !(v > vals[k - 1]!)) continue;
    let j = ids.length;
    while (j > 0 && vals[j - 1]! < v) j--;
    ids.splice(j, 0, i); vals.splice(j, 0, v);
    if (ids.length > k) { ids.pop(); vals.pop(); }
  }
  return ids.map((token, i) => ({ token, logprob: vals[i]! - lse }));
}
