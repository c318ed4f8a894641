/**
 * Bucket provisioning for tests and development. Production buckets are provisioned outside the
 * hub, so `openObjectStore` never creates one.
 */
import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { HubError } from '../errors.js';
import type { ObjectStore } from './object-store.js';
import { errorName, httpStatus, S3ObjectStore } from './s3.js';

/** Creates the bucket of an {@link S3ObjectStore} when it does not exist; a no-op for other stores. */
export async function ensureS3Bucket(store: ObjectStore): Promise<void> {
  if (!(store instanceof S3ObjectStore)) return;
  try {
    await store.client.send(new HeadBucketCommand({ Bucket: store.bucket }));
    return;
  } catch (cause) {
    if (httpStatus(cause) !== 404) throw new HubError('STORAGE_FAILED', `cannot check bucket ${store.bucket}`, { cause });
  }
  try {
    await store.client.send(new CreateBucketCommand({ Bucket: store.bucket }));
  } catch (cause) {
    // A racing create by us is fine; BucketAlreadyExists means another account owns the name.
    if (errorName(cause) !== 'BucketAlreadyOwnedByYou') {
      throw new HubError('STORAGE_FAILED', `cannot create bucket ${store.bucket}`, { cause });
    }
  }
}
