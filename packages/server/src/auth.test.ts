/**
 * Tokens as an attacker would try them, over real HTTP against a server with auth on: forgery (an HS256 token
 * signed with the very secret, alg none, another Ed25519 key, an embedded key, a tampered payload), expiry,
 * tokens without `exp`; `fedweb token`'s lifetimes; and a refused request's `?token=` never reaching the log.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT, UnsecuredJWT, decodeJwt, exportJWK, importJWK } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_TOKEN_TTL, issueToken, ROLES } from './auth.js';
import { deriveSigningKey, JWKS_PATH, loadSigningKey } from './auth-keys.js';
import { ApiClient } from './api-client/api-client.js';
import { main } from './cli/main.js';
import { redactUrl } from './log.js';
import { serverFixture } from '../test/fixture.js';
import { tempDir } from './testing/harness.js';
import { spawnCli } from './testing/spawn.js';

const SECRET = 'a-test-secret-of-enough-length';
const f = serverFixture([{ name: 'w0', shape: [2], data: new Float32Array([1, 2]) }]);

const statusWith = async (url: string, token: string): Promise<{ status: number; code?: string; message?: string }> => {
  const res = await fetch(`${url}/api/status`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { code?: string; message?: string };
  return { status: res.status, ...body };
};
const now = (): number => Math.floor(Date.now() / 1000);

describe('token forgery and expiry (real HTTP)', () => {
  it('accepts only EdDSA tokens signed with the controller key that carry exp', async () => {
    const server = await f.setup({ secret: SECRET, seed: null });
    const url = server.url;
    const key = await deriveSigningKey(SECRET);
    expect((await statusWith(url, await issueToken({ secret: SECRET, role: 'viewer', sub: 'v' }))).status).toBe(200);

    const forged: Record<string, string> = {
      // What any holder of the secret (every combiner, before) could mint: HS256 with the real secret.
      hs256WithTheSecret: await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setIssuer('fedweb').setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(SECRET)),
      hs256Guessed: await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setIssuer('fedweb').setExpirationTime('1h').sign(new TextEncoder().encode('password1234567890')),
      algNone: new UnsecuredJWT({ role: 'admin' }).setSubject('x').setIssuer('fedweb').setExpirationTime('1h').encode(),
    };
    const other = generateKeyPairSync('ed25519');
    forged.otherEd25519Key = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).setSubject('x').setIssuer('fedweb').setExpirationTime('1h').sign(other.privateKey);
    forged.embeddedJwk = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'EdDSA', jwk: await exportJWK(other.publicKey) })
      .setSubject('x')
      .setIssuer('fedweb')
      .setExpirationTime('1h')
      .sign(other.privateKey);
    const viewer = await issueToken({ secret: SECRET, role: 'viewer', sub: 'v' });
    const [h, , sig] = viewer.split('.');
    const escalated = Buffer.from(JSON.stringify({ ...decodeJwt(viewer), role: 'admin' })).toString('base64url');
    forged.tamperedRole = `${h}.${escalated}.${sig}`;
    for (const [name, token] of Object.entries(forged)) {
      expect([name, (await statusWith(url, token)).status]).toEqual([name, 401]);
    }
    expect((await statusWith(url, forged.hs256WithTheSecret!)).message).toMatch(/HS256.*refused/);

    // Expired (beyond the 30 s clock tolerance), and never expiring.
    const expired = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).setSubject('x').setIssuer('fedweb').setIssuedAt(now() - 7200).setExpirationTime(now() - 3600).sign(key.privateKey);
    expect(await statusWith(url, expired)).toMatchObject({ status: 401, message: expect.stringMatching(/exp/) });
    const forever = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).setSubject('x').setIssuer('fedweb').setIssuedAt().sign(key.privateKey);
    expect(await statusWith(url, forever)).toMatchObject({ status: 401, message: expect.stringMatching(/exp/) });

    // The option that allows tokens without exp.
    const lax = await f.setup({ secret: SECRET, seed: null, allowTokensWithoutExp: true });
    expect((await statusWith(lax.url, forever)).status).toBe(200);
    expect((await statusWith(lax.url, expired)).status).toBe(401);
  });

  it('serves only the public key; it verifies tokens but cannot sign one', async () => {
    const server = await f.setup({ secret: SECRET, seed: null });
    const jwks = (await (await fetch(`${server.url}${JWKS_PATH}`)).json()) as { keys: Array<Record<string, string>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: (await deriveSigningKey(SECRET)).kid });
    expect(jwks.keys[0]).not.toHaveProperty('d');
    const pub = await importJWK(jwks.keys[0]!, 'EdDSA');
    await expect(new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'EdDSA' }).setExpirationTime('1h').sign(pub)).rejects.toThrow();
    // Auth off: no key to serve.
    const open = await f.setup({ seed: null });
    expect((await fetch(`${open.url}${JWKS_PATH}`)).status).toBe(404);
  });
});

describe('--token-key', () => {
  it('signs with the key file: its tokens pass, tokens derived from a secret do not', async () => {
    const { dir, cleanup } = await tempDir();
    f.defer(cleanup);
    const file = join(dir, 'key.pem');
    await writeFile(file, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const server = await f.setup({ tokenKeyFile: file, seed: null });
    expect(server.authEnabled).toBe(true);
    const key = await loadSigningKey(file);
    expect((await statusWith(server.url, await issueToken({ key, role: 'viewer', sub: 'v' }))).status).toBe(200);
    expect((await statusWith(server.url, await issueToken({ secret: SECRET, role: 'viewer', sub: 'v' }))).status).toBe(401);
    await writeFile(join(dir, 'rsa.pem'), generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await expect(loadSigningKey(join(dir, 'rsa.pem'))).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/Ed25519/) });
  });
});

describe('POST /api/tokens (typed client)', () => {
  it('admin issues expiring tokens that work; operator and a bad ttl are refused', async () => {
    const server = await f.setup({ secret: SECRET, seed: null });
    const admin = new ApiClient({ baseUrl: server.url, token: await issueToken({ secret: SECRET, role: 'admin', sub: 'root' }) });
    const issued = await admin.issueToken({ role: 'viewer', sub: 'eyes', ttl: '2h' });
    const claims = decodeJwt(issued.token);
    expect([issued.role, issued.sub, claims.exp! - claims.iat!, issued.exp]).toEqual(['viewer', 'eyes', 7200, claims.exp]);
    expect((await statusWith(server.url, issued.token)).status).toBe(200);
    const byDefault = decodeJwt((await admin.issueToken({ role: 'operator', sub: 'ops' })).token);
    expect(byDefault.exp! - byDefault.iat!).toBe(12 * 3600);
    await expect(admin.issueToken({ role: 'client', sub: 'k', ttl: 'forever' as '1h' })).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    const operator = new ApiClient({ baseUrl: server.url, token: await issueToken({ secret: SECRET, role: 'operator', sub: 'ops' }) });
    await expect(operator.issueToken({ role: 'admin', sub: 'me' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('fedweb token', () => {
  afterEach(() => vi.restoreAllMocks());
  const issue = async (args: string[]): Promise<string> => {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)));
    await main(['token', '--secret', SECRET, ...args]);
    return out.join('').trim();
  };

  it('always sets exp: the role default, or --ttl', async () => {
    const seconds = { '1h': 3600, '12h': 43_200, '7d': 604_800, '365d': 31_536_000, '30d': 2_592_000 } as Record<string, number>;
    for (const role of ROLES) {
      const claims = decodeJwt(await issue(['--role', role, '--sub', 's']));
      expect([role, claims.exp! - claims.iat!]).toEqual([role, seconds[DEFAULT_TOKEN_TTL[role]]]);
    }
    const short = decodeJwt(await issue(['--role', 'client', '--sub', 'k', '--ttl', '2h']));
    expect(short.exp! - short.iat!).toBe(7200);
    const secs = decodeJwt(await issue(['--role', 'client', '--sub', 'k', '--ttl', '90']));
    expect(secs.exp! - secs.iat!).toBe(90);
    await expect(issue(['--role', 'client', '--sub', 'k', '--ttl', 'forever'])).rejects.toThrow(/--ttl/);
    await expect(issue(['--role', 'client', '--sub', 'k', '--ttl', '0'])).rejects.toThrow(/--ttl/);
  });
});

describe('logs', () => {
  it('redact token-like query parameters', () => {
    expect(redactUrl('/ws/client?token=abc.def.ghi&x=1')).toBe('/ws/client?token=[redacted]&x=1');
    expect(redactUrl('/api/status?x=1&access_token=s3cr3t')).toBe('/api/status?x=1&access_token=[redacted]');
    expect(redactUrl('/api/sessions')).toBe('/api/sessions');
  });

  it('a refused request with ?token= or an Authorization header does not log the token (real process)', async () => {
    const { dir, cleanup } = await tempDir();
    const p = spawnCli(['server', '--port', '0', '--data-dir', dir, '--secret', SECRET, '--no-embedded-combiner']);
    try {
      const [, url] = await p.waitFor(/listening on (http:\/\/[^\s"]+)/);
      const leak = 'eyJhbGciOiJIUzI1NiJ9.leaked-query-token.c2lnbmF0dXJl';
      const leakHeader = 'eyJhbGciOiJIUzI1NiJ9.leaked-header-token.c2lnbmF0dXJl';
      expect((await fetch(`${url}/api/sessions?token=${leak}`)).status).toBe(401);
      expect((await fetch(`${url}/api/clients?a=1&token=${leak}`, { headers: { authorization: `Bearer ${leakHeader}` } })).status).toBe(401);
      const viewer = await issueToken({ secret: SECRET, role: 'viewer', sub: 'v' });
      expect((await fetch(`${url}/api/sessions/nope?token=${viewer}`)).status).toBe(404);
      await p.waitFor(/\/api\/sessions\/nope\?token=\[redacted\].*request refused/);
      await p.waitFor(/\/api\/clients\?a=1&token=\[redacted\].*request refused/);
      const out = p.output();
      expect(out).toMatch(/\/api\/sessions\?token=\[redacted\]/);
      for (const secret of [leak, leakHeader, viewer]) expect(out).not.toContain(secret);
    } finally {
      await p.stop();
      await cleanup();
    }
  });
});
