/**
 * auth.ts for runtimes without `node:crypto` (the Workers build swaps it in): the send JWT
 * is signed RS256 with Web Crypto (`crypto.subtle`, RSASSA-PKCS1-v1_5 with SHA-256), the
 * same token auth.ts signs. Web Crypto is asynchronous, so the key is imported on the first
 * header and each renewal returns a Promise; the token is cached the same way. A key that is
 * not RSA is refused at `createMessenger`, as auth.ts does; one Web Crypto refuses later (under
 * 2048 bits) fails that first send with the ValidationError auth.ts would have thrown there.
 *
 * @module
 */
import { base64urlDecode, base64urlEncode, utf8Decode, utf8Encode } from '../bytes.js';
import { ValidationError } from '../errors.js';
import { type AuthProvider, cachedJwt, type JwtCacheOptions, rs256SigningInput } from './auth-shared.js';

export { type AuthProvider, basicAuth, type JwtClaims, type SyncAuthProvider } from './auth-shared.js';

/** Options of {@link jwtAuth} (the Web Crypto one). */
export interface WebJwtAuthOptions extends JwtCacheOptions {
  /** PEM text, or its bytes. */
  privateKey: string | Uint8Array;
}

const notPem = () =>
  new ValidationError('privateKey is not a valid PEM private key', [
    { path: 'privateKey', message: 'not a valid PEM private key' },
  ]);

const cannotSign = (found: string) =>
  new ValidationError(
    `privateKey cannot sign an RS256 JWT: it is ${found}; Vonage needs the RSA private key (2048 bits or more) generated for the application`,
    [{ path: 'privateKey', message: 'cannot sign an RS256 JWT' }],
  );

/**
 * Checks the key is PEM text (also with `\n` escapes from an env var) and returns it. There
 * is no file system here, so a path is refused with what to pass instead.
 */
export function loadPrivateKey(value: string | Uint8Array): string {
  const text = typeof value === 'string' ? value : utf8Decode(value);
  if (!text.includes('-----BEGIN')) {
    throw new ValidationError(
      'privateKey must be the PEM text here (this runtime has no file system to read a path from): pass the contents of private.key, e.g. from a secret',
      [{ path: 'privateKey', message: 'not PEM text (file paths need Node)' }],
    );
  }
  const pem = text.includes('\n') ? text : text.replace(/\\n/g, '\n');
  pemDer(pem);
  return pem;
}

/** The DER bytes of a PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) PEM block, as PKCS#8. */
function pemDer(pem: string): Uint8Array {
  const match = /-----BEGIN (RSA )?PRIVATE KEY-----([\s\S]+?)-----END \1?PRIVATE KEY-----/.exec(pem);
  if (match === null) {
    if (/-----BEGIN (EC |ENCRYPTED )?PRIVATE KEY-----/.test(pem)) throw cannotSign('not an unencrypted RSA key');
    throw notPem();
  }
  const body = (match[2] as string).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw notPem();
  const der = base64urlDecode(body);
  // Every DER private key is a SEQUENCE.
  if (der[0] !== 0x30) throw notPem();
  if (match[1] !== undefined) return pkcs1ToPkcs8(der);
  // Checked here, at creation, as Node does: Web Crypto would only refuse it at the first send.
  if (!isRsaPkcs8(der)) throw cannotSign('not an RSA key');
  return der;
}

const RSA_OID = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/** A PKCS#8 PrivateKeyInfo whose algorithm is rsaEncryption: SEQUENCE { version, SEQUENCE { OID … } … }. */
function isRsaPkcs8(der: Uint8Array): boolean {
  const lengthOctets = (der[1] as number) < 0x80 ? 1 : 1 + ((der[1] as number) & 0x7f);
  const version = 1 + lengthOctets; // INTEGER 0 or 1: 02 01 0x
  if (der[version] !== 0x02 || der[version + 1] !== 0x01) return false;
  const algorithm = version + 3; // SEQUENCE, short length, then the OID
  if (der[algorithm] !== 0x30) return false;
  return RSA_OID.every((byte, i) => der[algorithm + 2 + i] === byte);
}

/** DER length octets. */
function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return [0x80 | bytes.length, ...bytes];
}

// AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }.
const RSA_ALGORITHM = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];

/** Web Crypto imports PKCS#8 only: an RSA PKCS#1 key is wrapped as PrivateKeyInfo (RFC 5208). */
function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array {
  const octets = [0x04, ...derLength(pkcs1.length)];
  const inner = [0x02, 0x01, 0x00, ...RSA_ALGORITHM, ...octets];
  const head = [0x30, ...derLength(inner.length + pkcs1.length), ...inner];
  const out = new Uint8Array(head.length + pkcs1.length);
  out.set(head);
  out.set(pkcs1, head.length);
  return out;
}

const RS256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

async function importRs256(pem: string): Promise<CryptoKey> {
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('pkcs8', pemDer(pem) as Uint8Array<ArrayBuffer>, RS256, false, ['sign']);
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw cannotSign('not an RSA key Web Crypto can import');
  }
  const bits = (key.algorithm as RsaHashedKeyAlgorithm).modulusLength ?? 0;
  if (bits < 2048) throw cannotSign(`an RSA key of ${bits} bits`);
  return key;
}

/**
 * A cached bearer JWT for application `applicationId`, signed with Web Crypto.
 */
export function jwtAuth(options: WebJwtAuthOptions): AuthProvider {
  const pem = loadPrivateKey(options.privateKey);
  let key: Promise<CryptoKey> | undefined;
  return cachedJwt(options, async (claims) => {
    // A refused key is not retried: the same PEM would be refused again.
    key ??= importRs256(pem);
    const input = rs256SigningInput(claims);
    const signature = await crypto.subtle.sign(RS256, await key, utf8Encode(input) as Uint8Array<ArrayBuffer>);
    return `${input}.${base64urlEncode(new Uint8Array(signature))}`;
  });
}
