// How an S3 backup store describes itself (`backup describe`), from its spec alone, so
// the description needs no S3 client.
import type { S3StoreSpec } from '../spec/schema.ts';

export function s3Location(spec: S3StoreSpec): string {
  return `s3://${spec.bucket}/${spec.prefix ?? ''}`;
}

export function s3Encryption(spec: S3StoreSpec): string {
  return spec.serverSideEncryption
    ? `S3 server-side encryption ${spec.serverSideEncryption}${spec.kmsKeyId ? ` (key ${spec.kmsKeyId})` : ''}`
    : "the bucket's default encryption";
}
