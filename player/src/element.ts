/**
 * `<edge-video video-id="…" token="…" controls autoplay muted loop start="…" poster="…" primary-color="…">`: the
 * platform's player as a web component (docs/embed.md). It plays `/v/{id}/t/{token}/master.m3u8` (or the unsigned
 * `/v/{id}/master.m3u8` without a token) from the platform's origin (the origin this module was served from, or the
 * `origin` attribute), in its own shadow root, and dispatches the player's events on itself as DOM events
 * (`ready`, `play`, `pause`, `timeupdate`, `ended`, `error`, `qualitychange`, with the details in `event.detail`).
 * Methods and properties: `play()`, `pause()`, `currentTime` (get and set: a seek), `duration`, `paused`, `muted`.
 * Several players on one page are independent; their QoE records share the page's beacons.
 *
 * It starts when connected (the attributes then in place are the ones used) and stops when removed, sending the
 * playback session's last QoE record.
 */
import { bindControls, partsIn } from './controls';
import { PlayerCore, type PlayerEventName } from './core';
import { buildPlayerMarkup } from './markup';
// The stylesheet as text (esbuild's text loader for .css in the player's builds; the pages' build bundles it as CSS).
import css from './player.css';

const FORWARDED: PlayerEventName[] = ['ready', 'play', 'pause', 'timeupdate', 'ended', 'error', 'qualitychange'];
const VIDEO_ID = /^[A-Za-z0-9_-]{1,64}$/;
const TOKEN = /^[A-Za-z0-9_.-]{1,4096}$/;
const COLOR = /^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/;

let sheet: CSSStyleSheet | null = null;
/** One constructed stylesheet for every player: not subject to a host page's `style-src` (it is not inline). */
function playerSheet(): CSSStyleSheet {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
  }
  return sheet;
}

/** The origin this module was loaded from: the platform's. */
const moduleOrigin = (): string => new URL(import.meta.url).origin;

export class EdgeVideoElement extends HTMLElement {
  private core: PlayerCore | null = null;
  private readonly root: ShadowRoot;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    this.root.adoptedStyleSheets = [playerSheet()];
  }

  get player(): PlayerCore | null {
    return this.core;
  }

  connectedCallback(): void {
    if (this.core) return;
    const videoId = this.getAttribute('video-id') ?? '';
    const token = this.getAttribute('token');
    const origin = this.getAttribute('origin') ?? moduleOrigin();
    const color = this.getAttribute('primary-color');
    if (color && COLOR.test(color)) this.style.setProperty('--edge-video-accent', color);
    const markup = buildPlayerMarkup(this.getAttribute('aria-label') ?? '');
    this.root.replaceChildren(markup);
    const parts = partsIn(markup);
    const media = parts.media;
    media.muted = this.hasAttribute('muted');
    media.loop = this.hasAttribute('loop');
    const autoplay = this.hasAttribute('autoplay');
    const core = new PlayerCore(media, { videoId, apiOrigin: origin, autoplay });
    this.core = core;
    for (const type of FORWARDED) core.addEventListener(type, (event) => this.dispatchEvent(new CustomEvent(type, { detail: (event as CustomEvent).detail })));
    const base = `${origin}/v/${encodeURIComponent(videoId)}${token ? `/t/${token}` : ''}`;
    bindControls(core, parts, {
      controls: this.hasAttribute('controls'),
      autoplay,
      poster: autoplay ? null : (this.getAttribute('poster') ?? `${base}/thumbnails/poster.jpg`),
      storyboardUrl: () => `${base}/thumbnails/storyboard.vtt`,
    });
    if (!VIDEO_ID.test(videoId) || (token !== null && !TOKEN.test(token))) {
      core.fail('bad_request', 'This player needs a video-id (and a valid token, if any).');
      return;
    }
    const start = Number(this.getAttribute('start') ?? 0);
    core.load(`${base}/master.m3u8`, Number.isFinite(start) && start > 0 ? start : 0);
  }

  disconnectedCallback(): void {
    this.core?.destroy();
    this.core = null;
  }

  play(): Promise<void> {
    return this.core?.play() ?? Promise.resolve();
  }

  pause(): void {
    this.core?.pause();
  }

  get currentTime(): number {
    return this.core?.media.currentTime ?? 0;
  }

  set currentTime(time: number) {
    this.core?.seek(time);
  }

  get duration(): number {
    return this.core?.duration ?? 0;
  }

  get paused(): boolean {
    return this.core?.media.paused ?? true;
  }

  get muted(): boolean {
    return this.core?.media.muted ?? this.hasAttribute('muted');
  }

  set muted(muted: boolean) {
    if (this.core) this.core.media.muted = muted;
  }
}

export function defineEdgeVideo(name = 'edge-video'): void {
  if (!customElements.get(name)) customElements.define(name, EdgeVideoElement);
}
