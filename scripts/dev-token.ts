/** `npm run -s dev:token`: prints a valid creator token for the local platform (creating it if needed). */
import { applyLocalMigrations, ensureDevToken } from './local-env';

applyLocalMigrations();
process.stdout.write(ensureDevToken() + '\n');
