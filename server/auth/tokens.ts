// JSON Web Tokens (HS256) for access and refresh, signed with a per-user secret so that changing the
// secret (logout everywhere, password change) revokes every token that user holds.
import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface TokenClaims {
  /** Username. */
  sub: string;
  /** `access` or `refresh`. */
  typ: 'access' | 'refresh';
  iat: number;
  exp: number;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export function signToken(claims: TokenClaims, secret: string): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** The claims without checking anything: used only to find whose secret verifies the token. */
export function peekClaims(token: string): TokenClaims | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as TokenClaims;
    return typeof claims.sub === 'string' ? claims : null;
  } catch {
    return null;
  }
}

/** Null unless the signature matches, the type is right and the token has not expired. */
export function verifyToken(
  token: string,
  secret: string,
  type: TokenClaims['typ'],
  nowS: number,
): TokenClaims | null {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return null;
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const claims = peekClaims(token);
  if (!claims || claims.typ !== type || claims.exp <= nowS) return null;
  return claims;
}

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('hex');
}

const SCRYPT_KEY_BYTES = 64;

/** `scrypt$<salt>$<hash>`; scrypt is in node:crypto, so no native argon2 build is needed on a Pi. */
export function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16).toString('hex');
  return new Promise((resolve, reject) => {
    scrypt(password, salt, SCRYPT_KEY_BYTES, (error, key) => {
      if (error) reject(error);
      else resolve(`scrypt$${salt}$${key.toString('hex')}`);
    });
  });
}

export function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return Promise.resolve(false);
  return new Promise((resolve) => {
    scrypt(password, salt, SCRYPT_KEY_BYTES, (error, key) => {
      if (error) return resolve(false);
      const expected = Buffer.from(hash, 'hex');
      resolve(expected.length === key.length && timingSafeEqual(expected, key));
    });
  });
}
