/**
 * The embed page (GET /embed/{id}), oEmbed (GET /oembed) and the watch page's server-rendered master URL: what each
 * renders for which video and token, the CSP that decides who may frame the embed, and every bad input refused.
 */
import { describe, expect, it } from 'vitest';
import { importJWK, SignJWT, type JWK } from 'jose';
import { api } from './helpers';
import { playableVideo, signedMasterPath } from './playback-fixtures';

const ORIGIN = 'http://127.0.0.1:8787'; // PUBLIC_ORIGIN of the workers tests
const configOf = (html: string): Record<string, unknown> => JSON.parse(/<script type="application\/json" id="page-config">([\s\S]*?)<\/script>/.exec(html)![1]!);
const tokenOf = (masterPath: string) => /\/t\/([^/]+)\/master\.m3u8$/.exec(masterPath)![1]!;
const frameAncestors = (res: Response) => /frame-ancestors ([^;]+)/.exec(res.headers.get('content-security-policy') ?? '')?.[1];

async function unsignedVideo(patch: Record<string, unknown> = {}) {
  const v = await playableVideo();
  const res = await api(`/v1/videos/${v.id}`, { method: 'PATCH', token: v.token, json: { requireSignedURLs: false, title: 'A <b>bold</b> title', ...patch } });
  expect(res.status).toBe(200);
  return v;
}

async function embedError(path: string, status: number, code: string): Promise<void> {
  const res = await api(path);
  expect(res.status, path).toBe(status);
  const html = await res.text();
  expect(configOf(html).error, path).toMatchObject({ code });
  expect(html, path).not.toContain('<edge-video');
}

