/**
 * Client and upload identifiers: what a valid client id looks like, and fresh random ids from WebCrypto.
 */

/**
 * A valid client id: 1-128 of letters, digits and `. _ : @ -` (what the server accepts in `hello`).
 * @example
 * ```ts
 * CLIENT_ID_RE.test('pi-kitchen'); // true
 * ```
 */
export const CLIENT_ID_RE = /^[A-Za-z0-9._:@-]{1,128}$/;

/**
 * A random id from WebCrypto (browsers and Node 20 both have `crypto.randomUUID`), e.g. a client id or an upload id.
 * @example
 * ```ts
 * randomId('u'); // 'u-3b241101-e2bb-4255-8caf-4136c566a962'
 * ```
 */
export function randomId(prefix: string): string {
  return `${prefix}-${globalThis.crypto.randomUUID()}`;
}
