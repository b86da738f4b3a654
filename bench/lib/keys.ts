/** Credentials generated per run: nothing secret is checked in, and the real API is never called. */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';

export interface BenchCredentials {
  applicationId: string;
  privateKey: string;
  signatureSecret: string;
}

export function generateCredentials(): BenchCredentials {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { applicationId: randomUUID(), privateKey, signatureSecret: randomBytes(32).toString('hex') };
}
