import type { Config } from './config';
import type { Db } from './db';

/** Variables set by middleware for every request. */
export interface AppVariables {
  config: Config;
  db: Db;
  /** Set by `requireCreator` / `optionalCreator`. */
  creatorId?: string;
}

export type AppEnv = { Bindings: Env; Variables: AppVariables };
