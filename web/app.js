// The page: choosing files (picker, drop, paste), uploading each with progress, following its
// processing, and showing the results. Talks only to /api on this origin and the pre-signed
// storage POST the API hands out. What may be asked for and the limits come from GET
// /api/options, loaded once at start-up; nothing is uploaded before it has answered.

import {
  ApiError,
  deleteImage, getImage, getOptions, requestUpload, uploadDirect, uploadToStorage,
} from "./api.js";
import { startAccount } from "./account.js";
import { onChange as onSignInChange, signInEnabled, signedIn } from "./auth.js";
import { Card, describeOptions } from "./card.js";
import { copyText } from "./dom.js";
import { describeError, setAcceptedTypes } from "./messages.js";
import {
  acceptAttribute, acceptedTypesInWords, acceptsType, buildControls, chooseHint, readConfig,
} from "./options.js";
import { CONTENT_TYPES, sniffFile } from "./sniff.js";

const $ = (id) => document.getElementById(id);
const els = {
  chooseButton: $("choose-button"),
  fileInput: $("file-input"),
  dropzone: $("dropzone"),
  overlay: $("drop-overlay"),
  acceptedHint: $("accepted-types"),
  form: $("options-form"),
  format: $("format"),
  formatHint: $("format-hint"),
  quality: $("quality"),
  qualityValue: $("quality-value"),
  filters: $("filters"),
  filtersNote: $("filters-note"),
  variantsHint: $("variants-hint"),
  optionsStatus: $("options-status"),
  optionsLoading: $("options-loading"),
  optionsError: $("options-error"),
  optionsErrorTitle: $("options-error-title"),
  optionsErrorDetail: $("options-error-detail"),
  optionsRetry: $("options-retry"),
  uploadButton: $("upload-button"),
  clearButton: $("clear-button"),
  queue: $("queue"),
  empty: $("queue-empty"),
  notice: $("notice"),
  liveStatus: $("live-status"),
  liveAlert: $("live-alert"),
};

/** Every chosen file: {card, file, state, id, options, error}. */
const items = [];

/** GET /api/options as options.js reads it; null until it has answered. */
let config = null;

// Same-origin connections are few (6 per host in HTTP/1.1) and a long poll holds one for up to
// max_wait_seconds: uploads and polls get separate, small pools so neither starves the other.
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

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- announcements

let statusTimer = null;

/** A status change for screen readers (polite). Batched so a burst reads as one sentence. */
function announce(message) {
  const pending = els.liveStatus.dataset.pending ? `${els.liveStatus.dataset.pending} ` : "";
  els.liveStatus.dataset.pending = `${pending}${message}`;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => {
    els.liveStatus.textContent = els.liveStatus.dataset.pending;
    delete els.liveStatus.dataset.pending;
  }, 150);
}

/** An error for screen readers (assertive); kept as a short log so none overwrites another. */
function announceError(message) {
  const line = document.createElement("p");
  line.textContent = message;
  els.liveAlert.append(line);
  while (els.liveAlert.childElementCount > 5) els.liveAlert.firstElementChild.remove();
}

/** A page-level message, shown and announced; `isError` makes it assertive. */
function notify(message, isError = false) {
  els.notice.textContent = message;
  els.notice.hidden = false;
  els.notice.classList.toggle("is-error", isError);
  if (isError) announceError(message);
  else announce(message);
}

// ---------------------------------------------------------------- choosing files

function readOptions() {
  const data = new FormData(els.form);
  return {
    format: String(data.get("format") || "original"),
    quality: Number.parseInt(String(data.get("quality") || config.quality.default), 10),
    filters: data.getAll("filters").map(String),
  };
}

/** Put files in the list, each with a preview; obvious non-images are refused on the spot. */
function addFiles(fileList, how) {
  const files = [...fileList];
  if (!files.length) return;
  els.notice.hidden = true;
  let refused = 0;
  for (const file of files) {
    const item = { file, state: "ready", id: null, options: null };
    item.card = new Card(file, {
      retry: () => start(item, { again: true }),
      remove: () => removeItem(item),
      deleteRemote: (button) => deleteRemote(item, button),
      refresh: (button) => refreshLinks(item, button),
      copy: (text, what, button) => copy(text, what, button),
    });
    items.push(item);
    els.queue.append(item.card.element);
    if (refuseEarly(item)) refused += 1;
  }
  const noun = (n) => `${n} ${n === 1 ? "image" : "images"}`;
  if (files.length > refused) announce(`${how} ${noun(files.length - refused)}. Choose options, then press Upload.`);
  refreshControls();
}

/**
 * Fail a file that cannot be an image we accept, before anything is sent: empty, of a type the
 * API does not take, or larger than it takes (known once the options have loaded; until then it
 * waits). True if refused.
 */
function refuseEarly(item) {
  const { size, type } = item.file;
  let problem = null;
  if (size === 0) problem = new ApiError("empty_file");
  else if (config && !acceptsType(config, type)) problem = new ApiError("not_an_image");
  else if (config?.largeUploadMaxBytes && size > config.largeUploadMaxBytes) {
    problem = new ApiError("too_large", "", { limit: config.largeUploadMaxBytes });
  }
  if (problem) fail(item, problem);
  return problem !== null;
}

