// The batch under way and its outcome: one overall bar while files are sent and processed, Cancel
// all, Download all as ZIP, and a summary of bytes before and after.

import { h } from "./dom.js";
import { formatBytes, sizeChange } from "./format.js";
import { BUSY_STATES } from "./model.js";

const noun = (n, word) => `${n} ${n === 1 ? word : `${word}s`}`;

/** How far one item has come, in bytes of its file: sent bytes while uploading, all of it after. */
function progressBytes(item) {
  if (item.state === "waiting") return 0;
  if (item.state === "uploading") return item.sent ?? 0;
  return item.source.size;
}

/** The largest variant of a processed image: what replaces the original on a web page. */
const largestBytes = (image) => Math.max(...image.variants.map((variant) => variant.bytes));

/**
 * The bar over the list's items (model.js), redrawn on every change. `cancelAll()` and `zipAll(items,
 * button)` are what its buttons do.
 */
export class BatchBar {
  constructor(list, { cancelAll, zipAll }) {
    const $ = (id) => document.getElementById(id);
    const els = {
      batch: $("batch"),
      batchProgress: $("batch-progress"),
      batchText: $("batch-text"),
      batchSummary: $("batch-summary"),
      cancelAll: $("cancel-all"),
      zipAll: $("zip-all"),
    };
    this.element = els.batch;
    els.cancelAll.addEventListener("click", () => {
      cancelAll();
      this.focus();
    });
    els.zipAll.addEventListener("click", () => {
      zipAll(list.inState("done").filter((item) => item.image), els.zipAll);
    });
    list.addEventListener("change", () => render(els, list.items));
  }

  /** Where the work shows: focus goes here when the button pressed to start or stop it is gone. */
  focus() {
    this.element.focus();
  }
}

function render(els, items) {
  const started = items.filter((item) => item.state !== "ready" && item.state !== "deleted");
  const busy = started.filter((item) => BUSY_STATES.has(item.state));
  const done = started.filter((item) => item.state === "done" && item.image);
  const failed = started.filter((item) => item.state === "failed");
  els.batch.hidden = started.length === 0;
  if (!started.length) return;

  const total = started.reduce((sum, item) => sum + item.source.size, 0);
  const sent = started.reduce((sum, item) => sum + progressBytes(item), 0);
  els.batchProgress.hidden = busy.length === 0;
  els.batchProgress.max = Math.max(total, 1);
  els.batchProgress.value = sent;
  const uploading = busy.filter((item) => item.state !== "processing").length;
  const parts = [`${done.length} of ${noun(started.length, "image")} done`];
  if (uploading) parts.push(`${uploading} uploading or waiting (${formatBytes(sent)} of ${formatBytes(total)} sent)`);
  if (busy.length - uploading) parts.push(`${busy.length - uploading} processing`);
  if (failed.length) parts.push(`${failed.length} failed`);
  els.batchText.textContent = `${parts.join(" · ")}.`;
  els.cancelAll.hidden = busy.length === 0;
  els.zipAll.hidden = done.length < 2;

  els.batchSummary.hidden = done.length === 0;
  if (done.length) {
    const before = done.reduce((sum, item) => sum + item.image.original.bytes, 0);
    const after = done.reduce((sum, item) => sum + largestBytes(item.image), 0);
    const change = sizeChange(before, after);
    const verdict = change?.smaller
      ? `${formatBytes(before - after)} saved (${change.smaller}%)`
      : change?.larger ? `${formatBytes(after - before)} more (+${change.larger}%)` : "the same size";
    els.batchSummary.replaceChildren(
      h("span", {}, h("strong", {}, noun(done.length, "file")), " processed"),
      h("span", {}, "Before ", h("strong", { class: "summary-before" }, formatBytes(before))),
      h("span", {}, "After ", h("strong", { class: "summary-after" }, formatBytes(after)), " (largest variant of each)"),
      h("span", { class: change?.larger ? "growth" : "saving" }, h("strong", { class: "summary-saved" }, verdict)),
    );
  }
}
