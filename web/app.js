// The page's composition root: the list of chosen files (model.js) wired to the controls, the cards
// and the kept list through the list's change events. Elsewhere: requests (api.js), sending, polling
// and cancelling (uploads.js), a file's card (card.js), the batch bar (batch.js), the list kept across
// reloads (store.js), choosing files (choose.js), the live regions (announce.js), words (messages.js),
// ZIPs (zip.js). What may be asked for and the limits come from GET /api/options, loaded once at
// start-up; nothing is uploaded before it has answered.

import { startAccount } from "./account.js";
import { createAnnouncer } from "./announce.js";
import { ApiError, deleteImage, getImage, getOptions } from "./api.js";
import { onChange as onSignInChange, signIn, signInEnabled, signedIn } from "./auth.js";
import { renderBatch } from "./batch.js";
import { Card, setLinkPolicy } from "./card.js";
import { wireChoosing } from "./choose.js";
import { confirmDialog } from "./confirm.js";
import { copyText } from "./dom.js";
import { describeError, errorSentence, setAcceptedTypes } from "./messages.js";
import { BUSY_STATES, FINISHED_STATES, ImageList } from "./model.js";
import {
  acceptAttribute, acceptedTypesInWords, acceptsType, buildControls, chooseHint, readConfig,
} from "./options.js";
import { keepFiles, takeKeptFiles } from "./keep.js";
import { loadList, saveList } from "./store.js";
import { cancel, checkPixels, upload, waitForResult } from "./uploads.js";
import { saveZip, zipNameFor } from "./zip.js";

const $ = (id) => document.getElementById(id);
const els = {
  chooseButton: $("choose-button"),
  fileInput: $("file-input"),
  acceptedHint: $("accepted-types"),
  form: $("options-form"),
  format: $("format"),
  formatHint: $("format-hint"),
  quality: $("quality"),
  qualityValue: $("quality-value"),
  qualityHint: $("quality-hint"),
  filters: $("filters"),
  filtersNote: $("filters-note"),
  variantsHint: $("variants-hint"),
  optionsStatus: $("options-status"),
  optionsLoading: $("options-loading"),
  optionsError: $("options-error"),
  optionsErrorTitle: $("options-error-title"),
  optionsErrorDetail: $("options-error-detail"),
  optionsRetry: $("options-retry"),
  queueSection: $("queue-section"),
  uploadButton: $("upload-button"),
  clearButton: $("clear-button"),
  queue: $("queue"),
  empty: $("queue-empty"),
  batch: $("batch"),
  batchProgress: $("batch-progress"),
  batchText: $("batch-text"),
  batchSummary: $("batch-summary"),
  cancelAll: $("cancel-all"),
  zipAll: $("zip-all"),
  confirmDelete: $("confirm-delete"),
  confirmDeleteText: $("confirm-delete-text"),
};
const { announce, announceError, notify, hideNotice } = createAnnouncer({
  liveStatus: $("live-status"), liveAlert: $("live-alert"), notice: $("notice"),
});

/** The list of files and their states; `items` is its array, read by the batch bar and the kept list. */
const list = new ImageList();
const { items } = list;

/** The API's options (GET /api/options as options.js reads it); null until it has answered. */
let apiOptions = null;

/** Whether the kept list has been read back: until then, saving would overwrite it. */
let restored = false;

/** From this many images on the list, a finished one shows as a row that opens on demand (a long page otherwise). */
const ROWS_FROM = 3;

/** The ZIP's failure shown in the notice, until its cause goes (a ZIP that works, fresh links). */
let zipProblemShown = false;

function zipProblemGone() {
  if (zipProblemShown && $("notice").textContent.startsWith("The ZIP could not be made")) hideNotice();
  zipProblemShown = false;
}

// ---------------------------------------------------------------- the list