function refreshControls() {
  const ready = items.filter((item) => item.state === "ready").length;
  els.uploadButton.disabled = ready === 0 || config === null || (signInEnabled() && !signedIn());
  els.uploadButton.textContent = ready > 1 ? `Upload ${ready} images` : "Upload";
  els.empty.hidden = items.length > 0;
  els.clearButton.hidden = !items.some((item) => item.state === "done" || item.state === "failed");
}

els.chooseButton.addEventListener("click", () => els.fileInput.click());
els.fileInput.addEventListener("change", () => {
  addFiles(els.fileInput.files, "Chose");
  els.fileInput.value = ""; // choosing the same file again fires change again
});

els.quality.addEventListener("input", () => {
  els.qualityValue.textContent = els.quality.value;
});
els.form.addEventListener("submit", (event) => event.preventDefault());

// Drag and drop: the whole page is the target; the overlay shows while files are over it.
let dragDepth = 0;
const carriesFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes("Files");

document.addEventListener("dragenter", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dragDepth += 1;
  document.body.classList.add("dragging");
});
document.addEventListener("dragover", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "copy";
});
document.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) document.body.classList.remove("dragging");
});
document.addEventListener("drop", (event) => {
  event.preventDefault();
  dragDepth = 0;
  document.body.classList.remove("dragging");
  const files = event.dataTransfer?.files;
  if (files?.length) addFiles(files, "Dropped");
  else notify("Only files can be dropped here; that looked like text or a link. Drop image files instead.", true);
});

document.addEventListener("paste", (event) => {
  const files = [...(event.clipboardData?.files ?? [])];
  if (!files.length) {
    notify("The clipboard holds no image to paste. Copy an image first, or choose files.", true);
    return;
  }
  event.preventDefault();
  // Pasted images are usually all called "image.png": number them so the list can tell them apart.
  const named = files.map((file, index) => (file.name && file.name !== "image.png" ? file : new File(
    [file], `pasted-image-${Date.now().toString(36)}-${index + 1}.${(file.type.split("/")[1] || "png").replace("jpeg", "jpg")}`,
    { type: file.type, lastModified: file.lastModified },
  )));
  addFiles(named, "Pasted");
});

// ---------------------------------------------------------------- uploading and processing

els.uploadButton.addEventListener("click", () => {
  if (!config) return;
  const options = readOptions();
  const ready = items.filter((item) => item.state === "ready");
  for (const item of ready) {
    item.options = options;
    start(item);
  }
  refreshControls();
});

function setState(item, state) {
  item.state = state;
  item.card.setState(state);
  refreshControls();
  if (state === "done" || state === "failed") document.dispatchEvent(new Event("images-changed"));
}

/** Upload (unless already uploaded), then follow processing to its end. */
async function start(item, { again = false } = {}) {
  if (again && item.restartUpload) item.id = null;
  item.options ??= readOptions();
  try {
    if (!item.id) {
      setState(item, "uploading");
      announce(`${item.file.name}: uploading.`);
      item.id = await uploadSlots.run(() => upload(item));
    }
    setState(item, "processing");
    announce(`${item.file.name}: uploaded, now processing.`);
    const answer = await waitForResult(item);
    const image = answer.body;
    item.card.showResult(image, answer.clock);
    setState(item, "done");
    announce(`${item.file.name} is ready: ${image.variants.length} ${image.variants.length === 1 ? "variant" : "variants"}.`);
  } catch (error) {
    fail(item, error);
  }
}

/** POST /api/images for files within the direct limit (413: fall back), storage for the rest. */
async function upload(item) {
  const { file, options, card } = item;
  const progress = (loaded, total) => card.setProgress(loaded, total);
  if (file.size <= config.directUploadMaxBytes) {
    card.setRoute(`Direct upload · ${describeOptions(options)}`);
    try {
      return await uploadDirect(file, options, progress);
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== "payload_too_large") throw error;
      // The limit went down since the page loaded its options: the storage route takes it.
    }
  }
  card.setRoute(`Straight to storage · ${describeOptions(options)}`);
  card.setProgress(0, file.size);
  const type = await sniffFile(file);
  if (!type) throw new ApiError("not_an_image");
  const ticket = await requestUpload(CONTENT_TYPES[type], options);
  if (Number.isFinite(ticket.max_bytes) && file.size > ticket.max_bytes) {
    throw new ApiError("too_large", "", { limit: ticket.max_bytes });
  }
  await uploadToStorage(ticket, file, CONTENT_TYPES[type], progress);
  card.setProgress(file.size, file.size);
  return ticket.id;
}

/** Long-poll GET /api/images/{id}?wait=… until the image is done (returns the answer) or failed (throws). */
async function waitForResult(item) {
  for (;;) {
    const answer = await pollSlots.run(() => getImage(item.id, config.maxWaitSeconds));
    if (answer.state === "done") return answer;
    if (answer.state === "failed") throw answer.error;
    await sleep(Math.min(Math.max(answer.retryAfter, 1), 10) * 1000);
  }
}

