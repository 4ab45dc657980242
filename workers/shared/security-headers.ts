/**
 * Headers every response of the Worker carries (hono's `secureHeaders`, applied once in app.ts): API JSON, errors,
 * playback objects (playlists, segments, frames, caption WebVTT — creator-controlled bytes), tus answers and pages.
 *
 * - `X-Content-Type-Options: nosniff`: a browser never reads a caption file or a JSON body as HTML or script.
 * - `X-Frame-Options: DENY`: nothing the Worker answers is framed by another site (clickjacking of /library or a
 *   creator's settings). Pages also say `frame-ancestors 'none'` in their own Content-Security-Policy (web/routes.tsx,
 *   openapi/routes.ts), which modern browsers obey instead. The one page made for other sites' iframes, the embed
 *   player (`/embed/…`, web/embed/route.tsx), gets no `X-Frame-Options`: its CSP `frame-ancestors` names the
 *   origins that may frame it. A handler's own value of any header wins (`overwrite: false`).
 * - the usual isolation defaults of the library (Referrer-Policy, Cross-Origin-Opener-Policy, …), except:
 *   `Cross-Origin-Resource-Policy` stays unset, because players and pages on other origins load segments,
 *   thumbnails and captions; and `Strict-Transport-Security` is the deployment's choice (a Cloudflare zone setting),
 *   since `includeSubDomains` on a shared domain would bind sites this Worker does not own.
 * No default Content-Security-Policy on non-HTML answers: a JPEG or MP4 opened directly in a tab must still display.
 * Static assets are served before the Worker runs; workers/web/static/_headers gives them the same two headers.
 */
import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';

const common = { crossOriginResourcePolicy: false, strictTransportSecurity: false, overwrite: false } as const;
const unframable = secureHeaders({ ...common, xFrameOptions: 'DENY' });
const embeddable = secureHeaders({ ...common, xFrameOptions: false });

/** Paths of pages made to be framed by other sites (their CSP `frame-ancestors` says by whom). */
const EMBED_PAGE = /^\/embed\//;

export const securityHeaders: MiddlewareHandler = (c, next) => (EMBED_PAGE.test(c.req.path) ? embeddable : unframable)(c, next);