function readOptions() {
  const data = new FormData(els.form);
  return {
    format: String(data.get("format") || "original"),
    // A disabled slider (PNG) is not in the form: the default goes along and means nothing.
    quality: Number.parseInt(String(data.get("quality") || apiOptions.quality.default), 10),
    filters: data.getAll("filters").map(String),
  };
}

function addItem(source) {
  const item = list.add(source);
  item.card = new Card(source, {
    retry: () => start(item, { again: true }),
    cancel: () => cancelItem(item),
    remove: () => removeItem(item),
    deleteRemote: (button) => confirmDelete(item, button),
    refresh: (button) => refreshLinks(item, button),
    copy: (text, what, button) => copy(text, what, button),
    zip: (button) => zip([item], zipNameFor(item.image, item.source.name), button),
  });
  els.queue.append(item.card.element);
  return item;
}

/** Put files in the list, each with a preview; obvious non-images are refused on the spot. */
function addFiles(fileList, how) {
  const files = [...fileList];
  if (!files.length) return;
  hideNotice();
  let refused = 0;
  for (const file of files) {
    if (refuseEarly(addItem(file))) refused += 1;
  }
  const noun = (n) => `${n} ${n === 1 ? "image" : "images"}`;
  if (files.length > refused) announce(`${how} ${noun(files.length - refused)}. Choose options, then press Upload.`);
  refresh();
  // On a phone the list and Upload are screens below the picker: bring them into view.
  if (els.uploadButton.getBoundingClientRect().bottom > window.innerHeight) {
    const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    els.queueSection.scrollIntoView({ block: "start", behavior: smooth ? "smooth" : "auto" });
  }
}

/**
 * Fail a file that cannot be an image we accept, before anything is sent: empty, SVG, of a type
 * the API does not take, or larger than it takes (known once the options have loaded; until then
 * it waits). True if refused.
 */
function refuseEarly(item) {
  const { size, type } = item.source;
  let problem = null;
  if (size === 0) problem = new ApiError("empty_file");
  else if (type === "image/svg+xml") problem = new ApiError("svg");
  else if (apiOptions && !acceptsType(apiOptions, type)) problem = new ApiError("not_an_image");
  else if (apiOptions?.largeUploadMaxBytes && size > apiOptions.largeUploadMaxBytes) {
    problem = new ApiError("too_large", "", { limit: apiOptions.largeUploadMaxBytes });
  }
  if (problem) fail(item, problem);
  return problem !== null;
}

/** Controls, batch bar and the kept list, after any change. */
function refresh() {
  const ready = items.filter((item) => item.state === "ready").length;
  // Signed out where sign-in is needed, the button says what comes first, and signing in keeps the files.
  const needsSignIn = signInEnabled() && !signedIn();
  els.uploadButton.disabled = apiOptions === null || (ready === 0 && !needsSignIn);
  els.uploadButton.textContent = needsSignIn ? "Sign in to upload" : ready > 1 ? `Upload ${ready} images` : "Upload";
  els.empty.hidden = items.length > 0;
  els.clearButton.hidden = !items.some((item) => FINISHED_STATES.has(item.state));
  renderBatch(els, items);
  if (restored) saveList(items);
}

const setState = (item, state) => list.setState(item, state);

// The views follow the list: a card shows its item's state and progress; the controls, the batch bar and
// the kept list follow every state change and removal; the account's list hears of finished images.
list.addEventListener("change", ({ detail }) => {
  const { kind, item } = detail;
  if (kind === "state") {
    item.card.setState(item.state);
    refresh();
    if (item.state === "done" || item.state === "failed") document.dispatchEvent(new Event("images-changed"));
  } else if (kind === "progress") {
    item.card.setProgress(detail.loaded, detail.total);
    renderBatch(els, items);
  } else if (kind === "removed") {
    refresh();
  }
});

