// The S3 adapter of the backup store port (@aws-sdk/client-s3). Each put asks S3 to
// encrypt at rest (SSE-S3 AES256 or SSE-KMS, as the spec says) and sends the object's
// SHA-256 so S3 itself refuses a body damaged on the way. A single PutObject is atomic:
// S3 never shows a partial object. Credentials come from the AWS default chain (the
// instance profile, the environment); they never appear in errors or logs.
import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ListObjectsV2CommandOutput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { SwarmkeeperError } from '../errors.ts';
import type { S3StoreSpec } from '../spec/schema.ts';
import { assertSafeKey, type BackupStore } from './port.ts';
import { s3Encryption, s3Location } from './s3-description.ts';

export class S3Store implements BackupStore {
  readonly location: string;
  readonly encryption: string;
  private readonly client: S3Client;
  private readonly prefix: string;

  constructor(
    private readonly spec: S3StoreSpec,
    config: S3ClientConfig = {},
  ) {
    this.prefix = spec.prefix ?? '';
    this.location = s3Location(spec);
    this.encryption = s3Encryption(spec);
    this.client = new S3Client({
      region: spec.region ?? 'us-east-1',
      ...(spec.endpoint ? { endpoint: spec.endpoint } : {}),
      forcePathStyle: spec.forcePathStyle ?? spec.endpoint !== undefined,
      ...config,
    });
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await this.call(`writing ${key} to`, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.spec.bucket,
          Key: this.keyOf(key),
          Body: body,
          ContentLength: body.length,
          ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
          ...(this.spec.serverSideEncryption ? { ServerSideEncryption: this.spec.serverSideEncryption } : {}),
          ...(this.spec.kmsKeyId ? { SSEKMSKeyId: this.spec.kmsKeyId } : {}),
        }),
      ),
    );
  }

  async get(key: string): Promise<Buffer> {
    const out = await this.call(`reading ${key} from`, () =>
      this.client.send(new GetObjectCommand({ Bucket: this.spec.bucket, Key: this.keyOf(key) })),
    );
    if (!out.Body) throw new SwarmkeeperError('Unavailable', `reading ${key} from ${this.location}: empty response`);
    return Buffer.from(await out.Body.transformToByteArray());
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.call('listing', () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.spec.bucket,
            Prefix: `${this.prefix}${prefix}`,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key.slice(this.prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    await this.call(`deleting ${key} from`, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.spec.bucket, Key: this.keyOf(key) })),
    );
  }

  close(): void {
    this.client.destroy();
  }

  private keyOf(key: string): string {
    assertSafeKey(key);
    return `${this.prefix}${key}`;
  }

  /** SDK errors sorted into domain errors here, and nowhere else. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyS3Error(`${what} ${this.location}`, err);
    }
  }
}

export function classifyS3Error(context: string, err: unknown): SwarmkeeperError {
  const name = (err as { name?: string }).name ?? '';
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const message = (err as Error).message ?? String(err);
  if (name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket' || status === 404) {
    return new SwarmkeeperError('NotFound', `${context}: ${name === 'NoSuchBucket' ? 'the bucket does not exist' : 'no such object'}`, {
      cause: err,
    });
  }
  if (
    name === 'AccessDenied' ||
    name === 'InvalidAccessKeyId' ||
    name === 'SignatureDoesNotMatch' ||
    name === 'CredentialsProviderError' ||
    status === 403
  ) {
    return new SwarmkeeperError('Unauthorized', `${context}: access denied (${name}); check the credentials and the bucket policy`, {
      cause: err,
    });
  }
  if (name === 'SlowDown' || status === 503) return new SwarmkeeperError('Throttled', `${context}: S3 asked to slow down`, { cause: err });
  if (name === 'BadDigest' || name === 'InvalidDigest')
    return new SwarmkeeperError('Corrupt', `${context}: S3 refused the body, its SHA-256 did not match`, { cause: err });
  return new SwarmkeeperError('Unavailable', `${context}: ${name ? `${name}: ` : ''}${message}`, { cause: err });
}
