// The shared cache tier's storage: one block blob per cache key in one container, through
// @azure/storage-blob. Every call has a deadline (an abort signal: the SDK's own per-try timeout did not
// end a request to a storage process that stopped answering) and at most one retry inside it: a slow
// storage account must fall back to the instance's own fetch quickly rather than hold a caller. broker.ts
// imports this module only when the shared tier is configured.
import { BlobServiceClient, type ContainerClient, RestError } from '@azure/storage-blob';
import { readToCap } from '../peerAnswer.js';
import type { SharedStore } from './sharedTier.js';
import type { SealedToken } from './tokenSeal.js';

export interface BlobStoreOptions {
  /** A storage connection string (AzureWebJobsStorage or an explicit setting). */
  connectionString: string;
  container: string;
  /** Deadline of one operation, retry included, in ms. */
  timeoutMs: number;
}

/**
 * A sealed token is a few KiB. A blob past this is not one (anyone who can write the storage account
 * could plant one) and is read no further; `downloadToBuffer` would allocate the blob's whole size first.
 */
const MAX_BLOB_BYTES = 64 * 1024;

const statusOf = (error: unknown) => (error instanceof RestError ? error.statusCode : undefined);
const codeOf = (error: unknown) => (error instanceof RestError ? error.code : undefined);

/** Creates the container when it is missing, then serves blobs in it. */
export function createBlobStore(options: BlobStoreOptions): SharedStore {
  const service = BlobServiceClient.fromConnectionString(options.connectionString, {
    retryOptions: { maxTries: 2, retryDelayInMs: 100, maxRetryDelayInMs: 500 },
    userAgentOptions: { userAgentPrefix: 'entra-token-broker' },
  });
  const container: ContainerClient = service.getContainerClient(options.container);
  const deadline = () => ({ abortSignal: AbortSignal.timeout(options.timeoutMs) });
  let containerReady: Promise<unknown> | undefined;
  const ensureContainer = () => {
    containerReady ??= container.createIfNotExists(deadline()).catch((error: unknown) => {
      containerReady = undefined;
      throw error;
    });
    return containerReady;
  };

  return {
    async read(name) {
      await ensureContainer();
      try {
        const response = await container.getBlockBlobClient(name).download(0, undefined, deadline());
        const stream = response.readableStreamBody;
        if (!stream) return undefined;
        // Ignored like a blob that does not open, and overwritten by the next fetch.
        const tooLarge = () => {
          stream.destroy();
          return { malformed: true };
        };
        if ((response.contentLength ?? 0) > MAX_BLOB_BYTES) return tooLarge();
        const body = await readToCap(stream as AsyncIterable<Buffer>, MAX_BLOB_BYTES);
        if (body === undefined) return tooLarge();
        return body.length === 0 ? undefined : JSON.parse(body.toString('utf8'));
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        // A body that is not JSON is ignored like one that does not open.
        if (error instanceof SyntaxError) return { malformed: true };
        throw error;
      }
    },
    async write(name, value: SealedToken, leaseId) {
      const body = JSON.stringify(value);
      await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
        ...deadline(),
        conditions: { leaseId },
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
    },
    async acquire(name, seconds) {
      await ensureContainer();
      const blob = container.getBlockBlobClient(name);
      try {
        // A lease needs a blob: create an empty one unless there is one already.
        await blob.upload('', 0, { ...deadline(), conditions: { ifNoneMatch: '*' } });
      } catch (error) {
        const status = statusOf(error);
        // 409 BlobAlreadyExists, or 412 when it exists under a lease.
        if (status !== 409 && status !== 412) throw error;
      }
      try {
        const lease = await blob.getBlobLeaseClient().acquireLease(seconds, deadline());
        return lease.leaseId;
      } catch (error) {
        if (statusOf(error) === 409 && codeOf(error) === 'LeaseAlreadyPresent') return undefined;
        throw error;
      }
    },
    async release(name, leaseId) {
      await container.getBlockBlobClient(name).getBlobLeaseClient(leaseId).releaseLease(deadline());
    },
    async probe() {
      await ensureContainer();
      await container.getProperties(deadline());
    },
  };
}
