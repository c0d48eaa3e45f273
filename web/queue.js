// The Upload section: a card (card.js) for each item on the list, following the model's changes (and
// saying them to screen readers), Upload (or "Sign in to upload"), Clear finished, and the note while the
// list is empty. Files come in through addFiles; the work on them is work.js's and results.js's.

import { ApiError } from "./api.js";
import { signIn, signInEnabled, signedIn, onChange as onSignInChange } from "./auth.js";
import { edgeDelivery } from "./edge-session.js";
import { Card } from "./card.js";
import { keepFiles } from "./keep.js";
import { describeError, errorSentence } from "./messages.js";
import { zipNameFor } from "./zip.js";

/** From this many images on the list, a finished one shows as a row that opens on demand (a long page otherwise). */
const ROWS_FROM = 3;

/** The words a state change becomes for screen readers, where it needs any. */
const SAYINGS = {
  uploading: (name) => `${name}: uploading.`,
  processing: (name) => `${name}: uploaded, now processing.`,
  done: (name, item) => {
    const count = item.image.variants.length;
    return `${name} is ready: ${count} ${count === 1 ? "variant" : "variants"}.`;
  },
  cancelled: (name) => `${name}: cancelled.`,
  deleted: (name) => `${name} and its variants were deleted from the server.`,
};

export class Queue {
  /** The API's options; null until they have loaded (nothing is uploaded before). */
  config = null;

  /**
   * `work` (work.js) and `results` (results.js) do what the buttons ask; `announcer` is announce.js's;
   * `focusBatch()` and `focusChooser()` move focus to the other sections when a pressed button goes away.
   */
  constructor(list, { work, results, announcer, focusBatch, focusChooser }) {
    const $ = (id) => document.getElementById(id);
    this.list = list;
    this.work = work;
    this.results = results;
    this.announcer = announcer;
    this.focusChooser = focusChooser;
    this.els = {
      section: $("queue-section"),
      uploadButton: $("upload-button"),
      clearButton: $("clear-button"),
      cards: $("queue"),
      empty: $("queue-empty"),
    };
    list.addEventListener("change", ({ detail }) => this.#follow(detail));
    onSignInChange(() => this.render());

    this.els.uploadButton.addEventListener("click", async () => {
      if (!this.config) return;
      if (signInEnabled() && !signedIn()) {
        await this.keepChosenFiles();
        signIn().catch((error) => announcer.notify(error.message, true));
        return;
      }
      work.startReady();
      // The pressed button is now disabled: focus goes to the batch's progress, where the work shows.
      focusBatch();
    });
    this.els.clearButton.addEventListener("click", () => {
      for (const item of list.finished()) list.remove(item);
      announcer.hideNotice();
      announcer.announce("Cleared finished images from the list.");
      focusChooser();
    });
    window.addEventListener("beforeunload", (event) => {
      // Files not yet sent are lost with the page (it cannot read them again); processing goes on without it.
      if (list.inState("waiting", "uploading").length) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
    // Links expire: keep every "work until …" line honest.
    setInterval(() => {
      for (const item of list.inState("done")) item.card.updateExpiry();
    }, 15000);
  }

  configure(config) {
    this.config = config;
    this.render();
  }

  /** Put files on the list, each with a preview; obvious non-images are refused on the spot. */
  addFiles(fileList, how) {
    const files = [...fileList];
    if (!files.length) return;
    this.announcer.hideNotice();
    const taken = this.work.add(files);
    const noun = (n) => `${n} ${n === 1 ? "image" : "images"}`;
    if (taken) this.announcer.announce(`${how} ${noun(taken)}. Choose options, then press Upload.`);
    // On a phone the list and Upload are screens below the picker: bring them into view.
    if (this.els.uploadButton.getBoundingClientRect().bottom > window.innerHeight) {
      const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      this.els.section.scrollIntoView({ block: "start", behavior: smooth ? "smooth" : "auto" });
    }
  }

  /**
   * Before the page leaves for the sign-in pages: the chosen files wait in IndexedDB (keep.js) and leave the
   * list, so the list kept across reloads does not bring them back as "choose it again" beside them.
   */
  async keepChosenFiles() {
    const chosen = this.list.inState("ready").filter((item) => item.source instanceof Blob);
    try {
      await keepFiles(chosen.map((item) => item.source));
    } catch {
      this.announcer.notify("The chosen files cannot be kept while you sign in; choose them again afterwards.", true);
      return;
    }
    for (const item of chosen) this.list.remove(item);
  }

  /** Upload and Clear finished, and the empty note, as the list and signing in stand now. */
  render() {
    const { els, list } = this;
    const ready = list.inState("ready").length;
    // Signed out where sign-in is needed, the button says what comes first, and signing in keeps the files.
    const needsSignIn = signInEnabled() && !signedIn();
    els.uploadButton.disabled = this.config === null || (ready === 0 && !needsSignIn);
    els.uploadButton.textContent = needsSignIn ? "Sign in to upload" : ready > 1 ? `Upload ${ready} images` : "Upload";
    els.empty.hidden = list.items.length > 0;
    els.clearButton.hidden = list.finished().length === 0;
  }

  #follow({ kind, item, ...detail }) {
    if (kind === "added") this.#addCard(item);
    else if (kind === "removed") this.#removeCard(item, detail.index);
    else if (kind === "progress") item.card.setProgress(detail.loaded, detail.total);
    else if (kind === "image") item.card.showResult(item.image, item.clock, edgeDelivery());
    else if (kind === "state") this.#showState(item);
    if (kind !== "progress") this.render();
  }

  #addCard(item) {
    const { work, results, list } = this;
    item.card = new Card(item.source, {
      retry: () => work.start(item, { again: true }),
      cancel: () => work.cancel(item),
      remove: () => list.remove(item),
      deleteRemote: (button) => results.deleteFromServer(item, button),
      refresh: (button) => results.refreshLinks(item, button),
      copy: (text, what, button) => results.copy(text, what, button),
      zip: (button) => results.zip([item], zipNameFor(item.image, item.source.name), button),
    });
    this.els.cards.append(item.card.element);
  }

  /** The card goes; focus moves to its neighbour's so keyboard users keep their place. */
  #removeCard(item, index) {
    const hadFocus = item.card.element.contains(document.activeElement);
    item.card.dispose();
    if (hadFocus) {
      const neighbour = this.list.items[index] ?? this.list.items[index - 1];
      const target = neighbour?.card.element.querySelector("button:not([disabled]):not([hidden]), a");
      if (target) target.focus();
      else this.focusChooser();
    }
  }

  #showState(item) {
    const { card, state, source } = item;
    if (state === "failed") {
      const description = describeError(item.error);
      card.showError({ ...description, retry: description.retry && this.list.canRetry(item) });
    } else if (state === "cancelled") {
      card.showError({ ...describeError(new ApiError("cancelled")), retry: this.list.canRetry(item) }, "cancelled");
    } else if (state === "deleted") {
      card.showError(describeError(new ApiError("deleted")), "deleted");
    } else {
      card.setState(state);
    }
    if (state === "done") card.setCompact(this.list.items.length >= ROWS_FROM);
    if (state === "failed") this.announcer.announceError(`${source.name}: ${errorSentence(item.error)}`);
    else if (SAYINGS[state]) this.announcer.announce(SAYINGS[state](source.name, item));
  }
}
