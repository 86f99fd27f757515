/**
 * A SigV4 signer for the scripts that call an AWS API without its SDK client (the OpenSearch
 * domain's REST API in opensearch-setup, Lambda's Invoke in replay-failures): @smithy/signature-v4
 * with node:crypto hashing and the default credential chain.
 */
import { createHash, createHmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** Bytes the signer hashes (the SourceData of @smithy/types). */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): string | Uint8Array =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);

/** SHA-256 / HMAC-SHA-256 for the signer, from node:crypto. */
class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

/** A signer for `service` (e.g. `es`, `lambda`) in `region`, with the default credential chain. */
export function sigV4Signer(service: string, region: string): SignatureV4 {
  return new SignatureV4({ service, region, credentials: defaultProvider(), sha256: Sha256 });
}
