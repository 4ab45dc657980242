/**
 * The OpenAPI document (GET /openapi.json) is generated from the app itself; here it is checked by a real
 * OpenAPI 3.1 validator (@seriousme/openapi-schema-validator, JSON Schema of the spec), and against the app's
 * router in both directions: every documented operation is a route, and every public route is documented.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { app } from '../../workers/app';
import { openApiDocument } from '../../workers/openapi/routes';

const doc = openApiDocument(app, 'http://127.0.0.1:8787');
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;

/** Hono's pattern (`/v1/videos/:id`, `/v/*`) as a regular expression over concrete paths. */
function honoPattern(path: string): RegExp {
  const body = path
    .split('/')
    .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body.replace(/\/\.\*$/, '(/.*)?')}/?$`);
}

const concrete = (docPath: string) => docPath.replace(/\{[^}]+\}/g, 'sample_1');
const documented = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
  METHODS.filter((m) => (item as Record<string, unknown>)[m]).map((m) => ({ method: m.toUpperCase(), path })),
);
const handlers = app.routes.filter((r) => r.method !== 'ALL');

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(JSON.stringify(doc)));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('documents operations that all exist in the app', () => {
    expect(documented.length).toBeGreaterThan(30);
    const missing = documented.filter(({ method, path }) => {
      // HEAD is answered by the GET handler; a CORS preflight may be answered by a path's CORS middleware.
      const wanted = method === 'HEAD' ? ['HEAD', 'GET'] : method === 'OPTIONS' ? ['OPTIONS', 'ALL'] : [method];
      return !app.routes.some((r) => wanted.includes(r.method) && !/^\/?\*$/.test(r.path) && honoPattern(r.path).test(concrete(path)));
    });
    expect(missing).toEqual([]);
  });

  it('documents every public route (all but /internal, /__bench and the web pages)', () => {
    const publicRoutes = handlers.filter((r) => /^\/(v1|v)\//.test(r.path) || ['/healthz', '/openapi.json', '/reference'].includes(r.path));
    const undocumented = publicRoutes.filter(
      (r) => !documented.some(({ method, path }) => (method === r.method || (method === 'HEAD' && r.method === 'GET')) && honoPattern(r.path).test(concrete(path))),
    );
    expect(undocumented.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  it('gives every operation its error responses in the one error shape', () => {
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      for (const m of METHODS) {
        const op = (item as Record<string, { responses?: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> }>)[m];
        if (!op || m === 'options' || path === '/healthz' || path === '/openapi.json' || path === '/reference') continue;
        const errorStatuses = Object.keys(op.responses ?? {}).filter((s) => Number(s) >= 400);
        expect(errorStatuses.length, `${m} ${path}`).toBeGreaterThan(0);
        for (const s of errorStatuses) expect(op.responses![s]!.content?.['application/json']?.schema?.$ref, `${m} ${path} ${s}`).toBe('#/components/schemas/Error');
      }
    }
  });
});
