import type { Config } from './config';
import type { Db } from './db';
import type { DirectUploadScope } from '../direct-uploads/capability';

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
