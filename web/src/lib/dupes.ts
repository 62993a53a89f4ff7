/** Search words for a pre-save duplicate check: the title's phrases (split on punctuation), up to three,
 * each cut to its first four characters so a rewording still matches the ledger's substring search. */
export function searchWords(title: string): string[] {
  const parts = title
    .split(/[\s,，。.;；:：!！?？、()（）\[\]【】"“”'‘’/\\-]+/)
    .map((p) => p.trim())
    .filter((p) => p.length >= 2)
  const words = parts.map((p) => p.slice(0, 4))
  return [...new Set(words)].slice(0, 3)
}
