/**
 * Typed request validation and the OpenAPI description share one set of zod schemas (@hono/zod-openapi). Every
 * validation failure leaves in the API's one error shape, `400 {"error":{"code":"bad_request","message"}}`, with
 * the first problem spelled out (a field's own message when the schema gives one).
 */
import { OpenAPIHono, z, type Hook } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { readCappedBody } from './body';
import type { Config } from './config';
import { badRequest, ERRORS, type ErrorCode } from './errors';
import type { AppEnv } from './hono-env';

export { z };

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
  const path = issue.path.map(String).join('.');
  // Fields give their own full sentence ("title must be …"); zod's generic messages get the field name in front.
  if (path === '' || issue.message.startsWith(path)) return issue.message;
  return `${path}: ${issue.message}`;
}

function invalid(issues: z.core.$ZodIssue[]) {
  return badRequest(describeIssue(issues[0]!), issues.length > 1 ? { problems: issues.map(describeIssue) } : undefined);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Hook's generic parameters are the library's
export const validationHook: Hook<any, AppEnv, any, any> = (result) => {
  if (!result.success) throw invalid(result.error.issues);
};

/** A sub-app whose `openapi()` routes validate with the API's error shape and join the OpenAPI document. */
export function apiRoutes(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

const isJsonType = (value: string | undefined) => /^application\/([\w.+-]*\+)?json\s*(;|$)/i.test(value ?? '');

function assertJsonObject(text: string): void {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest('request body must be valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('request body must be a JSON object');
}

/** Hands `text` on as the request's JSON body (the schema validator reads it from here). */
function replaceBody(c: Context<AppEnv>, text: string): void {
  const headers = new Headers(c.req.raw.headers);
  headers.set('Content-Type', 'application/json');
  headers.delete('Content-Length');
  // `cf` (Cloudflare's request properties: the viewer's country) stays with the request.
  c.req.raw = new Request(c.req.raw.url, { method: c.req.method, headers, body: text, cf: c.req.raw.cf });
}

/**
 * Before a JSON body's schema runs: malformed JSON and non-objects get the API's long-standing messages, and a body
 * sent without `Content-Type: application/json` (curl -d, fetch with a string) is still read as JSON, as before.
 */
export const jsonObjectBody = createMiddleware<AppEnv>(async (c, next) => {
  const text = await c.req.text();
  assertJsonObject(text);
  if (!isJsonType(c.req.header('Content-Type'))) replaceBody(c, text);
  await next();
});

/** As `jsonObjectBody` for a body that may be left out: no body (or only whitespace) is `{}`. */
export const optionalJsonObjectBody = createMiddleware<AppEnv>(async (c, next) => {
  const text = (await c.req.raw.text()).trim() || '{}';
  assertJsonObject(text);
  replaceBody(c, text);
  await next();
});

/**
 * As `jsonObjectBody` for small bodies from anyone (view beacons): at most `max(config)` bytes are read, more is a
 * 413 whatever Content-Length claims; `navigator.sendBeacon`'s text/plain is read as JSON.
 */
export const cappedJsonObjectBody = (max: (config: Config) => number, what: string) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const limit = max(c.var.config);
    const text = new TextDecoder().decode(await readCappedBody(c.req.raw, limit, `${what} are at most ${limit} bytes`));
    assertJsonObject(text);
    replaceBody(c, text);
    await next();
  });

/** The error body, as documented for every error response. */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]).openapi({ example: 'bad_request', description: 'One of the error catalogue (docs/api.md)' }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');

const errorText: Record<number, string> = {
  400: 'Invalid input',
  401: 'Missing or invalid credentials',
  403: 'Not allowed (another creator, or an origin the resource refuses)',
  404: 'Not found',
  409: 'Conflict with the current state',
  410: 'Expired or already used',
  411: 'Content-Length required',
  412: 'Tus-Resumable missing or unsupported',
  413: 'Too large',
  415: 'Unsupported media type',
  422: 'Uploaded bytes failed verification',
  429: 'Too many requests',
  501: 'Not implemented',
  503: 'Storage or a dependency unavailable',
};

/** `responses` entries for the given error statuses, all with the one error shape. */
export function errors(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((s) => [String(s), { description: errorText[s] ?? 'Error', content: { 'application/json': { schema: ErrorSchema } } }]),
  );
}

export const bearerAuth = [{ bearerAuth: [] }];

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

/** `?limit=` of a paged list: an integer from 1 to 100 given as a query string (one message for every list). */
export const limitQuery = (example: string) =>
  z
    .string()
    .regex(/^\d+$/, 'limit must be an integer from 1 to 100')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 100, 'limit must be an integer from 1 to 100')
    .optional()
    .openapi({ param: { name: 'limit', in: 'query' }, type: 'string', example });
