/**
 * backoffDelay is exponential backoff with full jitter: a uniform delay in
 * [0, min(max, base·2^attempt)], so that clients cut off together do not
 * come back together.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}
