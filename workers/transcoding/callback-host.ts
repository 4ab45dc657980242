/**
 * The `callback.internal` virtual host of the transcoder container: its completion and progress callbacks are
 * intercepted (outbound interception, like `storage.internal`) and handled by the same code as the local
 * `/internal/transcoding/callback` route, with the same INTERNAL_TOKEN bearer check.
 */
import type { OutboundHandler } from '@cloudflare/containers';
import { bearerToken } from '../shared/auth';
import { loadConfig } from '../shared/config';
import { isInternalToken } from '../shared/internal';
import { errorResponse } from '../shared/errors';
import { handleTranscodeCallback } from './callback';
import { CALLBACK_PATH } from './transcoder-client';

export const callbackHandler: OutboundHandler = async (request, env) => {
  if (!isInternalToken(bearerToken(request.headers.get('Authorization')), loadConfig(env as Env))) return errorResponse('unauthorized', 'internal token required');
  if (request.method !== 'POST' || new URL(request.url).pathname !== CALLBACK_PATH) return errorResponse('not_found', 'no such callback');
  const answer = await handleTranscodeCallback(env as Env, await request.json().catch(() => null));
  return new Response(JSON.stringify(answer.body), { status: answer.status, headers: { 'Content-Type': 'application/json' } });
};
