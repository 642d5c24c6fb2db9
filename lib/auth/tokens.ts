import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../errors';

/** Shortest token we accept: a guessable token would make the allowlist the only guard. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Checks `Authorization: Bearer <token>` against the configured tokens. Several tokens may be valid
 * at once so one can be rotated with no downtime. Every token is compared, in constant time, on
 * fixed-length digests, so neither the match position nor the length leaks through timing.
 */
export class TokenVerifier {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[], source: string) {
    if (tokens.length === 0) throw new ConfigError(`${source}: no webhook token configured`);
    tokens.forEach((token, index) => {
      if (token.length < MIN_TOKEN_LENGTH) {
        throw new ConfigError(`${source}: token #${index + 1} is shorter than ${MIN_TOKEN_LENGTH} characters`);
      }
    });
    this.digests = tokens.map(digest);
  }

  verify(authorization: string | undefined): boolean {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    return this.matches(match?.[1] ?? '') && match !== null;
  }

  /** Whether `value` is one of the secrets, compared the same way (for a header carrying it bare). */
  matches(value: string | undefined): boolean {
    const presented = digest(value ?? '');
    let ok = false;
    for (const expected of this.digests) ok = timingSafeEqual(presented, expected) || ok;
    return ok && value !== undefined;
  }
}

/** Splits a comma-separated token list (the env var or the SSM parameter's value). */
export function parseTokenList(value: string): string[] {
  return value.split(',').map((token) => token.trim()).filter(Boolean);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
