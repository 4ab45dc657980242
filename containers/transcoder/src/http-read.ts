/**
 * ffmpeg/ffprobe reading the storage gateway over HTTP: the input options every reader of a storage URL uses, and
 * how their stderr tells a failed read from the normal end of one bounded response. No imports: the benchmark
 * (bench/storage-read) uses the same options.
 */
/**
 * How ffmpeg reads storage over HTTP. The gateway answers a range with at most a few MB (an open-ended `bytes=N-`
 * gets `206 bytes N-(N+4Mi-1)/size`, workers/transcoding/storage-gateway.ts), and ffmpeg 5.1 reads a body that ends
 * before the size in Content-Range as "Stream ends prematurely" (an I/O error): without `-reconnect` it then takes
 * the input as ended (a silently cut chunk). With `-reconnect 1` it asks again from that offset at once (checked
 * with real runs: frame-identical output for a seek into a 156 MB MP4 and for its whole audio track). A reconnect
 * that fails is retried once after 1 s (`-reconnect_delay_max 2`), then ffmpeg gives up; `run` (process.ts) sees
 * that on stderr and fails the job as transient, whatever ffmpeg's exit status (it exits 0 with a cut input).
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
 * What every bounded read ends with (the gateway's 206 ended before the object did; `-reconnect` asks again at once):
 * normal operation, dropped from the stderr that error messages and classification see.
 */
const PIECE_END = /^\[http @ [^\]]+\] (?:Stream ends prematurely at \d+, should be \d+|Will reconnect at \d+ in 0 second\(s\).*)$/;

/** Classifies one stderr line of ffmpeg/ffprobe: a storage read failure, a bounded read's normal end, or other. */
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
