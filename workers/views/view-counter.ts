import { DurableObject } from 'cloudflare:workers';

/** One shard of a video's view counter. (Built in the views issue.) */
export class ViewCounter extends DurableObject<Env> {}
