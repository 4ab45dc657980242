import { SIGNING_KEY_ALGS } from '../../schema/schema';
import { z } from '../shared/openapi';

export const CreateSigningKeySchema = z
  .strictObject({
    alg: z.enum(SIGNING_KEY_ALGS).optional().openapi({ description: 'ES256 (default) or RS256' }),
  })
  .openapi('CreateSigningKey');

export const SigningKeyParams = z.object({
  id: z.string().regex(/^key_[0-9a-z]{16}$/, 'not a signing key id').openapi({ param: { name: 'id', in: 'path' }, example: 'key_1k9x3m7q2w8e4r6t' }),
});

export const NewSigningKeySchema = z
  .object({
    id: z.string().openapi({ description: 'The key id: the `kid` of the tokens it signs' }),
    alg: z.enum(SIGNING_KEY_ALGS),
    jwk: z.record(z.string(), z.unknown()).openapi({ description: 'The private key as a JWK (shown once; not stored)' }),
    pem: z.string().openapi({ description: 'The private key as a PKCS#8 PEM (shown once; not stored)' }),
    createdAt: z.string(),
  })
  .openapi('NewSigningKey');

export const SigningKeySchema = z
  .object({ id: z.string(), alg: z.enum(SIGNING_KEY_ALGS), createdAt: z.string() })
  .openapi('SigningKey');
