// The page's composition root: the model (model.js, the chosen files and their states), the work that
// moves it on (work.js; results.js for finished images) and the views that follow its change events
// (queue.js, batch.js, account.js, store.js's kept list, beside the options panel and the chooser), wired
// together here and nowhere else. Nothing is uploaded before GET /api/options has answered.

import { startAccount } from "./account.js";
import { createAnnouncer } from "./announce.js";
import { BatchBar } from "./batch.js";
import { setLinkPolicy } from "./card.js";
import { createChooser } from "./choose.js";
import { startEdgeSession } from "./edge-session.js";
import { takeKeptFiles } from "./keep.js";
import { setAcceptedTypes } from "./messages.js";
import { ImageList } from "./model.js";
import { OptionsPanel } from "./options-panel.js";
import { acceptedTypesInWords } from "./options.js";
import { Queue } from "./queue.js";
import { Results } from "./results.js";
import { keepList, loadList } from "./store.js";
import { Work } from "./work.js";

const announcer = createAnnouncer();
const list = new ImageList();
const panel = new OptionsPanel(announcer, { loaded: optionsLoaded });
const work = new Work(list, { readOptions: () => panel.read(), notify: announcer.notify });
const results = new Results(list, announcer);
const batch = new BatchBar(list, {
  cancelAll: () => work.cancelAll(),
  zipAll: (items, button) => results.zip(items, "images.zip", button),
});
const queue = new Queue(list, {
  work, results, announcer, focusBatch: () => batch.focus(), focusChooser: () => chooser.focus(),
});
const chooser = createChooser({ addFiles: (files, how) => queue.addFiles(files, how), notify: announcer.notify });

/** Once the API's options have loaded: all that waits for them, the kept list, then signing in. */
function optionsLoaded(config, body) {
  setLinkPolicy(config.links);
  setAcceptedTypes(acceptedTypesInWords(config));
  chooser.accept(config);
  work.configure(config); // files chosen while the options loaded are checked now
  queue.configure(config);
  // Signed in, the signed cookies of the user's own images at the edge follow each sign-in and token refresh.
  startEdgeSession(config.delivery);
  // Sign-in (when the deployment has it) finishes on its own; the controls follow its changes. The kept list
  // resumes after it: its images need the token a silent sign-in brings back, and a page leaving for the
  // issuer must not ask for them (401) and keep them as failed.
  const onError = (message) => announcer.notify(message, true);
  const kept = loadList();
  startAccount(body.sign_in, list, { onError, beforeSignIn: () => queue.keepChosenFiles() }).then(async (leaving) => {
    if (leaving) return;
    work.resume(kept);
    keepList(list);
    queue.render();
    queue.addFiles(await takeKeptFiles(), "Kept across signing in:"); // back from the sign-in pages, signed in or not
  });
}

panel.load();
document.documentElement.classList.add("js-ready");
