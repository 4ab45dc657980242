/**
 * ffmpeg/ffprobe reading storage over HTTP: the input options every reader of a storage URL uses, and how their
 * stderr tells a failed read from a recovered one. No imports: the benchmark (bench/storage-read) uses them too.
 */
/**
 * ffmpeg's input options for storage URLs (the bounded-read proxy, range-proxy.ts). When a response ends before
 * its Content-Length (the proxy drops it after storage failed; any dropped connection), ffmpeg 5.1 logs "Stream
 * ends prematurely" and, without `-reconnect`, takes the input as ended and exits 0: a silently cut chunk. With
 * `-reconnect 1` it asks again from that offset at once; a reconnect that fails is retried once after 1 s
 * (`-reconnect_delay_max 2`), then ffmpeg gives up, and `run` (process.ts) sees that on stderr and fails the job as
 * transient whatever ffmpeg's exit status.
 */
export const FFMPEG_HTTP_READ = ['-reconnect', '1', '-reconnect_delay_max', '2'];

/**
 * A storage read failed under ffmpeg/ffprobe (a request answered with an HTTP error, a connection that failed, a
 * reconnect that did not succeed at once). Transient: the job is retried. ffmpeg itself may exit 0 after it, with
 * a cut input, so this is detected on its stderr (process.ts), never left to its exit status.
 */
export class StorageReadError extends Error {}

/** ffmpeg's http/tcp messages when a read of the storage URL failed (logged at warning level and above). */
const READ_FAILURE = /^\[(?:http|tcp) @ [^\]]+\] (?:HTTP error \d+.*|Failed to reconnect at .*|Connection to \S+ failed.*|Will reconnect at \d+ in [1-9]\d* second.*|Stream ends prematurely at \d+, should be 18446744073709551615)$/;
/**
 * A response that ended early and was asked for again at once (`-reconnect`): recovered, so left out of the stderr
 * that error messages and classification see.
 */
const PIECE_END = /^\[http @ [^\]]+\] (?:Stream ends prematurely at \d+, should be \d+|Will reconnect at \d+ in 0 second\(s\).*)$/;

/** Classifies one stderr line of ffmpeg/ffprobe: a storage read failure, a recovered early end, or other. */
export function httpReadLine(line: string): 'failure' | 'piece-end' | 'other' {
  if (READ_FAILURE.test(line)) return 'failure';
  return PIECE_END.test(line) ? 'piece-end' : 'other';
}

/** For output collected without `run` (media-jobs' `runBinary`): the first read failure, and stderr without piece ends. */
export function splitHttpReadLog(stderr: string): { failure: string | null; rest: string } {
  let failure: string | null = null;
  const rest: string[] = [];
  for (const line of stderr.split('\n')) {
    const kind = httpReadLine(line);
    if (kind === 'failure') failure ??= line;
    if (kind !== 'piece-end') rest.push(line);
  }
  return { failure, rest: rest.join('\n') };
}
