/** `npm run abr:sim -- --traces DIR --json OUT`: see workers/abr/sim/cli.ts. */
import path from 'node:path';
import { main } from '../workers/abr/sim/cli';

process.exit(main(process.argv.slice(2), path.resolve(import.meta.dirname, '..')));
