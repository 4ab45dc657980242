/**
 * The platform's encoding (ladder and segment duration, from the Worker's config) as the ABR lab takes it. The lab
 * (abr/lab) imports nothing from workers/; the scripts and tests hand it this.
 */
import { defaults, LADDER } from '../workers/shared/config';
import type { LabMedia } from '../abr/lab/sim/cli';

export const PLATFORM_MEDIA: LabMedia = { ladder: LADDER, segmentDurationSec: defaults.transcoding.segmentDurationSec };
