/**
 * Two kinds of failure, because the queue consumer treats them differently: an `InputError` means the uploaded file
 * itself cannot be processed (retrying cannot help; the video fails with this user-readable message), anything else
 * is transient (storage hiccup, killed process, full disk) and is retried with backoff.
 */
export class InputError extends Error {
  readonly permanent = true;
}

/**
 * Last meaningful lines of ffmpeg's stderr, for logs and messages. ffmpeg prefixes messages with the input's URL,
 * which is the internal storage route (host, port, key); users see these messages, so URLs become "the upload".
 */
export function stderrTail(stderr: string, lines = 3): string {
  return stderr
    .split('\n')
    .map((l) => l.replace(/[a-z][a-z0-9+.-]*:\/\/\S+?(?=:\s|\s|$)/gi, 'the upload').trim())
    .filter((l) => l && !l.startsWith('frame=') && !l.startsWith('size='))
    .slice(-lines)
    .join(' | ');
}

/** ffmpeg messages that mean "this input is not decodable", as opposed to an environment problem. */
const INPUT_PROBLEMS = [
  'Invalid data found when processing input',
  'moov atom not found',
  'could not find codec parameters',
  'Could not find codec parameters',
  'no frame!',
  'Invalid NAL unit size',
  'error while decoding',
  'Error while decoding',
  'partial file',
  'Failed to open codec',
  'Decoder (codec',
];

export function looksLikeInputProblem(stderr: string): boolean {
  return INPUT_PROBLEMS.some((p) => stderr.includes(p));
}
