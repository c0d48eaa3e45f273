// What a finished image offers from its card and the batch bar: fresh links, deleting it from the
// server (after asking), copying a link or snippet, and ZIPs of its variants.

import { ApiError, deleteImage, getImage } from "./api.js";
import { confirmDialog } from "./confirm.js";
import { copyText } from "./dom.js";
import { errorSentence } from "./messages.js";
import { saveZip } from "./zip.js";

/** How the notice about a failed ZIP starts: it goes once its cause does (a ZIP that works, fresh links). */
const ZIP_PROBLEM = "The ZIP could not be made";

export class Results {
  /** `announcer` is announce.js's: the live regions and the notice. */
  constructor(list, announcer) {
    this.list = list;
    this.announcer = announcer;
    this.confirm = document.getElementById("confirm-delete");
    this.confirmText = document.getElementById("confirm-delete-text");
  }

  async refreshLinks(item, button) {
    const { announce, notify, withdrawNotice } = this.announcer;
    button.disabled = true;
    try {
      const answer = await getImage(item.id);
      if (answer.state !== "done") throw answer.error ?? new ApiError("not_found");
      this.list.setImage(item, answer.body, answer.clock);
      announce(`Fresh links for ${item.source.name}.`);
      if (!this.list.inState("done").some((entry) => entry.card.updateExpiry())) withdrawNotice(ZIP_PROBLEM);
    } catch (error) {
      notify(`${item.source.name}: ${errorSentence(error)}`, true);
    } finally {
      button.disabled = false;
    }
  }

  /** Ask first; then delete, and focus the card's next step (its Remove from list button). */
  async deleteFromServer(item, button) {
    const { notify } = this.announcer;
    const message = `Delete ${item.source.name} and all its variants from the server? Links to them stop working.`;
    if (!(await confirmDialog(this.confirm, this.confirmText, message))) return; // focus is back on the button
    button.disabled = true;
    try {
      await deleteImage(item.id);
    } catch (error) {
      button.disabled = false;
      button.focus();
      notify(`${item.source.name} was not deleted: ${errorSentence(error)}`, true);
      return;
    }
    this.list.deleted(item);
    item.card.removeButton.focus();
  }

  async copy(text, what, button) {
    const { announce, notify } = this.announcer;
    if (await copyText(text)) {
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

  async zip(items, zipName, button) {
    const { announce, notify, withdrawNotice } = this.announcer;
    button.disabled = true;
    announce("Making the ZIP…");
    try {
      await saveZip(items.map((item) => ({ image: item.image, fileName: item.source.name })), zipName);
      announce(`${zipName} is ready.`);
      withdrawNotice(ZIP_PROBLEM);
    } catch (error) {
      if (!(error instanceof ApiError)) console.warn("unexpected failure", error);
      notify(`${ZIP_PROBLEM}: ${errorSentence(error)}`, true);
    } finally {
      button.disabled = false;
    }
  }
}
