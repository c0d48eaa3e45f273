// The page's model: the list of chosen files and each file's way through upload and processing. No DOM
// here: the work (work.js, results.js) moves items on through these methods, and the views follow the
// list through its "change" events, so none of them needs to be told by another.

/**
 * A file's states, ready (chosen), waiting (checked before sending), uploading, processing, then done,
 * failed, cancelled or deleted, and the states each may move on to: a move not listed is a bug in the page.
 */
const NEXT_STATES = {
  ready: ["waiting", "processing", "failed"], // processing: kept across a reload, with its image id
  waiting: ["uploading", "failed", "cancelled"],
  uploading: ["processing", "failed", "cancelled"],
  processing: ["done", "failed", "cancelled"],
  done: ["deleted"],
  failed: ["waiting", "processing"], // trying again: sending the file again, or only the waiting
  cancelled: ["waiting"],
  deleted: [],
};
/** States in which work is under way and Cancel applies. */
export const BUSY_STATES = new Set(["waiting", "uploading", "processing"]);
const FINISHED_STATES = new Set(["done", "failed", "cancelled", "deleted"]);

/** Failures after which the server has no upload to finish: trying again sends the file again. Any other
 * (a lost connection while waiting, say) only needs the waiting resumed. */
const UPLOAD_AGAIN_CODES = new Set(["processing_timeout", "not_found", "upload_expired", "storage_error"]);

/**
 * Every file on the list: {source, state, id, options, sent, image, clock, error, restartUpload}, and
 * what the work and the views keep on it (controller, card).
 * Events, all named "change", with detail {kind, item}: kind "added", "removed" (detail.index: where it
 * was), "state" (detail.previous: the state before), "progress" (detail.loaded, detail.total) and "image"
 * (item.image and item.clock are new: the result, or fresh links to it).
 */
export class ImageList extends EventTarget {
  items = [];

  /** A new item for `source` (a File, or a kept entry's {name, size, type}), in state ready; a kept
   * entry brings back the image id and options it had. */
  add(source, { id = null, options = null } = {}) {
    const item = { source, state: "ready", id, options };
    this.items.push(item);
    this.#changed("added", item);
    return item;
  }

  /** Take an item off the list; its former index, or -1 when it was not on it. */
  remove(item) {
    const index = this.items.indexOf(item);
    if (index < 0) return -1;
    this.items.splice(index, 1);
    this.#changed("removed", item, { index });
    return index;
  }

  setState(item, state) {
    if (!Object.hasOwn(NEXT_STATES, state)) throw new RangeError(`no state ${state}`);
    if (!NEXT_STATES[item.state].includes(state)) throw new RangeError(`${item.state} cannot become ${state}`);
    const previous = item.state;
    item.state = state;
    this.#changed("state", item, { previous });
  }

  /** Bytes of the item's file sent so far. */
  setProgress(item, loaded, total) {
    item.sent = loaded;
    this.#changed("progress", item, { loaded, total });
  }

  /** The server took the file as image `id`; the state that follows says so. */
  uploaded(item, id) {
    item.id = id;
  }

  /** The image's record (GET /api/images/{id}) and `clock`, {server, local}: when it was answered. */
  setImage(item, image, clock) {
    item.image = image;
    item.clock = clock;
    this.#changed("image", item);
  }

  done(item, image, clock) {
    this.setImage(item, image, clock);
    this.setState(item, "done");
  }

  fail(item, error) {
    item.error = error;
    item.restartUpload = UPLOAD_AGAIN_CODES.has(error?.code) || !item.id;
    this.setState(item, "failed");
  }

  /** Stopped at the person's request; whatever the server had of it is gone, so trying again sends it again. */
  cancelled(item) {
    item.id = null;
    item.restartUpload = true;
    this.setState(item, "cancelled");
  }

  /** Deleted from the server, image and variants: only the card is left. */
  deleted(item) {
    item.id = null;
    item.image = null;
    this.setState(item, "deleted");
  }

  /** Before trying again: an item the server has no upload of starts from the upload. */
  retrying(item) {
    if (item.restartUpload) item.id = null;
  }

  /** Whether trying again can work: the server still has the upload, or the file is here to send again
   * (an item kept across a reload has only the file's name). */
  canRetry(item) {
    return !item.restartUpload || item.source instanceof Blob;
  }

  inState(...states) {
    return this.items.filter((item) => states.includes(item.state));
  }

  busy() {
    return this.items.filter((item) => BUSY_STATES.has(item.state));
  }

  finished() {
    return this.items.filter((item) => FINISHED_STATES.has(item.state));
  }

  #changed(kind, item, detail = {}) {
    this.dispatchEvent(new CustomEvent("change", { detail: { kind, item, ...detail } }));
  }
}