/** Take an item off the list; focus moves to its neighbour so keyboard users keep their place. */
function removeItem(item) {
  const hadFocus = item.card.element.contains(document.activeElement);
  const index = list.remove(item);
  if (index < 0) return;
  item.card.dispose();
  if (hadFocus) {
    const neighbour = items[index] ?? items[index - 1];
    (neighbour?.card.element.querySelector("button:not([disabled]):not([hidden]), a") ?? els.chooseButton).focus();
  }
}

// ---------------------------------------------------------------- uploading and processing

/** Rejects with ApiError("cancelled") as soon as `signal` aborts, whatever `promise` is waiting for. */
function abortable(promise, signal) {
  return Promise.race([promise, new Promise((_, reject) => {
    if (signal.aborted) reject(new ApiError("cancelled"));
    signal.addEventListener("abort", () => reject(new ApiError("cancelled")), { once: true });
  })]);
}

/** Upload (unless already uploaded), then follow processing to its end. */
async function start(item, { again = false } = {}) {
  if (again && item.restartUpload) item.id = null;
  item.options ??= readOptions();
  item.controller = new AbortController();
  const { signal } = item.controller;
  try {
    if (!item.id) {
      setState(item, "waiting");
      await abortable(checkPixels(item, apiOptions.maxPixels), signal);
      const id = await abortable(upload(item, apiOptions, {
        onUploading: () => {
          setState(item, "uploading");
          announce(`${item.source.name}: uploading.`);
        },
        onProgress: (loaded, total) => list.setProgress(item, loaded, total),
      }), signal);
      item.id = id;
      if (signal.aborted) throw new ApiError("cancelled"); // sent just as Cancel was pressed
    }
    setState(item, "processing");
    announce(`${item.source.name}: uploaded, now processing.`);
    const answer = await waitForResult(item, apiOptions.maxWaitSeconds);
    item.image = answer.body;
    item.card.showResult(answer.body, answer.clock, apiOptions?.delivery ?? null);
    setState(item, "done");
    item.card.setCompact(items.length >= ROWS_FROM);
    const count = answer.body.variants.length;
    announce(`${item.source.name} is ready: ${count} ${count === 1 ? "variant" : "variants"}.`);
  } catch (error) {
    if (error?.code === "cancelled") await finishCancel(item);
    else fail(item, error);
  }
}

function fail(item, error) {
  if (!(error instanceof ApiError)) {
    console.warn("unexpected failure", error); // a bug in the page, not a network or API answer
  }
  // Processing that timed out, or an image gone from the server, needs a new upload; a lost
  // connection while waiting only needs the waiting resumed.
  item.restartUpload = ["processing_timeout", "not_found", "upload_expired", "storage_error"].includes(error?.code)
    || !item.id;
  item.error = error;
  const description = describeError(error);
  // A card restored after a reload has no file to send again.
  const canRetry = description.retry && (!item.restartUpload || item.source instanceof Blob);
  item.card.showError({ ...description, retry: canRetry });
  setState(item, "failed");
  announceError(`${item.source.name}: ${errorSentence(error)}`);
}

function cancelItem(item) {
  item.controller?.abort();
}

/** After a cancel: whatever the server already took is deleted, then the card says so. */
async function finishCancel(item) {
  try {
    await cancel(item);
  } catch (error) {
    notify(`${item.source.name} was cancelled, but its server copy was not deleted: ${errorSentence(error)}`, true);
  }
  item.id = null;
  item.restartUpload = true;
  const description = describeError(new ApiError("cancelled"));
  item.card.showError({ ...description, retry: item.source instanceof Blob }, "cancelled");
  setState(item, "cancelled");
  announce(`${item.source.name}: cancelled.`);
}

els.uploadButton.addEventListener("click", async () => {
  if (!apiOptions) return;
  if (signInEnabled() && !signedIn()) {
    await keepChosenFiles();
    signIn().catch((error) => notify(error.message, true));
    return;
  }
  const options = readOptions();
  const ready = items.filter((item) => item.state === "ready");
  for (const item of ready) {
    item.options = options;
    start(item);
  }
  // The pressed button is now disabled: focus goes to the batch's progress, where the work shows.
  els.batch.focus();
});

