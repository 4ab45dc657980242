import { encodeRungs } from './src/pipeline';
const mk = (name: string, w: number, h: number, b: number) => ({ name, width: w, height: h, bitrate: b, maxrate: b * 1.5, bufsize: b * 2, outputPrefix: `videos/x/${name}/` });
const t = Date.now();
const r = await encodeRungs('/tmp/tt/src1080.mp4', { sourceKey: 'x', rungs: [mk('240p', 426, 240, 400000), mk('360p', 640, 360, 800000), mk('480p', 854, 480, 1500000), mk('720p', 1280, 720, 3000000), mk('1080p', 1920, 1080, 6000000)], segmentDurationSec: 6, audioBitrate: 128000, x264Preset: 'veryfast', sourceDuration: 12, sourceHasAudio: true, sourceFrameRate: 30, maxFrameRate: 60 }, '/tmp/tt/work', { onProgress: (p) => console.log('p', p), upload: async (r, f, n) => console.log('up', r.name, n) });
console.log(JSON.stringify(r, null, 1), (Date.now() - t) / 1000);
