/**
 * The controller's token key pair (Ed25519, JWS `EdDSA`): derived from the auth secret or read from a PEM file,
 * and its public half as a JWKS (served at `GET /.well-known/jwks.json`, fetched by external combiners so
 * that they verify client tokens without being able to mint any).
 */
import { createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, importJWK, type JSONWebKeySet, type JWK } from 'jose';
import { z } from 'zod';
import { fedError, isFedError, requestJson } from '@fedweb/codec';

/** The path of the controller's public JWKS. */
export const JWKS_PATH = '/.well-known/jwks.json';

/** What signs tokens (the controller, `fedweb token`). */
export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The RFC 7638 thumbprint of the public JWK, sent as the token's `kid`. */
  kid: string;
}

/** What verifies tokens: a function jose's `jwtVerify` accepts (the public key, selected by `kid`). */
export type VerifyKey = ReturnType<typeof createLocalJWKSet>;

/** The secret's minimum length. */
export const MIN_SECRET_LENGTH = 16;
// PKCS#8 DER of an Ed25519 private key is this 16-byte prefix followed by the 32-byte seed (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

async function readKeyFile(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw fedError('BAD_CONFIG', `cannot read the ${what} file ${file}: ${(e as Error).message}`);
  }
}

async function signingKeyOf(privateKey: KeyObject): Promise<SigningKey> {
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw fedError('BAD_CONFIG', `the token signing key must be an Ed25519 private key, got ${privateKey.asymmetricKeyType ?? privateKey.type}`);
  }
  const publicKey = createPublicKey(privateKey);
  const kid = await calculateJwkThumbprint(await exportJWK(publicKey));
  return { privateKey, publicKey, kid };
}

/**
 * Derives the Ed25519 signing key from the auth secret (HKDF-SHA256, fixed salt and info): the same secret
 * always gives the same key, so `--secret` setups need no key file.
 * @example
 * ```ts
 * const key = await deriveSigningKey(process.env.FEDWEB_SECRET!);
 * ```
 */
export async function deriveSigningKey(secret: string): Promise<SigningKey> {
  if (secret.length < MIN_SECRET_LENGTH) throw fedError('BAD_CONFIG', `the auth secret must be at least ${MIN_SECRET_LENGTH} characters`);
  const seed = Buffer.from(hkdfSync('sha256', secret, 'fedweb-auth', 'fedweb jwt ed25519 signing key v1', 32));
  return signingKeyOf(createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' }));
}

/**
 * Reads an Ed25519 private key (PKCS#8 PEM, e.g. `openssl genpkey -algorithm ed25519 -out key.pem`).
 * @example
 * ```ts
 * const key = await loadSigningKey('/etc/fedweb/token-key.pem');
 * ```
 */
export async function loadSigningKey(file: string): Promise<SigningKey> {
  const pem = await readKeyFile(file, 'token key');
  try {
    return await signingKeyOf(createPrivateKey(pem));
  } catch (e) {
    if (isFedError(e)) throw e;
    throw fedError('BAD_CONFIG', `${file} is not a PEM private key: ${(e as Error).message}`);
  }
}

/**
 * The public JWKS of a signing key (what `GET /.well-known/jwks.json` answers).
 * @example
 * ```ts
 * app.get(JWKS_PATH, async () => publicJwks(key));
 * ```
 */
export async function publicJwks(key: SigningKey): Promise<JSONWebKeySet> {
  return { keys: [{ ...(await exportJWK(key.publicKey)), kid: key.kid, alg: 'EdDSA', use: 'sig' }] };
}

const Ed25519Jwk = z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string().min(40).max(64), kid: z.string().max(128).optional() }).loose();
/**
 * A JWK Set of Ed25519 public keys (what `GET /.well-known/jwks.json` serves).
 * @example
 * ```ts
 * JwksSchema.parse(await publicJwks(key)).keys[0]!.kid;
 * ```
 */
export const JwksSchema = z.object({ keys: z.array(Ed25519Jwk).min(1).max(16) });

/**
 * A verifier from a JWKS (validated: Ed25519 public keys only, never a private part).
 * @example
 * ```ts
 * const verifyKey = verifyKeyFromJwks(await (await fetch(`${base}${JWKS_PATH}`)).json());
 * ```
 */
export function verifyKeyFromJwks(jwks: unknown): VerifyKey {
  const parsed = JwksSchema.safeParse(jwks);
  if (!parsed.success) throw fedError('BAD_CONFIG', `not a JWKS of Ed25519 public keys: ${z.prettifyError(parsed.error)}`);
  if (parsed.data.keys.some((k) => 'd' in k)) throw fedError('BAD_CONFIG', 'the JWKS holds a private key; refusing it');
  return createLocalJWKSet({ keys: parsed.data.keys.map((k) => ({ ...k, alg: 'EdDSA' }) as JWK) });
}

/**
 * The verifier of a signing key's own tokens.
 * @example
 * ```ts
 * const verifyKey = await verifyKeyOf(await deriveSigningKey(secret));
 * ```
 */
export async function verifyKeyOf(key: SigningKey): Promise<VerifyKey> {
  return createLocalJWKSet(await publicJwks(key));
}

/**
 * Reads a public key file for `fedweb combiner --public-key`: a JWKS (JSON) or an Ed25519 public key in PEM.
 * @example
 * ```ts
 * const verifyKey = await loadVerifyKey('./controller-jwks.json');
 * ```
 */
export async function loadVerifyKey(file: string): Promise<VerifyKey> {
  const text = await readKeyFile(file, 'public key');
  if (text.trimStart().startsWith('{')) return verifyKeyFromJwks(JSON.parse(text) as unknown);
  try {
    const publicKey = createPublicKey(text);
    if (publicKey.asymmetricKeyType !== 'ed25519') throw new Error(`an ${publicKey.asymmetricKeyType ?? 'unknown'} key, not Ed25519`);
    const jwk = await exportJWK(publicKey);
    await importJWK(jwk, 'EdDSA');
    return verifyKeyFromJwks({ keys: [jwk] });
  } catch (e) {
    throw fedError('BAD_CONFIG', `${file} is neither a JWKS nor an Ed25519 public key PEM: ${(e as Error).message}`);
  }
}

/**
 * Fetches the controller's JWKS (`GET <base>/.well-known/jwks.json`); `null` when the controller runs with auth off
 * (404). Throws on anything else (unreachable, not a JWKS).
 * @example
 * ```ts
 * const verifyKey = await fetchVerifyKey('http://10.0.0.1:8080');
 * ```
 */
export async function fetchVerifyKey(baseUrl: string, timeoutMs = 10_000): Promise<VerifyKey | null> {
  try {
    return verifyKeyFromJwks(await requestJson({ url: `${baseUrl.replace(/\/+$/, '')}${JWKS_PATH}`, timeoutMs, what: `GET ${JWKS_PATH}` }));
  } catch (e) {
    if (isFedError(e) && e.code === 'NOT_FOUND') return null;
    throw e;
  }
}