function fail(item, error) {
  if (!(error instanceof ApiError)) {
    console.warn("unexpected failure", error); // a bug in the page, not a network or API answer
  }
  const description = describeError(error);
  // Processing that timed out, or an image gone from the server, needs a new upload; a lost
  // connection while waiting only needs the waiting resumed.
  item.restartUpload = ["processing_timeout", "not_found", "upload_expired", "storage_error"].includes(error?.code)
    || (item.state === "uploading");
  item.card.showError(description);
  setState(item, "failed");
  announceError(`${item.file.name}: ${description.title} ${description.detail ?? ""}`.trim());
}

// ---------------------------------------------------------------- results

async function refreshLinks(item, button) {
  button.disabled = true;
  try {
    const answer = await getImage(item.id);
    if (answer.state !== "done") throw answer.error ?? new ApiError("not_found");
    item.card.showResult(answer.body, answer.clock);
    announce(`Fresh links for ${item.file.name}.`);
  } catch (error) {
    const description = describeError(error);
    notify(`${item.file.name}: ${description.title} ${description.detail ?? ""}`.trim(), true);
  } finally {
    button.disabled = false;
  }
}

async function deleteRemote(item, button) {
  button.disabled = true;
  try {
    await deleteImage(item.id);
    removeItem(item);
    announce(`${item.file.name} and its variants were deleted from the server.`);
  } catch (error) {
    button.disabled = false;
    const description = describeError(error);
    notify(`${item.file.name} was not deleted: ${description.title} ${description.detail ?? ""}`.trim(), true);
  }
}

async function copy(text, what, button) {
  const copied = await copyText(text);
  if (copied) {
    const label = button.textContent;
    button.textContent = "Copied";
    button.classList.add("copied");
    setTimeout(() => {
      button.textContent = label;
      button.classList.remove("copied");
    }, 1600);
    announce(`${what} copied.`);
  } else {
    notify(`${what} could not be copied; select it and copy it by hand.`, true);
  }
}

/** Take an item off the list; focus moves to its neighbour so keyboard users keep their place. */
function removeItem(item) {
  const index = items.indexOf(item);
  if (index < 0) return;
  items.splice(index, 1);
  const hadFocus = item.card.element.contains(document.activeElement);
  item.card.dispose();
  if (hadFocus) {
    const neighbour = items[index] ?? items[index - 1];
    (neighbour?.card.element.querySelector("button:not([disabled]), a") ?? els.chooseButton).focus();
  }
  refreshControls();
}

els.clearButton.addEventListener("click", () => {
  for (const item of items.filter((entry) => entry.state === "done" || entry.state === "failed")) removeItem(item);
  els.notice.hidden = true;
  announce("Cleared finished images from the list.");
  els.chooseButton.focus();
});

// Links expire: keep every "work until …" line honest.
setInterval(() => {
  for (const item of items) if (item.state === "done") item.card.updateExpiry();
}, 15000);

// ---------------------------------------------------------------- options

/** GET /api/options, then the controls; on failure a readable error with a way to try again. */
async function loadOptions() {
  document.documentElement.dataset.options = "loading";
  els.optionsError.hidden = true;
  els.optionsLoading.hidden = false;
  els.optionsStatus.hidden = false;
  let options;
  try {
    options = await getOptions();
    config = readConfig(options);
  } catch (error) {
    if (!(error instanceof ApiError)) console.warn("unexpected failure", error);
    const description = describeError(error);
    els.optionsErrorTitle.textContent = "The options could not be loaded, so nothing can be uploaded yet.";
    els.optionsErrorDetail.textContent = `${description.title} ${description.detail ?? ""}`.trim();
    els.optionsLoading.hidden = true;
    els.optionsError.hidden = false;
    els.optionsRetry.hidden = !description.retry;
    document.documentElement.dataset.options = "failed";
    announceError(`${els.optionsErrorTitle.textContent} ${els.optionsErrorDetail.textContent}`);
    return;
  }
  buildControls(els, config);
  els.fileInput.accept = acceptAttribute(config);
  els.acceptedHint.textContent = chooseHint(config);
  setAcceptedTypes(acceptedTypesInWords(config));
  els.optionsStatus.hidden = true;
  els.form.hidden = false;
  document.documentElement.dataset.options = "ready";
  // Files chosen while the options were loading are checked now.
  for (const item of items.filter((entry) => entry.state === "ready")) refuseEarly(item);
  refreshControls();
  // Sign-in (when the deployment has it) finishes on its own; the controls follow its changes.
  startAccount(options.sign_in, (message) => notify(message, true)).finally(refreshControls);
}

els.optionsRetry.addEventListener("click", async () => {
  els.optionsRetry.disabled = true;
  await loadOptions();
  els.optionsRetry.disabled = false;
  // Focus would be lost with the hidden button: put it on the first control, or back on the button.
  (config ? els.format : els.optionsRetry).focus();
});

onSignInChange(refreshControls);
loadOptions();

document.documentElement.classList.add("js-ready");
