/**
 * The player's engine, shared by the watch page, the embed page and the `<edge-video>` element: hls.js with the
 * platform's ABR controller (abr/), the playback session taken from the master playlist's own response, QoE and
 * view reporting, and the player's events (`ready`, `play`, `pause`, `timeupdate`, `ended`, `error`,
 * `qualitychange`; `renditions` and `view` for the controls). It has no UI: controls.ts binds one to it.
 *
 * Nothing stands between the page and the first request: the source URL is given (rendered into the page, or
 * built from the element's attributes), no API call precedes `loadSource`, and with autoplay the play intent is
 * the load itself. Segments stream into the buffer as they arrive (hls-config.ts). Poster and storyboard give way
 * (poster.ts, preview.ts) so they do not share the link with the first segments.
 */
import Hls, { ErrorTypes, Events, type ErrorData } from 'hls.js';
import { PLAYER_HLS_CONFIG } from './hls-config';
import type { NetworkTrouble, PlayerEventDetails, PlayerEventName, Rendition } from './events';
import { failureCode, messageFor, sessionOf } from './network';
import { QoeCollector } from './qoe/collector';
import { pageReporter, type QoeReporter } from './qoe/reporter';
import { DEFAULT_VIEW_RULE, type ViewRule } from './view-tracker';
import { ViewReporter } from './views';
import { AudiencePing } from './audience';

export type { NetworkTrouble, PlayerEventDetails, PlayerEventName, Rendition } from './events';

export interface CoreOptions {
  videoId: string;
  /** The platform's origin (beacons go there). */
  apiOrigin: string;
  autoplay?: boolean;
  viewRule?: ViewRule;
  /** A refused or failed request the page may resolve (the watch page refreshes an expired URL); true: handled. */
  onNetworkTrouble?: (trouble: NetworkTrouble) => Promise<boolean>;
  viewHeaders?: () => Record<string, string>;
  reporter?: QoeReporter;
}

export class PlayerCore extends EventTarget {
  hls: Hls | null = null;
  /** The first playback session of this player: the one its QoE record and view beacon carry. */
  session: string | null = null;
  failed = false;
  /** The duration to show until the media knows it (the watch page sets the API's). */
  knownDuration = 0;
  readonly qoe = new QoeCollector();
  private readonly views: ViewReporter;
  private readonly audience: AudiencePing;
  private readonly unregister: () => void;
  private playingLevel = -1;
  private readyFired = false;

  constructor(
    readonly media: HTMLVideoElement,
    private readonly options: CoreOptions,
  ) {
    super();
    const base = `${options.apiOrigin}/v1/videos/${encodeURIComponent(options.videoId)}`;
    this.views = new ViewReporter(options.viewRule ?? DEFAULT_VIEW_RULE, `${base}/views`, (result) => this.emit('view', { result }), options.viewHeaders);
    this.audience = new AudiencePing(`${base}/watching`);
    this.unregister = (options.reporter ?? pageReporter).register({
      endpoint: `${base}/qoe`,
      figures: () => (this.session && this.qoe.intended ? { session: this.session, figures: this.qoe.figures(performance.now()) } : null),
    });
    this.wireMedia();
  }