/**
 * Before the page leaves for the sign-in pages: the chosen files wait in IndexedDB (keep.js) and leave the
 * list, so the list kept across reloads does not bring them back as "choose it again" beside them.
 */
async function keepChosenFiles() {
  const chosen = items.filter((item) => item.state === "ready" && item.source instanceof Blob);
  try {
    await keepFiles(chosen.map((item) => item.source));
  } catch {
    notify("The chosen files cannot be kept while you sign in; choose them again afterwards.", true);
    return;
  }
  for (const item of chosen) removeItem(item);
}

els.cancelAll.addEventListener("click", () => {
  for (const item of items.filter((entry) => BUSY_STATES.has(entry.state))) cancelItem(item);
  els.batch.focus();
});

window.addEventListener("beforeunload", (event) => {
  // Files not yet sent are lost with the page (it cannot read them again); processing goes on without it.
  if (items.some((item) => item.state === "waiting" || item.state === "uploading")) {
    event.preventDefault();
    event.returnValue = "";
  }
});

// ---------------------------------------------------------------- results

async function refreshLinks(item, button) {
  button.disabled = true;
  try {
    const answer = await getImage(item.id);
    if (answer.state !== "done") throw answer.error ?? new ApiError("not_found");
    item.image = answer.body;
    item.card.showResult(answer.body, answer.clock, apiOptions?.delivery ?? null);
    announce(`Fresh links for ${item.source.name}.`);
    if (!items.some((entry) => entry.state === "done" && entry.card.updateExpiry())) zipProblemGone();
  } catch (error) {
    notify(`${item.source.name}: ${errorSentence(error)}`, true);
  } finally {
    button.disabled = false;
  }
}

/** Ask first; then delete, say so on the card, and focus its next step (its Remove from list button). */
async function confirmDelete(item, button) {
  const message = `Delete ${item.source.name} and all its variants from the server? Links to them stop working.`;
  if (!(await confirmDialog(els.confirmDelete, els.confirmDeleteText, message))) return; // focus is back on the button
  button.disabled = true;
  try {
    await deleteImage(item.id);
  } catch (error) {
    button.disabled = false;
    button.focus();
    notify(`${item.source.name} was not deleted: ${errorSentence(error)}`, true);
    return;
  }
  item.id = null;
  item.image = null;
  item.card.showError(describeError(new ApiError("deleted")), "deleted");
  setState(item, "deleted");
  announce(`${item.source.name} and its variants were deleted from the server.`);
  item.card.removeButton.focus();
}

async function copy(text, what, button) {
  const copied = await copyText(text);
  if (copied) {
    const [visible, label] = [button.textContent, button.getAttribute("aria-label")];
    button.textContent = "Copied";
    button.setAttribute("aria-label", `Copied: ${what}`); // the name keeps the visible word (WCAG 2.5.3)
    button.classList.add("copied");
    setTimeout(() => {
      button.textContent = visible;
      button.setAttribute("aria-label", label);
      button.classList.remove("copied");
    }, 1600);
    announce(`${what} copied.`);
  } else {
    notify(`${what} could not be copied; select it and copy it by hand.`, true);
  }
}

async function zip(chosen, zipName, button) {
  button.disabled = true;
  announce("Making the ZIP…");
  try {
    await saveZip(chosen.map((item) => ({ image: item.image, fileName: item.source.name })), zipName);
    announce(`${zipName} is ready.`);
    zipProblemGone();
  } catch (error) {
    if (!(error instanceof ApiError)) console.warn("unexpected failure", error);
    notify(`The ZIP could not be made: ${errorSentence(error)}`, true);
    zipProblemShown = true;
  } finally {
    button.disabled = false;
  }
}

