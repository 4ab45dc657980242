/**
 * @edge-video/player: the `<edge-video>` web component (element.ts), defined on import. The platform serves this
 * module, built as one file, at `/player.js`; `npm run build` in player/ makes the same file for an npm package.
 */
import { defineEdgeVideo } from './element';

export { EdgeVideoElement, defineEdgeVideo } from './element';
export type { PlayerEventDetails, PlayerEventName } from './events';

defineEdgeVideo();
