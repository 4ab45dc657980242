/**
 * Concurrent viewers of a live broadcast (docs/live.md): while a stream without an end (hls.js `details.live`)
 * plays, the player tells `POST /v1/videos/:id/watching` once per wall-clock minute, with its playback session.
 * The platform counts distinct sessions per minute. A video that is still processing also plays as a stream without
 * an end; the platform answers `not_live` to it, and the player stops asking.
 */
export class AudiencePing {
  private minute = -1;
  private stopped = false;
  live = false;

  constructor(private readonly endpoint: string) {}

  /** On every `timeupdate` while playing. */
  playing(session: string | null, nowMs: number): void {
    if (!this.live || this.stopped || !session) return;
    const minute = Math.floor(nowMs / 60_000);
    if (minute === this.minute) return;
    this.minute = minute;
    void fetch(this.endpoint, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ session }), keepalive: true })
      .then(async (res) => {
        const body = (await res.json().catch(() => ({}))) as { reason?: string };
        if (body.reason === 'not_live') this.stopped = true;
      })
      .catch(() => undefined);
  }
}
