// What the page says: a polite live region for progress, an assertive one for errors, and the
// visible notice above the list. Text only ever goes in through textContent.

/** {announce, announceError, notify, hideNotice, withdrawNotice} over the page's regions. */
export function createAnnouncer() {
  const liveStatus = document.getElementById("live-status");
  const liveAlert = document.getElementById("live-alert");
  const notice = document.getElementById("notice");
  let statusTimer = null;

  /** A status change for screen readers (polite). Batched so a burst reads as one sentence. */
  function announce(message) {
    const pending = liveStatus.dataset.pending ? `${liveStatus.dataset.pending} ` : "";
    liveStatus.dataset.pending = `${pending}${message}`;
    clearTimeout(statusTimer);
    statusTimer = setTimeout(() => {
      liveStatus.textContent = liveStatus.dataset.pending;
      delete liveStatus.dataset.pending;
    }, 150);
  }

  /** An error for screen readers (assertive); kept as a short log so none overwrites another. */
  function announceError(message) {
    const line = document.createElement("p");
    line.textContent = message;
    liveAlert.append(line);
    while (liveAlert.childElementCount > 5) liveAlert.firstElementChild.remove();
  }

  /** A page-level message, shown and announced; `isError` makes it assertive. */
  function notify(message, isError = false) {
    notice.textContent = message;
    notice.hidden = false;
    notice.classList.toggle("is-error", isError);
    if (isError) announceError(message);
    else announce(message);
  }

  function hideNotice() {
    notice.hidden = true;
  }

  /** Hide the notice if it still says what starts with `start`: its cause has gone, and a later message stays. */
  function withdrawNotice(start) {
    if (notice.textContent.startsWith(start)) hideNotice();
  }

  return { announce, announceError, notify, hideNotice, withdrawNotice };
}
