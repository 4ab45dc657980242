/**
 * Quality of experience of one playback session, from the player's own events (docs/qoe.md defines each figure):
 *
 * - startup: from the play intent (a play, or the autoplay attempt) to the first `playing`;
 * - a stall: a `waiting` after the first frame while not paused and not seeking, until the next `playing` (or a
 *   pause, a seek or the end); waiting during a seek is the seek's, not a stall;
 * - watched: wall time in the playing state (after `playing`, until a pause, stall, seek, end or failure);
 * - bitrate: the rendition playing (its BANDWIDTH), weighted by the time watched at it; switches: changes of it;
 * - exit before start: the session's record is taken (the page hidden or closed, the player removed) after a play
 *   intent, before the first frame and without a failure.
 *
 * Pure: it is told the time with every event (`performance.now()` in the player), so tests can drive it.
 */
export interface QoeFigures {
  startupMs: number | null;
  exitBeforeStart: boolean;
  failure: string | null;
  rebufferCount: number;
  stalledMs: number;
  watchedMs: number;
  averageBitrate: number | null;
  finalBitrate: number | null;
  finalHeight: number | null;
  switches: number;
}

type State = 'idle' | 'starting' | 'playing' | 'stalled' | 'paused' | 'seeking' | 'ended' | 'failed';

export class QoeCollector {
  private state: State = 'idle';
  private intentAt: number | null = null;
  private startupMs: number | null = null;
  private since = 0;
  private watchedMs = 0;
  private stalledMs = 0;
  private rebufferCount = 0;
  private failure: string | null = null;
  private rendition: { bitrate: number; height: number } | null = null;
  private playedBits = 0;
  private bitsMs = 0;
  private switches = 0;

  /** Whether the viewer asked to play (only such sessions have a record). */
  get intended(): boolean {
    return this.intentAt !== null;
  }

  get started(): boolean {
    return this.startupMs !== null;
  }

  /** A play or the autoplay attempt. Only the first one starts the startup clock. */
  intent(now: number): void {
    if (this.intentAt === null) {
      this.intentAt = now;
      this.state = 'starting';
    }
  }

  /** Autoplay was refused by the browser: no play intent after all (the viewer may still press play). */
  cancelIntent(): void {
    if (this.startupMs === null && this.state === 'starting') {
      this.intentAt = null;
      this.state = 'idle';
    }
  }

  playing(now: number): void {
    if (this.intentAt === null) this.intent(now);
    if (this.startupMs === null) this.startupMs = Math.max(0, now - this.intentAt!);
    this.leave(now);
    this.state = 'playing';
  }

  waiting(now: number, seeking: boolean, paused: boolean): void {
    if (this.startupMs === null || paused || this.state === 'failed' || this.state === 'ended') return;
    this.leave(now);
    if (seeking) this.state = 'seeking';
    else if (this.state !== 'stalled') {
      this.state = 'stalled';
      this.rebufferCount++;
    }
  }

  seeking(now: number): void {
    if (this.startupMs === null) return;
    this.leave(now);
    this.state = 'seeking';
  }

  /** A seek completed while playing on buffered data: playback resumes without a `playing` event. */
  seeked(now: number, paused: boolean): void {
    if (this.startupMs === null || this.state !== 'seeking') return;
    this.leave(now);
    this.state = paused ? 'paused' : 'playing';
  }

  pause(now: number): void {
    if (this.startupMs === null) return;
    this.leave(now);
    this.state = 'paused';
  }

  ended(now: number): void {
    this.leave(now);
    this.state = 'ended';
  }

  fail(now: number, code: string): void {
    this.leave(now);
    this.failure ??= code;
    this.state = 'failed';
  }

  /** The rendition now playing (the level of the fragment the playhead entered). */
  renditionChanged(now: number, bitrate: number, height: number): void {
    if (this.rendition && (this.rendition.bitrate !== bitrate || this.rendition.height !== height)) this.switches++;
    this.leave(now);
    this.rendition = { bitrate, height };
  }

  /** The figures so far, as if the session ended `now`. */
  figures(now: number): QoeFigures {
    const watchedMs = this.watchedMs + (this.state === 'playing' ? now - this.since : 0);
    const stalledMs = this.stalledMs + (this.state === 'stalled' ? now - this.since : 0);
    const bits = this.playedBits + (this.state === 'playing' && this.rendition ? this.rendition.bitrate * ((now - this.since) / 1000) : 0);
    const bitsMs = this.bitsMs + (this.state === 'playing' && this.rendition ? now - this.since : 0);
    return {
      startupMs: this.startupMs === null ? null : Math.round(this.startupMs),
      exitBeforeStart: this.intentAt !== null && this.startupMs === null && this.failure === null,
      failure: this.failure,
      rebufferCount: this.rebufferCount,
      stalledMs: Math.round(stalledMs),
      watchedMs: Math.round(watchedMs),
      averageBitrate: bitsMs > 0 ? Math.round(bits / (bitsMs / 1000)) : this.rendition && this.startupMs !== null ? this.rendition.bitrate : null,
      finalBitrate: this.rendition?.bitrate ?? null,
      finalHeight: this.rendition?.height ?? null,
      switches: this.switches,
    };
  }

  /** Closes the time spent in the current state. */
  private leave(now: number): void {
    const spent = Math.max(0, now - this.since);
    if (this.state === 'playing') {
      this.watchedMs += spent;
      if (this.rendition) {
        this.playedBits += this.rendition.bitrate * (spent / 1000);
        this.bitsMs += spent;
      }
    } else if (this.state === 'stalled') this.stalledMs += spent;
    this.since = now;
  }
}
