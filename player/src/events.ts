/**
 * The player's events (core.ts dispatches them; the element re-dispatches the public ones as DOM events, the embed
 * page posts them to its parent: docs/embed.md) and the shapes they carry.
 */
export interface Rendition {
  index: number;
  width: number;
  height: number;
  bitrate: number;
}

export interface PlayerEventDetails {
  ready: { duration: number };
  play: Record<string, never>;
  pause: Record<string, never>;
  timeupdate: { currentTime: number; duration: number };
  ended: Record<string, never>;
  error: { code: string; message: string };
  /** `level`: the rung's index in the master playlist (the quality menu's value). */
  qualitychange: { height: number; bitrate: number; level: number };
  renditions: { renditions: Rendition[] };
  view: { result: string };
}

export type PlayerEventName = keyof PlayerEventDetails;

export interface NetworkTrouble {
  status: number;
  fatal: boolean;
  code: string;
}
