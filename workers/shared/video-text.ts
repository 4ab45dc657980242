/**
 * Longest title and description of a video, in characters: the API's validation (metadata, direct uploads, tus
 * metadata, clips) and the web forms' maxlength. Re-exported by config.ts with the other tunables; a module of its
 * own so the browser bundle (workers/web/client) can import it without the rest of the config.
 */
export const VIDEO_TEXT = { maxTitle: 200, maxDescription: 5000 } as const;
