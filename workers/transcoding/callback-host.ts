/**
 * The `callback.internal` virtual host of the transcoder container: its completion and progress callbacks are
 * intercepted (outbound interception, like `storage.internal`) and handled by the same code as the local
 * `/internal/transcoding/callback` route, with the same INTERNAL_TOKEN bearer check.
 */
import type { OutboundHandler } from '@cloudflare/containers';
import { bearerToken, timingSafeEqual } from '../shared/auth';
import { handleTranscodeCallback } from './callback';
import { CALLBACK_PATH } from './transcoder-client';

export const callbackHandler: OutboundHandler = async (request, env) => {
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  const token = bearerToken(request.headers.get('Authorization'));
  const expected = (env as Env).INTERNAL_TOKEN;
  if (!expected || !token || !timingSafeEqual(token, expected)) return json(401, { error: { code: 'unauthorized', message: 'internal token required' } });
  if (request.method !== 'POST' || new URL(request.url).pathname !== CALLBACK_PATH) return json(404, { error: { code: 'not_found', message: 'no such callback' } });
  const answer = await handleTranscodeCallback(env as Env, await request.json().catch(() => null));
  return json(answer.status, answer.body);
};
