// Sending files and following their processing: two small connection pools, the direct or the
// pre-signed route by size, status polls until done or failed, and cancelling either.

import { ApiError, deleteImage, getImage, getStatus, requestUpload, uploadDirect, uploadToStorage } from "./api.js";
import { CONTENT_TYPES, sniffFile } from "./sniff.js";

// Same-origin connections are few (6 per host in HTTP/1.1): uploads and polls get separate, small pools
// so neither starves the other.
const uploadSlots = semaphore(2);
const pollSlots = semaphore(3);

function semaphore(limit) {
  let active = 0;
  const waiting = [];
  const acquire = () => {
    if (active < limit) {
      active += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else active -= 1;
  };
  return {
    async run(task) {
      await acquire();
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}

const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener("abort", () => {
    clearTimeout(timer);
    reject(new ApiError("cancelled"));
  }, { once: true });
});

/**
 * Refuse what the page already knows the API would: a preview larger than the pixel limit. The
 * preview's size is known once the browser has decoded it (formats it cannot show go to the API).
 */
export async function checkPixels(item, maxPixels) {
  const size = await item.card.previewSize;
  if (!size || !maxPixels) return;
  const pixels = size.width * size.height;
  if (pixels > maxPixels) throw new ApiError("image_too_large", "", { pixels, limit: maxPixels });
}

/**
 * Upload `item.source` with `item.options`: waits for an upload slot ("waiting"), then sends
 * ("uploading", with `onProgress(loaded, total)`). Resolves with the new image id.
 */
export function upload(item, config, { onUploading, onProgress }) {
  const { signal } = item.controller;
  return uploadSlots.run(async () => {
    if (signal.aborted) throw new ApiError("cancelled");
    onUploading();
    const { source: file, options, card } = item;
    if (file.size <= config.directUploadMaxBytes) {
      card.setRoute("direct", options);
      try {
        return await uploadDirect(file, options, onProgress, signal);
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== "payload_too_large") throw error;
        // The limit went down since the page loaded its options: the storage route takes it.
      }
    }
    card.setRoute("storage", options);
    onProgress(0, file.size);
    const type = await sniffFile(file);
    if (!type) throw new ApiError("not_an_image");
    const ticket = await requestUpload(CONTENT_TYPES[type], options, file.name, signal);
    if (Number.isFinite(ticket.max_bytes) && file.size > ticket.max_bytes) {
      throw new ApiError("too_large", "", { limit: ticket.max_bytes });
    }
    await uploadToStorage(ticket, file, CONTENT_TYPES[type], onProgress, signal);
    onProgress(file.size, file.size);
    return ticket.id;
  });
}

// Waiting holds no function (docs/delivery.md, "Waiting without holding Lambdas"): the page polls the image's
// status object about once a second (GET /status/{id}, from CloudFront, 304 while unchanged) and asks the API
// (GET /api/images/{id}) for the outcome once the status is no longer pending (or there is none). While it is
// pending the API is asked only once the page has waited the processing timeout (GET /api/options), then once
// a minute: processing_timeout is the one outcome only the API tells. The CLI waits the same way
// (cli/imageservice_cli/main.py, wait_for).
const STATUS_POLL_MS = 1000;
const API_CHECK_MS = 60_000;

/**
 * Wait until the image is done (returns the API's answer) or failed (throws); `processingTimeoutSeconds` from
 * GET /api/options (0 when it did not say: then the API is asked once a minute).
 */
export async function waitForResult(item, processingTimeoutSeconds = 0) {
  const { signal } = item.controller;
  let nextCheck = Date.now() + Math.max(processingTimeoutSeconds * 1000, API_CHECK_MS);
  for (;;) {
    const status = await pollSlots.run(() => getStatus(item.id, signal));
    if (status !== "pending" || Date.now() >= nextCheck) {
      const answer = await pollSlots.run(() => getImage(item.id, 0, signal));
      if (answer.state === "done") return answer;
      if (answer.state === "failed") throw answer.error;
      nextCheck = Date.now() + API_CHECK_MS;
    }
    await sleep(STATUS_POLL_MS, signal);
  }
}

/**
 * Stop an item's work. An image the server already took is deleted, so a cancelled upload leaves
 * nothing behind; the caller shows the outcome when the aborted work rejects.
 */
export async function cancel(item) {
  item.controller?.abort();
  if (item.id) await deleteImage(item.id);
}
