/**
 * TranscoderContainer's wiring to R2, as the Containers library uses it in production: the library keeps outbound
 * handlers in a registry keyed by class name (its static `outboundByHost` setter writes it), and ContainerProxy,
 * the entrypoint every intercepted request from the container goes through, reads that registry by class name.
 */
import { Container } from '@cloudflare/containers';
import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { keys } from '../../workers/shared/storage-keys';
import { STORAGE_HOST, TranscoderContainer } from '../../workers/transcoding/transcoder-container';
import { CALLBACK_HOST, dispatchTranscoderJob, type Transcoder } from '../../workers/transcoding/transcoder-client';
import { newCreator, newVideo } from './helpers';

const auth = { Authorization: `Bearer ${env.INTERNAL_TOKEN}` };
const props = { className: 'TranscoderContainer', containerId: 'test-container', enableInternet: false, interceptAll: false };

describe('TranscoderContainer outbound interception', () => {
  it('registers the storage handler in the library registry under the class name', () => {
    // An own `outboundByHost` property would shadow the base class's accessor: the registry would stay empty.
    expect(Object.hasOwn(TranscoderContainer, 'outboundByHost')).toBe(false);
    const readRegistry = Object.getOwnPropertyDescriptor(Container, 'outboundByHost')!.get!;
    // The base getter reads the registry by `this.name`, exactly as ContainerProxy does with props.className.
    const registered = readRegistry.call({ name: 'TranscoderContainer' }) as Record<string, unknown> | undefined;
    expect(Object.keys(registered ?? {})).toEqual([STORAGE_HOST, CALLBACK_HOST]);
  });

  it('serves storage.internal from R2 through the ContainerProxy the Worker exports, and nothing else', async () => {
    await env.MEDIA.put(keys.original('vid_proxy'), 'original bytes');
    const proxy = (exports as unknown as { ContainerProxy(o: { props: typeof props }): Fetcher }).ContainerProxy({ props });
    const read = await proxy.fetch(`http://${STORAGE_HOST}/originals/vid_proxy/original`, { headers: auth });
    expect(read.status).toBe(200);
    expect(await read.text()).toBe('original bytes');
    expect((await proxy.fetch(`http://${STORAGE_HOST}/originals/vid_proxy/original`)).status).toBe(401);
    // Outputs are written only for a video that exists and is not deleted (storage-gateway.ts).
    const { token } = await newCreator();
    const { id } = await newVideo(token);
    const write = await proxy.fetch(`http://${STORAGE_HOST}/videos/${id}/240p/playlist.m3u8`, { method: 'PUT', headers: auth, body: '#EXTM3U\n' });
    expect(write.status).toBe(201);
    expect(await (await env.MEDIA.get(keys.mediaPlaylist(id, '240p')))!.text()).toBe('#EXTM3U\n');
    const unknown = await proxy.fetch(`http://${STORAGE_HOST}/videos/vid_proxy/240p/playlist.m3u8`, { method: 'PUT', headers: auth, body: '#EXTM3U\n' });
    expect(unknown.status).toBe(410);
    // No internet: any other host is refused by the library before reaching a handler.
    const other = await proxy.fetch('http://example.com/', { headers: auth });
    expect(other.status).toBe(520);
  });
});

describe('dispatching a job to the transcoder', () => {
  it('a transcoder that never answers fails the dispatch after the time limit (twice tried), naming it; a 202 is accepted', async () => {
    const signals: AbortSignal[] = [];
    const silent: Transcoder = {
      post: (_path, _body, _instance, signal) => {
        signals.push(signal!);
        return new Promise<Response>((_resolve, reject) => signal!.addEventListener('abort', () => reject(signal!.reason)));
      },
    };
    expect(await dispatchTranscoderJob(silent, '/v1/encode', {}, 'i', 50)).toEqual({ status: 'failed', message: 'transcoder unreachable: no answer within 0.05 s' });
    expect(signals).toHaveLength(2);
    expect(signals.every((s) => s.aborted)).toBe(true);
    const accepting: Transcoder = { post: async () => new Response('{"accepted":true}', { status: 202 }) };
    expect(await dispatchTranscoderJob(accepting, '/v1/encode', {}, 'i', 50)).toEqual({ status: 'accepted' });
  });
});
