// A yes/no question in the page's <dialog>: modal, so focus stays inside; Escape or the first
// button says no, and the browser gives focus back to what opened it.

/** Shows `message` in `dialog`; resolves true when the person pressed its button of value "delete". */
export function confirmDialog(dialog, textElement, message) {
  textElement.textContent = message;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "delete"), { once: true });
    dialog.showModal();
  });
}
