/** `npm run abr:sim -- --traces DIR --json OUT`: see abr/sim/cli.ts. */
import path from 'node:path';
import { main } from '../abr/sim/cli';

process.exit(main(process.argv.slice(2), path.resolve(import.meta.dirname, '..')));
