/** Command-line arguments of `npm run upload -- <file> [options]`. Pure (unit-tested). */
export interface UploadArgs {
  file: string;
  title: string | null;
  description: string;
  origin: string;
  token: string | null;
  wait: boolean;
  statePath: string | null;
}

export const USAGE = `Usage: npm run upload -- <file> [options]

Uploads a video to the platform with the resumable tus API, waits for processing and prints the watch URL.
Run the same command again after an interruption and the upload continues where it stopped.

Options:
  --title <text>         title (default: the file name)
  --description <text>   description
  --origin <url>         platform origin (default: $EDGE_VIDEO_ORIGIN or http://127.0.0.1:8787)
  --token <token>        creator API token (default: $EDGE_VIDEO_TOKEN; locally, npm start's token)
  --no-wait              print the watch URL as soon as the upload is complete
  --state <file>         where unfinished uploads are remembered (default: ~/.local/state/edge-video/uploads.json)
  -h, --help             this help`;

export class ArgsError extends Error {}

export function parseArgs(argv: readonly string[], env: Record<string, string | undefined>): UploadArgs | 'help' {
  const args: UploadArgs = {
    file: '',
    title: null,
    description: '',
    origin: env.EDGE_VIDEO_ORIGIN || 'http://127.0.0.1:8787',
    token: env.EDGE_VIDEO_TOKEN || null,
    wait: true,
    statePath: env.EDGE_VIDEO_STATE || null,
  };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new ArgsError(`${name} needs a value`);
      return next;
    };
    switch (name) {
      case '-h':
      case '--help':
        return 'help';
      case '--title':
        args.title = value();
        break;
      case '--description':
        args.description = value();
        break;
      case '--origin':
        args.origin = value();
        break;
      case '--token':
        args.token = value();
        break;
      case '--state':
        args.statePath = value();
        break;
      case '--no-wait':
        args.wait = false;
        break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw new ArgsError(`unknown option ${arg}`);
        positional.push(arg);
    }
  }
  if (positional.length === 0) throw new ArgsError('which file? Give the path of a video file.');
  if (positional.length > 1) throw new ArgsError(`one file at a time (got ${positional.length}: ${positional.join(', ')})`);
  args.file = positional[0]!;
  let origin: URL;
  try {
    origin = new URL(args.origin);
  } catch {
    throw new ArgsError(`--origin must be a URL like http://127.0.0.1:8787 (got ${JSON.stringify(args.origin)})`);
  }
  if (origin.protocol !== 'http:' && origin.protocol !== 'https:') throw new ArgsError('--origin must be an http(s) URL');
  args.origin = origin.origin;
  if (args.title !== null && args.title.trim() === '') throw new ArgsError('--title must not be empty');
  return args;
}