  emit<K extends PlayerEventName>(type: K, detail: PlayerEventDetails[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  get duration(): number {
    const d = this.media.duration;
    return Number.isFinite(d) && d > 0 ? d : this.knownDuration;
  }

  /** Starts loading `src` (a master playlist URL); with autoplay, playing it is the play intent. */
  load(src: string, startTime = 0): void {
    if (Hls.isSupported()) {
      // startPosition: a video still processing has growing (EVENT) playlists, which hls.js would otherwise treat
      // as live and start near their end.
      const hls = new Hls({ ...PLAYER_HLS_CONFIG, startPosition: startTime });
      this.hls = hls;
      hls.on(Events.MANIFEST_LOADED, (_e, data) => void (this.session ??= sessionOf(data.networkDetails)));
      hls.on(Events.MANIFEST_PARSED, () => this.emit('renditions', { renditions: this.renditions() }));
      hls.on(Events.LEVEL_LOADED, (_e, data) => void (this.audience.live = data.details.live));
      hls.on(Events.FRAG_CHANGED, (_e, data) => this.onPlayingLevel(data.frag.level));
      hls.on(Events.ERROR, (_e, data) => void this.onHlsError(data));
      hls.loadSource(src);
      hls.attachMedia(this.media);
    } else if (this.media.canPlayType('application/vnd.apple.mpegurl')) {
      void this.loadNative(src, startTime);
    } else {
      this.fail('unsupported');
      return;
    }
    if (this.options.autoplay) void this.play();
  }

  /** Safari's own HLS: it fetches the playlists itself, so the session comes from one fetch of the master first. */
  private async loadNative(src: string, startTime: number): Promise<void> {
    try {
      const res = await fetch(src);
      this.session ??= res.headers.get('Playback-Session');
    } catch {
      // No session: the video still plays; its views and QoE are not counted.
    }
    this.media.src = src;
    if (startTime > 0) this.media.addEventListener('loadedmetadata', () => (this.media.currentTime = startTime), { once: true });
  }

  /** A play (the viewer's, a command, or the autoplay): the play intent QoE's startup time is measured from. */
  play(): Promise<void> {
    this.qoe.intent(performance.now());
    return this.media.play().catch((err: unknown) => {
      // Autoplay refused by the browser: no play intent after all; the viewer may still press play.
      if (err instanceof DOMException && err.name === 'NotAllowedError') this.qoe.cancelIntent();
    });
  }

  pause(): void {
    this.media.pause();
  }

  seek(time: number): void {
    const d = this.duration;
    this.media.currentTime = Math.max(0, d > 0 ? Math.min(time, d) : time);
  }

  renditions(): Rendition[] {
    return (this.hls?.levels ?? []).map((l, index) => ({ index, width: l.width, height: l.height, bitrate: l.bitrate }));
  }

  /** A rung index pins the quality (switching now); -1 hands it back to the ABR controller. */
  setRendition(index: number): void {
    if (this.hls) this.hls.currentLevel = index;
  }

  /** A fresh URL for the same video (an expired signed URL): playback goes on from the same position. */
  replaceSource(src: string): void {
    const hls = this.hls;
    if (!hls) return;
    const position = this.media.currentTime;
    const wasPlaying = !this.media.paused;
    hls.once(Events.MANIFEST_PARSED, () => {
      this.media.currentTime = position;
      if (wasPlaying) void this.media.play().catch(() => undefined);
    });
    hls.loadSource(src);
  }

  /** Ends playback with an error: the `error` event, the QoE failure, no more loading. */
  fail(code: string, message = messageFor(code)): void {
    if (this.failed) return;
    this.failed = true;
    this.qoe.fail(performance.now(), code);
    this.hls?.destroy();
    this.hls = null;
    this.media.removeAttribute('src');
    this.media.load();
    this.emit('error', { code, message });
  }

  /** Sends the session's last QoE record and stops. */
  destroy(): void {
    this.unregister();
    this.hls?.destroy();
    this.hls = null;
  }

  private async onHlsError(data: ErrorData): Promise<void> {
    if (this.failed) return;
    const status = data.response?.code ?? 0;
    if (data.type === ErrorTypes.NETWORK_ERROR && (status === 403 || status === 404 || status === 410 || data.fatal)) {
      const trouble = { status, fatal: data.fatal, code: failureCode(data) };
      if (this.options.onNetworkTrouble && (await this.options.onNetworkTrouble(trouble))) return;
      if (data.fatal) this.fail(trouble.code);
      return;
    }
    if (data.fatal && data.type === ErrorTypes.MEDIA_ERROR) this.hls?.recoverMediaError();
    else if (data.fatal) this.fail(failureCode(data));
  }

  private onPlayingLevel(level: number): void {
    const l = this.hls?.levels[level];
    if (!l || level === this.playingLevel) return;
    this.playingLevel = level;
    this.qoe.renditionChanged(performance.now(), l.bitrate, l.height);
    this.emit('qualitychange', { height: l.height, bitrate: l.bitrate, level });
  }

  private wireMedia(): void {
    const media = this.media;
    const now = () => performance.now();
    const on = (type: string, fn: () => void) => media.addEventListener(type, fn);
    on('play', () => {
      this.qoe.intent(now());
      this.emit('play', {});
    });
    on('playing', () => this.qoe.playing(now()));
    on('waiting', () => {
      this.qoe.waiting(now(), media.seeking, media.paused);
      this.views.interrupt();
    });
    on('seeking', () => {
      this.qoe.seeking(now());
      this.views.interrupt();
    });
    on('seeked', () => this.qoe.seeked(now(), media.paused));
    on('pause', () => {
      this.qoe.pause(now());
      this.views.interrupt();
      this.emit('pause', {});
    });
    on('ended', () => {
      this.qoe.ended(now());
      this.emit('ended', {});
    });
    on('loadedmetadata', () => {
      if (this.readyFired) return;
      this.readyFired = true;
      this.emit('ready', { duration: this.duration });
    });
    on('timeupdate', () => {
      this.emit('timeupdate', { currentTime: media.currentTime, duration: this.duration });
      if (!media.paused && !media.seeking) {
        this.views.progress(media.currentTime, media.playbackRate, this.duration, this.session);
        this.audience.playing(this.session, Date.now());
      }
    });
    on('error', () => {
      // The element's own failure (native HLS); hls.js reports its failures through its ERROR event instead.
      if (!this.hls && media.error) this.fail(media.error.code === MediaError.MEDIA_ERR_NETWORK ? 'network' : 'media');
    });
  }

  get watchedSeconds(): number {
    return this.views.watchedSeconds;
  }
}