describe('GET /embed/{id}', () => {
  it('renders the player for a public video without a token, with the options as element attributes', async () => {
    const { id } = await unsignedVideo();
    const res = await api(`/embed/${id}?autoplay=1&muted&loop=true&controls=0&start=1m30s&primaryColor=%23ff6600&poster=https%3A%2F%2Fimg.example%2Fp.jpg`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`<edge-video id="player" video-id="${id}" aria-label="A &lt;b&gt;bold&lt;/b&gt; title" autoplay="" muted="" loop="" start="90" poster="https://img.example/p.jpg" primary-color="#ff6600"></edge-video>`);
    expect(html).toContain('<script type="module" src="/assets/embed.js"></script>');
    expect(configOf(html)).toEqual({ videoId: id, parentOrigins: null });
    expect(frameAncestors(res)).toBe('*');
    expect(res.headers.get('content-security-policy')).toContain("img-src 'self' data: blob: https://img.example");
    expect(res.headers.get('x-frame-options')).toBeNull();
  });

  it('plays a signed-only video with a valid token (private ones too), refuses it without or with a bad one', async () => {
    const v = await playableVideo();
    await embedError(`/embed/${v.id}`, 403, 'signature_required');
    const token = tokenOf(await signedMasterPath(v.id));
    const res = await api(`/embed/${v.id}?token=${token}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`token="${token}"`);
    await embedError(`/embed/${v.id}?token=${token.slice(0, -3)}abc`, 403, 'signature_bad_signature');
    await embedError(`/embed/${v.id}?token=${tokenOf(await signedMasterPath((await playableVideo()).id))}`, 403, 'signature_bad_signature');

    const hidden = await playableVideo({ visibility: 'private' });
    await embedError(`/embed/${hidden.id}`, 404, 'not_found');
    const privateToken = tokenOf(await signedMasterPath(hidden.id, hidden.token));
    expect((await api(`/embed/${hidden.id}?token=${privateToken}`)).status).toBe(200);
  });

  it('frames only on the origins every list allows: the video’s and a signed-key token’s', async () => {
    const v = await unsignedVideo({ allowedOrigins: ['https://app.example', 'https://blog.example'] });
    expect(frameAncestors(await api(`/embed/${v.id}`))).toBe('https://app.example https://blog.example');
    const key = await (await api('/v1/signing_keys', { method: 'POST', token: v.token, json: {} })).json<{ id: string; alg: 'ES256'; jwk: JWK }>();
    const sign = async (claims: Record<string, unknown>) =>
      new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.id }).setSubject(v.id).setExpirationTime('10m').sign(await importJWK(key.jwk, key.alg));
    const narrowed = await api(`/embed/${v.id}?token=${await sign({ allowedOrigins: ['https://app.example', 'https://shop.example'] })}`);
    expect(narrowed.status).toBe(200);
    expect(frameAncestors(narrowed)).toBe('https://app.example');
    const disjoint = await api(`/embed/${v.id}?token=${await sign({ allowedOrigins: ['https://shop.example'] })}`);
    expect(frameAncestors(disjoint)).toBe("'none'");
  });

  it('answers unknown, deleted, unready and malformed requests with an error page and its code', async () => {
    await embedError('/embed/vid_unknown0000000', 404, 'not_found');
    await embedError('/embed/..%2F..%2Fetc', 404, 'not_found');
    const deleted = await unsignedVideo();
    await api(`/v1/videos/${deleted.id}`, { method: 'DELETE', token: deleted.token });
    await embedError(`/embed/${deleted.id}`, 404, 'not_found');
    const uploading = await playableVideo({ status: 'UPLOADING', rungs: [] });
    await api(`/v1/videos/${uploading.id}`, { method: 'PATCH', token: uploading.token, json: { requireSignedURLs: false } });
    await embedError(`/embed/${uploading.id}`, 409, 'conflict');
    const { id } = await unsignedVideo();
    for (const query of ['autoplay=yes', 'autoplay=1&autoplay=0', 'start=abc', 'start=-5', 'primaryColor=red%3Bx', 'poster=javascript%3Aalert(1)', 'token=%3Cscript%3E', 'controls=2']) {
      const res = await api(`/embed/${id}?${query}`);
      expect(res.status, query).toBe(400);
      const html = await res.text();
      expect(configOf(html).error, query).toMatchObject({ code: 'bad_request' });
      expect(html, query).not.toContain('<script>');
    }
  });
});

describe('GET /oembed', () => {
  const oembed = (query: Record<string, string>) => api(`/oembed?${new URLSearchParams(query)}`);

  it("answers a watch page's video with the embed iframe, sized to fit maxwidth / maxheight", async () => {
    const { id } = await unsignedVideo();
    const res = await oembed({ url: `${ORIGIN}/watch/${id}`, format: 'json' });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const body = await res.json<Record<string, unknown>>();
    expect(body).toMatchObject({ version: '1.0', type: 'video', provider_name: 'edge-video', title: 'A <b>bold</b> title', width: 640, height: 360 });
    expect(body.html).toBe(`<iframe src="${ORIGIN}/embed/${id}" width="640" height="360" title="A &#60;b&#62;bold&#60;/b&#62; title" frameborder="0" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>`);
    expect(body.thumbnail_url).toBe(`${ORIGIN}/v/${id}/thumbnails/poster.jpg`);
    const small = await (await oembed({ url: `${ORIGIN}/watch/${id}`, maxwidth: '320' })).json<Record<string, unknown>>();
    expect([small.width, small.height, small.thumbnail_url]).toEqual([320, 180, undefined]);
    const short = await (await oembed({ url: `${ORIGIN}/embed/${id}?autoplay=1`, maxheight: '100' })).json<Record<string, unknown>>();
    expect([short.width, short.height]).toEqual([177, 100]);
    expect(short.html).toContain(`src="${ORIGIN}/embed/${id}?autoplay=1"`);
  });

  it('needs the token of a signed-only video in the embed URL, and keeps it', async () => {
    const v = await playableVideo();
    const res = await oembed({ url: `${ORIGIN}/watch/${v.id}` });
    expect(res.status).toBe(401);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('unauthorized');
    const token = tokenOf(await signedMasterPath(v.id));
    const withToken = await (await oembed({ url: `${ORIGIN}/embed/${v.id}?token=${token}` })).json<Record<string, unknown>>();
    expect(withToken.html).toContain(`/embed/${v.id}?token=${token}`);
    expect(withToken.thumbnail_url).toBe(`${ORIGIN}/v/${v.id}/t/${token}/thumbnails/poster.jpg`);
    expect((await oembed({ url: `${ORIGIN}/embed/${v.id}?token=${token}x` })).status).toBe(401);
  });

  it('refuses other hosts, unknown and private videos (404), bad sizes (400) and formats other than JSON (501)', async () => {
    const { id } = await unsignedVideo();
    const hidden = await playableVideo({ visibility: 'private' });
    const cases: Array<[Record<string, string>, number, string]> = [
      [{ url: `https://elsewhere.example/watch/${id}` }, 404, 'not_found'],
      [{ url: `${ORIGIN}/library` }, 404, 'not_found'],
      [{ url: `${ORIGIN}/watch/vid_unknown0000000` }, 404, 'not_found'],
      [{ url: `${ORIGIN}/watch/${hidden.id}` }, 404, 'not_found'],
      [{ url: 'not a url' }, 404, 'not_found'],
      [{}, 400, 'bad_request'],
      [{ url: `${ORIGIN}/embed/${id}?autoplay=maybe` }, 400, 'bad_request'],
      ...['abc', '0', '-5', '1e3', '12px', '99999'].map((w): [Record<string, string>, number, string] => [{ url: `${ORIGIN}/watch/${id}`, maxwidth: w }, 400, 'bad_request']),
      [{ url: `${ORIGIN}/watch/${id}`, maxheight: '1.5' }, 400, 'bad_request'],
      [{ url: `${ORIGIN}/watch/${id}`, format: 'xml' }, 501, 'not_implemented'],
      [{ url: `${ORIGIN}/watch/${id}`, format: 'yaml' }, 501, 'not_implemented'],
    ];
    for (const [query, status, code] of cases) {
      const res = await oembed(query);
      expect(res.status, JSON.stringify(query)).toBe(status);
      expect((await res.json<{ error: { code: string } }>()).error.code, JSON.stringify(query)).toBe(code);
    }
    const twice = await api(`/oembed?url=${encodeURIComponent(`${ORIGIN}/watch/${id}`)}&maxwidth=100&maxwidth=200`);
    expect(twice.status).toBe(400);
  });
});

