import { SSMClient } from '@aws-sdk/client-ssm';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { inlineSecret, type SecretRef } from '../schema/secret';
import { UnavailableError } from '../errors';

/** Resolves a SecretRef to its value: an inline one at once, one in SSM from a cache that expires. */
export type SecretReader = (ref: SecretRef) => Promise<string>;

/**
 * Secrets from SSM SecureStrings through Powertools Parameters: read at first use, kept for
 * `maxAgeSeconds`, then read again, so a rotated secret is picked up without a redeploy. A failed
 * read is not cached. Errors name the secret and its parameter, never a value.
 */
export function makeSecretReader(options: { region: string; endpoint?: string; maxAgeSeconds: number }): SecretReader {
  let provider: SSMProvider | undefined; // created at first use: a worker with only inline secrets never builds an SSM client
  return async (ref) => {
    const inline = inlineSecret(ref);
    if (inline !== undefined) return ref.prefix + inline;
    if (!ref.parameter) throw new UnavailableError(`${ref.label}: neither an inline value nor an SSM parameter`);
    provider ??= new SSMProvider({ awsSdkV3Client: new SSMClient({ region: options.region, endpoint: options.endpoint, maxAttempts: 3 }) });
    let value: string | undefined;
    try {
      value = await provider.get(ref.parameter, { decrypt: true, maxAge: options.maxAgeSeconds });
    } catch (error) {
      const cause = (error as { cause?: { name?: string } }).cause?.name ?? (error as Error).name;
      throw new UnavailableError(`could not read ${ref.label} from SSM parameter ${ref.parameter} (${cause})`);
    }
    if (typeof value !== 'string') throw new UnavailableError(`SSM parameter ${ref.parameter} (${ref.label}) has no value`);
    return ref.prefix + value;
  };
}
