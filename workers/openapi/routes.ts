/**
 * `GET /openapi.json`: the OpenAPI 3.1 document of the whole public API, generated from the route schemas (and the
 * descriptions in documented.ts); `GET /reference`: the same document as a plain readable HTML page (no scripts,
 * nothing loaded from elsewhere), and a Content-Security-Policy that allows exactly that: its one inline stylesheet
 * (by hash), nothing else, and no framing.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { Hono } from 'hono';
import { html, raw } from 'hono/html';
import type { AppEnv } from '../shared/hono-env';

export { registerDocumentedRoutes } from './documented';

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;

type Doc = ReturnType<OpenAPIHono<AppEnv>['getOpenAPI31Document']>;

const cached = new Map<string, Doc>();

/** Generated once per isolate and origin (the routes do not change while it runs). */
export function openApiDocument(app: OpenAPIHono<AppEnv>, origin: string): Doc {
  const hit = cached.get(origin);
  if (hit) return hit;
  const doc = generate(app, origin);
  if (cached.size < 8) cached.set(origin, doc);
  return doc;
}

function generate(app: OpenAPIHono<AppEnv>, origin: string): Doc {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'edge-video API',
      version: '1',
      description: 'Edge-first video platform: uploads (chunks, tus, direct creator uploads), processing status, signed HLS playback, views, webhooks. Errors are always {"error":{"code","message"}}.',
    },
    servers: [{ url: origin }],
  });
}

const REFERENCE_STYLE = 'body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}section{border-top:1px solid #ddd;padding:.5rem 0}h3{margin:.3rem 0}ul{margin:.2rem 0}';

let referencePolicy: Promise<string> | null = null;

/** The page's policy: its stylesheet by SHA-256 (computed once per isolate), nothing else. */
function referenceCsp(): Promise<string> {
  referencePolicy ??= crypto.subtle.digest('SHA-256', new TextEncoder().encode(REFERENCE_STYLE)).then((digest) => {
    const hash = btoa(String.fromCharCode(...new Uint8Array(digest)));
    return `default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  });
  return referencePolicy;
}

interface Operation {
  summary?: string;
  description?: string;
  security?: unknown[];
  responses?: Record<string, { description?: string }>;
}

function referencePage(doc: Doc) {
  const paths = Object.entries(doc.paths ?? {}) as [string, Record<string, Operation>][];
  const rows = paths.flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => {
      const op = item[m]!;
      const statuses = Object.entries(op.responses ?? {})
        .map(([s, r]) => html`<li><code>${s}</code> ${r.description ?? ''}</li>`);
      return html`<section><h3><code>${m.toUpperCase()} ${path}</code>${op.security?.length ? html` <small>(creator token)</small>` : ''}</h3>
<p>${op.summary ?? ''}</p>${op.description ? html`<p>${op.description}</p>` : ''}<ul>${statuses}</ul></section>`;
    }),
  );
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>edge-video API reference</title>
<style>${raw(REFERENCE_STYLE)}</style></head>
<body><h1>${doc.info.title}</h1><p>${doc.info.description ?? ''}</p><p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${doc.openapi}).</p>${raw('')}${rows}</body></html>`;
}

export function openApiRoutes(app: OpenAPIHono<AppEnv>) {
  return new Hono<AppEnv>()
    .get('/openapi.json', (c) => c.json(openApiDocument(app, new URL(c.req.url).origin), 200, { 'Access-Control-Allow-Origin': '*' }))
    .get('/reference', async (c) =>
      c.html(referencePage(openApiDocument(app, new URL(c.req.url).origin)), 200, { 'Content-Security-Policy': await referenceCsp() }),
    );
}
