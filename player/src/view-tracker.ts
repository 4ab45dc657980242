/**
 * When a view is reported. The platform's rule (workers/shared/config.ts `views`, from the production design): a view counts once the
 * viewer has WATCHED at least 30 s, or at least 50% of a video shorter than 60 s. "Watched" means playback time
 * actually elapsed at normal progress, not the playhead position: seeking to the end watches nothing, and replaying
 * a part counts again (it was watched twice). The server re-checks the rule; this only decides when to ask.
 *
 * Playhead advances are credited only when they look like playback: at most the wall-clock time since the last
 * update times the playback rate, plus a little slack for timer jitter. A jump larger than that is a seek.
 */
export interface ViewRule {
  minWatchSeconds: number;
  shortVideoSeconds: number;
  shortVideoFraction: number;
}

/**
 * The rule as the platform ships it (workers/shared/config-defaults.ts `views`; test/node/player-units.test.ts keeps
 * the two equal), for players whose page does not pass the deployment's own (the web component, the embed page).
 * It only decides when a player asks; the server judges every view by its configured rule.
 */
export const DEFAULT_VIEW_RULE: ViewRule = { minWatchSeconds: 30, shortVideoSeconds: 60, shortVideoFraction: 0.5 };

export function viewRuleMet(rule: ViewRule, watchedSeconds: number, videoDuration: number): boolean {
  if (watchedSeconds >= rule.minWatchSeconds) return true;
  return videoDuration > 0 && videoDuration < rule.shortVideoSeconds && watchedSeconds >= rule.shortVideoFraction * videoDuration;
}

const JITTER_SLACK_SECONDS = 0.5;

export class ViewTracker {
  private watched = 0;
  private last: { position: number; wallMs: number } | null = null;
  private reported = false;
  private retryAtMinWatch = false;

  constructor(private readonly rule: ViewRule) {}

  get watchedSeconds(): number {
    return this.watched;
  }

  /** Call on every `timeupdate` while playing. Returns true exactly once: when the rule is first met. */
  progress(position: number, wallMs: number, playbackRate: number, videoDuration: number): boolean {
    if (this.last) {
      const advanced = position - this.last.position;
      const allowed = ((wallMs - this.last.wallMs) / 1000) * Math.max(playbackRate, 0) + JITTER_SLACK_SECONDS;
      if (advanced > 0 && advanced <= allowed) this.watched += advanced;
    }
    this.last = { position, wallMs };
    if (!this.reported && viewRuleMet(this.rule, this.watched, videoDuration)) {
      this.reported = true;
      return true;
    }
    if (this.retryAtMinWatch && this.watched >= this.rule.minWatchSeconds) {
      this.retryAtMinWatch = false;
      return true;
    }
    return false;
  }

  /**
   * The platform judged the report too short: it knows the video's duration better than the media element (a live
   * broadcast's growing window looks like a short video). Report once more when the minimum watch alone is met.
   */
  refusedAsTooShort(): void {
    if (this.watched < this.rule.minWatchSeconds) this.retryAtMinWatch = true;
  }

  /** Seeking, pausing, stalling: the next update starts a new run instead of crediting the jump. */
  interrupt(): void {
    this.last = null;
  }
}
