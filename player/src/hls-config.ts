/**
 * How the platform's player configures hls.js (core.ts; bench/abr-player plays the same configuration as its
 * "platform" player):
 * - `abrController`: the platform's ABR controller (abr/hls-abr-controller.ts);
 * - `progressive`: segments are appended to the buffer as their bytes arrive (hls.js's fetch loader), so the first
 *   frame shows before the first segment has finished downloading: on the ABR benchmark's traces the first frame
 *   comes 35–50 % sooner than with hls.js's defaults (docs/benchmarks.md).
 */
import type { HlsConfig } from 'hls.js';
import { PlatformAbrController } from '../../abr/hls-abr-controller';

export const PLAYER_HLS_CONFIG: Partial<HlsConfig> = { abrController: PlatformAbrController, progressive: true };
