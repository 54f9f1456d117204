// "Did you mean …?" for configuration keys, flags and environment variables:
// a typo in a key must fail loudly with the intended name, not be ignored.

/** Levenshtein distance, bounded by the lengths of the two strings (both short names). */
export function editDistance(a: string, b: string): number {
  const la = a.length;
  const lb = b.length;
  let prev = new Array<number>(lb + 1);
  let cur = new Array<number>(lb + 1);
  for (let j = 0; j <= lb; j++) prev[j] = j;
  for (let i = 1; i <= la; i++) {
    cur[0] = i;
    for (let j = 1; j <= lb; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[lb]!;
}

/**
 * The closest candidate to `input`, if it is close enough to be a typo:
 * case-insensitive equality, or an edit distance of at most a third of the length (min 1, max 3).
 */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const lower = input.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === lower ? 0 : editDistance(lower, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  const allowed = Math.min(3, Math.max(1, Math.floor(input.length / 3)));
  return bestD <= allowed ? best : undefined;
}
