/**
 * The lifecycle hook table, installed as the Worker's entry point installs it (workers/index.ts), for tests that
 * move videos through the state machine directly rather than through `exports.default`.
 */
import { installLifecycleHooks } from '../../workers/lifecycle';
import { lifecycleHooks } from '../../workers/lifecycle-hooks';

installLifecycleHooks(lifecycleHooks);
