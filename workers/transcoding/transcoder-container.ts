import { Container } from '@cloudflare/containers';

/** The FFmpeg transcoder image (containers/transcoder) in production. (Wired in the transcoding issue.) */
export class TranscoderContainer extends Container<Env> {
  override defaultPort = 8080;
  override sleepAfter = '10m';
}
