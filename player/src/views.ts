/**
 * View beacons (docs/views.md): once the viewer has watched enough by the view rule (view-tracker.ts), the player
 * reports the view once, with its playback session, to `POST /v1/videos/:id/views`. The viewer id is a random id
 * kept in this origin's localStorage (no personal data); without storage it lives as long as the page.
 */
import { ViewTracker, type ViewRule } from './view-tracker';

const VIEWER_KEY = 'edge-video.viewer';
let pageViewer: string | null = null;

export function viewerId(): string {
  try {
    let id = localStorage.getItem(VIEWER_KEY);
    if (!id) {
      id = crypto.randomUUID();
      localStorage.setItem(VIEWER_KEY, id);
    }
    return id;
  } catch {
    return (pageViewer ??= crypto.randomUUID());
  }
}

export class ViewReporter {
  private readonly tracker: ViewTracker;

  constructor(
    rule: ViewRule,
    private readonly endpoint: string,
    private readonly onResult: (result: string) => void,
    /** Extra request headers (the watch page sends the creator's token: a creator's own views do not count). */
    private readonly headers: () => Record<string, string> = () => ({}),
  ) {
    this.tracker = new ViewTracker(rule);
  }

  get watchedSeconds(): number {
    return this.tracker.watchedSeconds;
  }

  /** On every `timeupdate` while playing; sends the beacon the first time the rule is met. */
  progress(position: number, playbackRate: number, duration: number, session: string | null): void {
    if (this.tracker.progress(position, performance.now(), playbackRate, duration)) void this.report(duration, session);
  }

  /** Seeking, pausing, stalling: the next update starts a new run. */
  interrupt(): void {
    this.tracker.interrupt();
  }

  private async report(duration: number, session: string | null): Promise<void> {
    try {
      const res = await fetch(this.endpoint, {
        method: 'POST',
        headers: { ...this.headers(), 'Content-Type': 'application/json' },
        body: JSON.stringify({ viewerId: viewerId(), watchDuration: Math.round(this.tracker.watchedSeconds * 1000) / 1000, videoDuration: duration, session }),
        keepalive: true,
      });
      const body = (await res.json().catch(() => ({}))) as { counted?: boolean; reason?: string; error?: { code?: string } };
      if (res.ok && body.counted === false && body.reason === 'too_short') this.tracker.refusedAsTooShort();
      this.onResult(!res.ok ? `error:${body.error?.code ?? res.status}` : body.counted === false ? `not-counted:${body.reason ?? ''}` : 'counted');
    } catch (err) {
      // Views are best-effort for the viewer: never interrupt playback over them.
      this.onResult(`error:${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
