/**
 * The embed page's script (GET /embed/{id}, workers/web/embed): the `<edge-video>` the page renders, filling the
 * frame, and the postMessage bridge to the parent page (bridge.ts). An error page (unknown video, missing token, …)
 * has no player: its error code reaches the parent as an `error` event.
 */
import { EVENT, eventOrigins, listenForCommands } from './bridge';
import { defineEdgeVideo, type EdgeVideoElement } from './element';

interface EmbedConfig {
  videoId: string;
  parentOrigins: string[] | null;
  error?: { code: string; message: string };
}

const FORWARDED = ['ready', 'play', 'pause', 'timeupdate', 'ended', 'error', 'qualitychange'] as const;

const config = JSON.parse(document.getElementById('page-config')?.textContent ?? '{}') as EmbedConfig;
const page = new CSSStyleSheet();
page.replaceSync('html, body { margin: 0; height: 100%; background: #000; color: #eee; font-family: system-ui, sans-serif; } body > p { padding: 1rem; } edge-video { height: 100%; }');
document.adoptedStyleSheets = [page];

const framed = window.parent !== window;
const ancestor = (location as Location & { ancestorOrigins?: DOMStringList }).ancestorOrigins?.[0] ?? null;
const origins = eventOrigins(config.parentOrigins, ancestor);

function post(event: string, detail: object, only?: string): void {
  if (!framed) return;
  for (const origin of only ? [only] : origins) window.parent.postMessage({ type: EVENT, event, videoId: config.videoId, ...detail }, origin);
}

const player = document.getElementById('player') as EdgeVideoElement | null;
if (config.error || !player) {
  post('error', config.error ?? { code: 'internal', message: 'The embed page has no player.' });
} else {
  // Listeners go on before the element is defined (upgraded), so no early event is missed.
  for (const type of FORWARDED) player.addEventListener(type, (event) => post(type, (event as CustomEvent<object>).detail ?? {}));
  if (framed) listenForCommands(window, player, config.parentOrigins, (code, message, origin) => post('error', { code, message }, origin));
  defineEdgeVideo();
}