describe('GET /watch/{id}: the master URL in the page', () => {
  it('signs a public video, leaves an unsigned one unsigned, and gives none for private or unready videos', async () => {
    const signed = await playableVideo();
    const html = await (await api(`/watch/${signed.id}`)).text();
    const src = configOf(html).src as string;
    expect(configOf(html).video).toEqual({ title: 'a video', description: 'd', duration: null, viewCount: 0 });
    expect(html).toContain('<h1 id="video-title">a video</h1>');
    expect(src).toMatch(new RegExp(`^${ORIGIN}/v/${signed.id}/t/[^/]+/master\\.m3u8$`));
    // The URL plays, and its response issues the viewer's playback session.
    const master = await api(new URL(src).pathname);
    expect(master.status).toBe(200);
    expect(master.headers.get('playback-session')).toMatch(/^k1\./);
    expect(html).toContain(`<link rel="alternate" type="application/json+oembed" href="${ORIGIN}/oembed?url=${encodeURIComponent(`${ORIGIN}/watch/${signed.id}`)}&amp;format=json" title="oEmbed"/>`);

    const open = await unsignedVideo();
    expect(configOf(await (await api(`/watch/${open.id}`)).text()).src).toBe(`${ORIGIN}/v/${open.id}/master.m3u8`);
    const hidden = await playableVideo({ visibility: 'private' });
    expect(configOf(await (await api(`/watch/${hidden.id}`)).text()).src).toBeNull();
    const uploading = await playableVideo({ status: 'UPLOADING', rungs: [] });
    expect(configOf(await (await api(`/watch/${uploading.id}`)).text()).src).toBeNull();
    expect(configOf(await (await api('/watch/vid_unknown0000000')).text()).src).toBeNull();
  });
});
