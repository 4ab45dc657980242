/**
 * The embed page's markup: one `<edge-video>` filling the frame (the same player as the web component, player/src),
 * and its config for the postMessage bridge. An error page carries the error code instead, which the bridge posts
 * to the parent as an `error` event.
 */
import { raw } from 'hono/html';
import { scriptJson } from '../layout';
import type { EmbedOptions } from './params';

export interface EmbedConfig {
  videoId: string;
  /** Origins the bridge talks to (the allowed origins of the video and token), or null for whichever page frames it. */
  parentOrigins: string[] | null;
  error?: { code: string; message: string };
}

function Shell(props: { title: string; config: EmbedConfig; children?: unknown }) {
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          {/* A dark canvas before the script styles the page: no white flash inside a video frame. */}
          <meta name="color-scheme" content="dark" />
          <title>{props.title}</title>
          {/* No favicon request: inside a frame nobody sees it, and on a slow link it competes with the first segment. */}
          <link rel="icon" href="data:," />
          <script type="module" src="/assets/embed.js"></script>
        </head>
        <body data-page="embed">
          {props.children}
          <script type="application/json" id="page-config">
            {raw(scriptJson(props.config))}
          </script>
        </body>
      </html>
    </>
  );
}

export function EmbedPage(props: { title: string; options: EmbedOptions; config: EmbedConfig }) {
  const o = props.options;
  const flag = (on: boolean) => (on ? '' : undefined);
  return (
    <Shell title={`${props.title} · edge-video`} config={props.config}>
      <edge-video
        id="player"
        video-id={props.config.videoId}
        token={o.token ?? undefined}
        aria-label={props.title}
        controls={flag(o.controls)}
        autoplay={flag(o.autoplay)}
        muted={flag(o.muted)}
        loop={flag(o.loop)}
        start={o.start > 0 ? String(o.start) : undefined}
        poster={o.poster ?? undefined}
        primary-color={o.primaryColor ?? undefined}
      ></edge-video>
    </Shell>
  );
}

export function EmbedErrorPage(props: { config: EmbedConfig & { error: { code: string; message: string } } }) {
  return (
    <Shell title="Video unavailable · edge-video" config={props.config}>
      <p role="alert" data-error-code={props.config.error.code}>
        {props.config.error.message}
      </p>
    </Shell>
  );
}

/** `<edge-video>` is the player's custom element (player/src/element.ts); the page sets its attributes. */
declare module 'hono/jsx' {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- hono's JSX typing is a namespace
  namespace JSX {
    interface IntrinsicElements {
      'edge-video': Record<string, string | undefined>;
    }
  }
}
