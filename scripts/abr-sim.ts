/** `npm run abr:sim -- --traces DIR --json OUT`: see abr/lab/sim/cli.ts. */
import path from 'node:path';
import { main } from '../abr/lab/sim/cli';
import { PLATFORM_MEDIA } from './abr-media';

process.exit(main(process.argv.slice(2), path.resolve(import.meta.dirname, '..'), PLATFORM_MEDIA));
