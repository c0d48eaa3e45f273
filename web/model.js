// The page's model: the list of chosen files and each file's state on its way through upload and
// processing. No DOM here: the page (app.js) changes it through these methods and follows it through
// its "change" events, so the controls, the batch bar and the kept list never need to be told.

/** A file's states: ready (chosen), waiting (checked before sending), uploading, processing, then
 * done, failed, cancelled or deleted. */
export const STATES = ["ready", "waiting", "uploading", "processing", "done", "failed", "cancelled", "deleted"];
export const FINISHED_STATES = new Set(["done", "failed", "cancelled", "deleted"]);

/**
 * Every file on the list: {source, state, id, options, error, controller, sent, image, card}.
 * Events, all named "change", with detail {kind, item}: kind "added", "removed" (detail.index: where it
 * was), "state" (detail.previous: the state before) and "progress" (detail.loaded, detail.total).
 */
export class ImageList extends EventTarget {
  items = [];

  /** A new item for `source` (a File, or a kept entry's {name, size, type}), in state ready. */
  add(source) {
    const item = { source, state: "ready", id: null, options: null };
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
    if (!STATES.includes(state)) throw new RangeError(`no state ${state}`);
    const previous = item.state;
    item.state = state;
    this.#changed("state", item, { previous });
  }

  /** Bytes of the item's file sent so far. */
  setProgress(item, loaded, total) {
    item.sent = loaded;
    this.#changed("progress", item, { loaded, total });
  }

  inState(...states) {
    return this.items.filter((item) => states.includes(item.state));
  }

  finished() {
    return this.items.filter((item) => FINISHED_STATES.has(item.state));
  }

  #changed(kind, item, detail = {}) {
    this.dispatchEvent(new CustomEvent("change", { detail: { kind, item, ...detail } }));
  }
}
