/**
 * The audio group of a video: its main audio (the original upload's own, in `originalLanguage`) and its encoded
 * extra audio tracks (workers/audio-tracks), as the master playlist and the DASH manifest list them.
 *
 * Business rules: exactly one entry is the default — the extra track marked default, else the main audio; NAME is
 * unique within the group (a repeated label gets its language appended); every entry is AUTOSELECT.
 */
import { AUDIO_RENDITION } from '../shared/storage-keys';
import type { AudioRendition } from './manifest';
import type { PlaybackState } from './state';

/** A language's English name (`pt-BR` → `Brazilian Portuguese`), or the tag itself when Intl does not know it. */
export function languageName(lang: string): string {
  if (lang === 'und') return 'Original';
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(lang) ?? lang;
  } catch {
    return lang;
  }
}

export interface AudioGroupEntry extends AudioRendition {
  /** The rendition whose playlist and segments the entry plays (`audio` or `audio_{lang}`). */
  rendition: string;
}

export function audioGroup(state: PlaybackState): AudioGroupEntry[] {
  const main = state.renditions.get(AUDIO_RENDITION);
  if (!main) return [];
  const tracks = state.audioTracks.filter((t) => state.renditions.has(t.rendition));
  const trackDefault = tracks.find((t) => t.isDefault);
  const original = state.video.originalLanguage ?? 'und';
  const entries: AudioGroupEntry[] = [
    { name: languageName(original), language: original, isDefault: !trackDefault, uri: `${AUDIO_RENDITION}/playlist.m3u8`, rendition: AUDIO_RENDITION },
    ...tracks.map((t) => ({ name: t.label, language: t.lang, isDefault: t === trackDefault, uri: `${t.rendition}/playlist.m3u8`, rendition: t.rendition })),
  ];
  const names = new Set<string>();
  return entries.map((e) => {
    const name = names.has(e.name) ? `${e.name} (${e.language})` : e.name;
    names.add(name);
    return { ...e, name };
  });
}

/** The rendition the audio-only download and players start with: the default entry's. */
export function defaultAudioRendition(state: PlaybackState): string | null {
  return audioGroup(state).find((e) => e.isDefault)?.rendition ?? null;
}