els.zipAll.addEventListener("click", () => {
  zip(items.filter((item) => item.state === "done" && item.image), "images.zip", els.zipAll);
});

els.clearButton.addEventListener("click", () => {
  for (const item of items.filter((entry) => FINISHED_STATES.has(entry.state))) removeItem(item);
  hideNotice();
  announce("Cleared finished images from the list.");
  els.chooseButton.focus();
});

// Links expire: keep every "work until …" line honest.
setInterval(() => {
  for (const item of items) if (item.state === "done") item.card.updateExpiry();
}, 15000);

// ---------------------------------------------------------------- choosing files and options

wireChoosing({ chooseButton: els.chooseButton, fileInput: els.fileInput }, { addFiles, notify });

els.quality.addEventListener("input", () => {
  els.qualityValue.textContent = els.quality.value;
});
els.form.addEventListener("submit", (event) => event.preventDefault());

// ---------------------------------------------------------------- start-up

/** The list the last page kept: finished images come back with fresh links, unfinished ones resume. */
function restoreList() {
  const saved = loadList();
  for (const entry of saved) {
    const item = addItem({ name: entry.name, size: entry.size, type: entry.type });
    item.options = entry.options;
    item.id = entry.id;
    if (entry.state === "failed" && entry.error) {
      fail(item, new ApiError(entry.error.code, entry.error.message));
    } else if (!entry.id) {
      fail(item, new ApiError(entry.state === "cancelled" ? "cancelled" : "interrupted"));
    } else {
      start(item);
    }
  }
  restored = true;
  if (saved.length) notify(`Restored ${saved.length} ${saved.length === 1 ? "image" : "images"} from before the reload.`);
}

/** GET /api/options, then the controls; on failure a readable error with a way to try again. */
async function loadOptions() {
  document.documentElement.dataset.options = "loading";
  els.optionsError.hidden = true;
  els.optionsLoading.hidden = false;
  els.optionsStatus.hidden = false;
  let options;
  try {
    options = await getOptions();
    apiOptions = readConfig(options);
    setLinkPolicy(apiOptions.links);
  } catch (error) {
    if (!(error instanceof ApiError)) console.warn("unexpected failure", error);
    els.optionsErrorTitle.textContent = "The options could not be loaded, so nothing can be uploaded yet.";
    els.optionsErrorDetail.textContent = errorSentence(error);
    els.optionsLoading.hidden = true;
    els.optionsError.hidden = false;
    els.optionsRetry.hidden = !describeError(error).retry;
    document.documentElement.dataset.options = "failed";
    announceError(`${els.optionsErrorTitle.textContent} ${els.optionsErrorDetail.textContent}`);
    return;
  }
  buildControls(els, apiOptions);
  els.fileInput.accept = acceptAttribute(apiOptions);
  els.acceptedHint.textContent = chooseHint(apiOptions);
  setAcceptedTypes(acceptedTypesInWords(apiOptions));
  els.optionsStatus.hidden = true;
  els.form.hidden = false;
  document.documentElement.dataset.options = "ready";
  // Files chosen while the options were loading are checked now.
  for (const item of items.filter((entry) => entry.state === "ready")) refuseEarly(item);
  if (!restored) restoreList();
  refresh();
  // Sign-in (when the deployment has it) finishes on its own; the controls follow its changes.
  startAccount(options.sign_in, (message) => notify(message, true), keepChosenFiles).finally(async () => {
    refresh();
    addFiles(await takeKeptFiles(), "Kept across signing in:"); // back from the sign-in pages, signed in or not
  });
}

els.optionsRetry.addEventListener("click", async () => {
  els.optionsRetry.disabled = true;
  await loadOptions();
  els.optionsRetry.disabled = false;
  // Focus would be lost with the hidden button: put it on the first control, or back on the button.
  (apiOptions ? els.format : els.optionsRetry).focus();
});

onSignInChange(refresh);
loadOptions();

document.documentElement.classList.add("js-ready");
