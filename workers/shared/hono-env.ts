import type { Config } from './config';
import type { Db } from './db';

/**
 * What a direct upload URL lets its holder do (set by workers/direct-uploads when such a URL is used): upload the
 * one video named, as its creator, within the size the URL allows.
 */
export interface DirectUploadScope {
  id: string;
  videoId: string;
  creatorId: string;
  maxSizeBytes: number | null;
  uploadId: string | null;
}

/** Variables set by middleware for every request. */
export interface AppVariables {
  config: Config;
  db: Db;
  /** Set by `requireCreator` / `optionalCreator`. */
  creatorId?: string;
  /** Set on a direct upload URL's tus requests: the one video (and upload) the URL's capability covers. */
  directUpload?: DirectUploadScope;
}

export type AppEnv = { Bindings: Env; Variables: AppVariables };
