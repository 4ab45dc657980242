/** BCP 47 language tags, shared by caption tracks, audio tracks and a video's original language. */
/**
 * BCP 47 language tags: language (2–3 letters), optional script (4 letters), region (2 letters or 3 digits) and
 * variants, as players and `EXT-X-MEDIA:LANGUAGE` use them; canonicalised (`en-us` → `en-US`) through Intl.
 * Private-use and extension subtags are refused: no player labels them usefully.
 */
const BCP47 = /^[a-z]{2,3}(-[a-z]{4})?(-(?:[a-z]{2}|\d{3}))?(-(?:[a-z\d]{5,8}|\d[a-z\d]{3}))*$/i;

export function canonicalLanguageTag(tag: string): string | null {
  if (tag.length > 35 || !BCP47.test(tag)) return null;
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    return canonical && BCP47.test(canonical) ? canonical : null;
  } catch {
    return null;
  }
}
