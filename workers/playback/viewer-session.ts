/**
 * Playback sessions issued to the viewer, on the master playlist.
 *
 * A view beacon counts only with a playback session (workers/views/playback-session.ts), and every session spends
 * one of its address's allowance (workers/views/allowances.ts). An app that asks `GET /v1/videos/:id/playback` from
 * its backend for every viewer spends its backend's one address; an app that signs tokens offline never calls the
 * platform at all. So the session is issued where the viewer's own client first shows up: its GET of the master
 * playlist, from its own address, answered in the `Playback-Session` response header (exposed to CORS, so hls.js,
 * the web player and any app player can read it). The allowance counts per viewer address at that point.
 *
 * The playlist body stays one cached object for everyone (the edge cache key has no session); only this response
 * carries the session, so it is `Cache-Control: no-store` for the browser. A client past its allowance still gets
 * the playlist (it can watch), without a session (its views do not count), and `Playback-Session-Refused` says why.
 */
import type { Config } from '../shared/config';
import { ApiError } from '../shared/errors';
import { keyring } from '../shared/keyring';
import { runtime } from '../shared/runtime';
import { clientKey, takeSessionAllowance } from '../views/allowances';
import { issueSession } from '../views/playback-session';

export const PLAYBACK_SESSION_HEADER = 'Playback-Session';
const REFUSED_HEADER = 'Playback-Session-Refused';

export async function withPlaybackSession(env: Env, config: Config, request: Request, res: Response, videoId: string): Promise<Response> {
  const headers = new Headers(res.headers);
  headers.set('Cache-Control', 'no-store');
  headers.set('Access-Control-Expose-Headers', [headers.get('Access-Control-Expose-Headers'), PLAYBACK_SESSION_HEADER, REFUSED_HEADER].filter(Boolean).join(', '));
  try {
    await takeSessionAllowance(env, config, clientKey(request));
    const issued = await issueSession(keyring(config.secrets), videoId, runtime().now());
    if (issued) headers.set(PLAYBACK_SESSION_HEADER, issued.token);
    else headers.set(REFUSED_HEADER, 'unavailable');
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    headers.set(REFUSED_HEADER, err.code);
  }
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}
