/**
 * Headers every response of the Worker carries (hono's `secureHeaders`, applied once in app.ts): API JSON, errors,
 * playback objects (playlists, segments, frames, caption WebVTT — creator-controlled bytes), tus answers and pages.
 *
 * - `X-Content-Type-Options: nosniff`: a browser never reads a caption file or a JSON body as HTML or script.
 * - `X-Frame-Options: DENY`: nothing the Worker answers is framed by another site (clickjacking of /library or a
 *   creator's settings). Pages also say `frame-ancestors 'none'` in their own Content-Security-Policy (web/routes.tsx,
 *   openapi/routes.ts), which modern browsers obey instead. A page meant for iframes (an embed player) would set
 *   both itself: a handler's own value wins (`overwrite: false`).
 * - the usual isolation defaults of the library (Referrer-Policy, Cross-Origin-Opener-Policy, …), except:
 *   `Cross-Origin-Resource-Policy` stays unset, because players and pages on other origins load segments,
 *   thumbnails and captions; and `Strict-Transport-Security` is the deployment's choice (a Cloudflare zone setting),
 *   since `includeSubDomains` on a shared domain would bind sites this Worker does not own.
 * No default Content-Security-Policy on non-HTML answers: a JPEG or MP4 opened directly in a tab must still display.
 * Static assets are served before the Worker runs; workers/web/static/_headers gives them the same two headers.
 */
import { secureHeaders } from 'hono/secure-headers';

export const securityHeaders = secureHeaders({
  xFrameOptions: 'DENY',
  crossOriginResourcePolicy: false,
  strictTransportSecurity: false,
  overwrite: false,
});
