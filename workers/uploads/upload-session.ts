import { DurableObject } from 'cloudflare:workers';

/** One resumable upload: owns the R2 multipart upload, stored parts and the 24 h expiry. (Built in the uploads issue.) */
export class UploadSession extends DurableObject<Env> {}
