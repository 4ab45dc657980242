#!/usr/bin/env node
// `bin` entry of the upload CLI: loads the TypeScript source through tsx (a dependency of this repository).
import { register } from 'tsx/esm/api';

register();
await import('./upload.ts');
