/**
 * CORS for the view beacon: players embedded on other origins POST views with a JSON body, which makes browsers
 * send a preflight first. Any origin may report (a view is judged by the rules, not by where it came from); no
 * cookies cross origins (no credentials), so such players send their own `viewerId`.
 */
import { cors } from 'hono/cors';

export const beaconCors = cors({
  origin: '*',
  allowMethods: ['POST', 'OPTIONS'],
  allowHeaders: ['Content-Type', 'Authorization'],
  maxAge: 86400,
});
