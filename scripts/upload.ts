/** `npm run upload -- <file> [--title …]`: the upload CLI (see scripts/upload-cli/run.ts). */
import { main } from './upload-cli/run';

const tty = process.stdout.isTTY === true;
const code = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${tty ? '\r\x1b[2K' : ''}${line}\n`),
  err: (line) => process.stderr.write(`${tty ? '\r\x1b[2K' : ''}${line}\n`),
  status: tty ? (line) => process.stdout.write(`\r\x1b[2K${line}`) : null,
  env: process.env,
  cwd: process.env.INIT_CWD ?? process.cwd(),
  onInterrupt: (handler) => {
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
  },
});
process.exit(code);
