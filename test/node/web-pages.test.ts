/** The server-rendered page shells: markup, accessibility hooks, embedded config, security headers, bad ids. */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../workers/shared/config';
import type { AppEnv } from '../../workers/shared/hono-env';
import { scriptJson } from '../../workers/web/layout';
import { webRoutes } from '../../workers/web/routes';

const app = new Hono<AppEnv>();
app.use(async (c, next) => {
  c.set('config', loadConfig(c.env));
  await next();
});
app.route('/', webRoutes);
const env = { PUBLIC_ORIGIN: 'https://media.example' } as unknown as Env;
const get = (path: string) => app.request(`https://app.example${path}`, {}, env);

function pageConfigOf(html: string): unknown {
  const m = /<script type="application\/json" id="page-config">([\s\S]*?)<\/script>/.exec(html);
  return m ? JSON.parse(m[1]!) : null;
}

describe('pages', () => {
  it.each(['/signin', '/upload', '/library', '/watch/vid_abc', '/stats/vid_abc'])('%s is a complete, labelled HTML page', async (path) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('name="viewport"');
    expect(html).toContain('href="#main"');
    const page = path.split('/')[1];
    expect(html).toContain(`<script type="module" src="/assets/${page}.js"></script>`);
    // every form control has a label
    for (const m of html.matchAll(/<(input|textarea|select)[^>]*\bid="([^"]+)"/g)) {
      const id = m[2]!;
      const labelled = html.includes(`for="${id}"`) || new RegExp(`<(input|select|textarea)[^>]*id="${id}"[^>]*aria-label=`).test(html) || new RegExp(`<label[^>]*>(?:(?!</label>).)*id="${id}"`, 's').test(html);
      expect(labelled, `#${id} has a label`).toBe(true);
    }
  });

  it('sends a strict content security policy that allows the playback origin for media', async () => {
    const res = await get('/watch/vid_abc');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain('media-src \'self\' blob: https://media.example');
    expect(csp).toContain('connect-src \'self\' https://media.example');
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
  });

  it('embeds the upload chunk size and the view rule from the config module', async () => {
    const config = loadConfig({});
    expect(pageConfigOf(await (await get('/upload')).text())).toMatchObject({ tusEndpoint: '/v1/uploads', chunkSize: config.uploads.chunkSize });
    // No D1 here: the watch page renders without a master URL (test/workers/embed-pages.test.ts renders it with one).
    expect(pageConfigOf(await (await get('/watch/vid_abc')).text())).toEqual({
      videoId: 'vid_abc',
      viewRule: { minWatchSeconds: 30, shortVideoSeconds: 60, shortVideoFraction: 0.5 },
      src: null,
      video: null,
    });
  });

  it('answers 404 for ids that are not video ids, without reflecting them', async () => {
    for (const path of ['/watch/..%2F..%2Fetc', '/watch/%3Cscript%3E', '/stats/a%20b']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      const html = await res.text();
      expect(html).not.toContain('<script>');
      expect(html).toContain('There is no video at this address');
    }
  });

  it('redirects / to the library', async () => {
    const res = await get('/');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/library');
  });

  it('embeds config JSON that cannot close its script element', () => {
    expect(scriptJson({ t: '</script><script>alert(1)</script>' })).not.toContain('</script>');
    expect(JSON.parse(scriptJson({ t: '</script>' }))).toEqual({ t: '</script>' });
  });
});
