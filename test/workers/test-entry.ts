/**
 * The Worker as the workerd tests run it (vitest.config.ts `main`): the production entry point, with the Durable
 * Object classes that need fault injection replaced by test subclasses. Production code has no test hooks; a
 * subclass wraps a dependency the object takes through its host interface.
 *
 * Every entrypoint is re-exported by name (not `export *`): the pool builds `ctx.exports` (loopback bindings such as
 * `exports.ContainerProxy`) from the names the main module lists explicitly.
 */
export { default, UploadSession, ClientLimiter, TranscoderContainer, ContainerProxy, LiveInput } from '../../workers/index';
export { TestViewCounter as ViewCounter } from './test-objects';
