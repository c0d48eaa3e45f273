// The work on each file of the list: refuse what cannot be sent, upload it (unless the server has it
// already), follow its processing to the end, cancel it, and resume the list kept across a reload. Each
// step moves the item on in the model (model.js); the views follow the model, not this module.

import { ApiError } from "./api.js";
import { errorSentence } from "./messages.js";
import { acceptsType } from "./options.js";
import { cancel, checkPixels, upload, waitForResult } from "./uploads.js";

/** Rejects with ApiError("cancelled") as soon as `signal` aborts, whatever `promise` is waiting for. */
function abortable(promise, signal) {
  return Promise.race([promise, new Promise((_, reject) => {
    if (signal.aborted) reject(new ApiError("cancelled"));
    signal.addEventListener("abort", () => reject(new ApiError("cancelled")), { once: true });
  })]);
}

export class Work {
  /** The API's options as options.js reads them; null until they have loaded. */
  config = null;

  /** `readOptions()`: what the options panel says now; `notify(message, isError)`: the page's notice. */
  constructor(list, { readOptions, notify }) {
    this.list = list;
    this.readOptions = readOptions;
    this.notify = notify;
  }

  /** The API's options have loaded: files chosen while they were loading are checked now. */
  configure(config) {
    this.config = config;
    for (const item of this.list.inState("ready")) this.refuseEarly(item);
  }

  /** Put files on the list; obvious non-images fail on the spot. How many were taken. */
  add(files) {
    let taken = 0;
    for (const file of files) {
      if (!this.refuseEarly(this.list.add(file))) taken += 1;
    }
    return taken;
  }

  /**
   * Fail a file that cannot be an image we accept, before anything is sent: empty, SVG, of a type
   * the API does not take, or larger than it takes (known once the options have loaded; until then
   * it waits). True if refused.
   */
  refuseEarly(item) {
    const { config } = this;
    const { size, type } = item.source;
    let problem = null;
    if (size === 0) problem = new ApiError("empty_file");
    else if (type === "image/svg+xml") problem = new ApiError("svg");
    else if (config && !acceptsType(config, type)) problem = new ApiError("not_an_image");
    else if (config?.largeUploadMaxBytes && size > config.largeUploadMaxBytes) {
      problem = new ApiError("too_large", "", { limit: config.largeUploadMaxBytes });
    }
    if (problem) this.list.fail(item, problem);
    return problem !== null;
  }

  /** Upload every file that is ready, all with the options chosen now. */
  startReady() {
    const options = this.readOptions();
    for (const item of this.list.inState("ready")) {
      item.options = options;
      this.start(item);
    }
  }

  /** Upload (unless already uploaded), then follow processing to its end. */
  async start(item, { again = false } = {}) {
    const { config, list } = this;
    if (again) list.retrying(item);
    item.options ??= this.readOptions();
    item.controller = new AbortController();
    const { signal } = item.controller;
    try {
      if (!item.id) {
        list.setState(item, "waiting");
        await abortable(checkPixels(item, config.maxPixels), signal);
        const id = await abortable(upload(item, config, {
          onUploading: () => list.setState(item, "uploading"),
          onProgress: (loaded, total) => list.setProgress(item, loaded, total),
        }), signal);
        list.uploaded(item, id);
        if (signal.aborted) throw new ApiError("cancelled"); // sent just as Cancel was pressed
      }
      list.setState(item, "processing");
      const answer = await waitForResult(item, config.processingTimeoutSeconds);
      list.done(item, answer.body, answer.clock);
    } catch (error) {
      if (error?.code === "cancelled") {
        await this.#finishCancel(item);
      } else {
        if (!(error instanceof ApiError)) console.warn("unexpected failure", error); // a bug in the page
        list.fail(item, error);
      }
    }
  }

  cancel(item) {
    item.controller?.abort();
  }

  cancelAll() {
    for (const item of this.list.busy()) this.cancel(item);
  }

  /** After a cancel: whatever the server already took is deleted, then the item is cancelled. */
  async #finishCancel(item) {
    try {
      await cancel(item);
    } catch (error) {
      this.notify(`${item.source.name} was cancelled, but its server copy was not deleted: ${errorSentence(error)}`, true);
    }
    this.list.cancelled(item);
  }

  /** The list the last page kept (store.js): finished images come back with fresh links, unfinished ones resume. */
  resume(entries) {
    for (const entry of entries) {
      const item = this.list.add({ name: entry.name, size: entry.size, type: entry.type },
        { id: entry.id, options: entry.options });
      if (entry.state === "failed" && entry.error) {
        this.list.fail(item, new ApiError(entry.error.code, entry.error.message));
      } else if (!entry.id) {
        this.list.fail(item, new ApiError(entry.state === "cancelled" ? "cancelled" : "interrupted"));
      } else {
        this.start(item);
      }
    }
    if (entries.length) {
      this.notify(`Restored ${entries.length} ${entries.length === 1 ? "image" : "images"} from before the reload.`);
    }
  }
}
