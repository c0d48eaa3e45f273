// The signed-in user's corner of the page (AuthMode cognito or oidc): Sign in / Sign out with their name,
// and "Your images" from GET /api/images, each with its status, its variants and a delete button.

import { ApiError, deleteImage, listImages } from "./api.js";
import { onChange, signIn, signInEnabled, signOut, signedIn, startSignIn, userName } from "./auth.js";
import { h } from "./dom.js";
import { edgeDelivery, endEdgeSession, onEdgeChange } from "./edge-session.js";
import { formatBytes, formatName, formatPixels } from "./format.js";
import { describeError } from "./messages.js";
import { deliveryImage } from "./snippet.js";

const OWNED_THUMB_PIXELS = 56; // the list's square thumbnail box (style.css .owned-thumb-box), covered

const $ = (id) => document.getElementById(id);
const els = {
  account: $("account"),
  user: $("account-user"),
  signIn: $("sign-in-button"),
  signOut: $("sign-out-button"),
  section: $("your-images"),
  list: $("your-images-list"),
  empty: $("your-images-empty"),
  more: $("your-images-more"),
  status: $("your-images-status"),
};

let nextCursor = null;

/**
 * After GET /api/options: sign-in controls when the deployment has sign-in on, and "Your images" following
 * the uploads on `list` (model.js); `onError(text)` reports; `beforeSignIn()` runs (and is awaited) before
 * the page leaves for the sign-in pages.
 */
export async function startAccount(signInOptions, list, { onError, beforeSignIn }) {
  onChange(render);
  onEdgeChange(() => { if (signedIn()) loadImages(); }); // the cookies came: thumbnails from the edge
  els.signIn.addEventListener("click", async () => {
    await beforeSignIn();
    signIn().catch((error) => onError(error.message));
  });
  els.signOut.addEventListener("click", () => {
    endEdgeSession(); // sent first (with the token signing out forgets), and kept alive while the page leaves
    signOut();
  });
  els.more.addEventListener("click", () => loadImages({ more: true }));
  // An upload that ended, either way, is a new entry or a new status in the list.
  list.addEventListener("change", ({ detail: { kind, item } }) => {
    if (kind === "state" && (item.state === "done" || item.state === "failed") && signedIn()) loadImages();
  });
  try {
    return await startSignIn(signInOptions);
  } catch (error) {
    onError(`Signing in did not work: ${error.message}`);
    render();
    return false;
  }
}

function render() {
  const enabled = signInEnabled();
  els.account.hidden = !enabled;
  els.section.hidden = !(enabled && signedIn());
  els.signIn.hidden = signedIn();
  els.signOut.hidden = !signedIn();
  els.user.textContent = signedIn() ? `Signed in as ${userName()}` : "";
  document.documentElement.dataset.signIn = !enabled ? "off" : signedIn() ? "signed-in" : "signed-out";
  if (enabled && signedIn()) loadImages();
  else els.list.replaceChildren();
}

// Each listing's number: only the latest one still wanted renders (a sign-in, the edge's cookies and a finished
// upload may each ask for one, and a delete makes those under way stale).
let listings = 0;

async function loadImages({ more = false } = {}) {
  const listing = ++listings;
  els.status.textContent = "Loading your images…";
  try {
    const page = await listImages(more ? nextCursor : null);
    if (listing !== listings) return;
    nextCursor = page.next_cursor ?? null;
    const items = (page.images ?? []).map(listItem);
    if (more) els.list.append(...items);
    else els.list.replaceChildren(...items);
    els.empty.hidden = els.list.children.length > 0;
    els.more.hidden = nextCursor === null;
    els.status.textContent = "";
  } catch (error) {
    if (listing === listings) els.status.textContent = describeError(error).title;
  }
}

/** What a person calls an image: the name it was uploaded with, else the start of its id. */
function imageLabel(image) {
  const name = image.original?.name;
  const format = image.original?.format;
  if (!name) return `Image ${image.id.slice(0, 8)}`;
  return format && !/\.[a-z0-9]{2,5}$/i.test(name) ? `${name}.${format === "jpeg" ? "jpg" : format}` : name;
}

/** One of your images, as a row like the upload list's finished cards: thumbnail, name, status, variants. */
function listItem({ image, created_at: createdAt }) {
  const label = imageLabel(image);
  const item = h("li", { class: "owned", "data-id": image.id, "data-status": image.status });
  const when = new Date(createdAt);
  const smallest = image.status === "done" ? image.variants[image.variants.length - 1] : null;
  // From the edge where the user's cookies admit their images (a width for the box, the browser's best format),
  // else the smallest variant's pre-signed URL.
  const aspect = image.original?.width > 0 ? image.original.width / Math.max(1, image.original.height) : 1;
  const edge = smallest && edgeDelivery()
    ? deliveryImage(image, edgeDelivery(), `${Math.ceil(OWNED_THUMB_PIXELS * Math.max(1, aspect))}px`) : null;
  item.append(h("div", { class: "owned-thumb-box" }, smallest
    ? h("img", { class: "owned-thumb", src: smallest.url, ...(edge ?? {}), alt: `Preview of ${label}`,
      width: smallest.width, height: smallest.height })
    : h("span", { class: "owned-no-thumb", "aria-hidden": "true" }, formatName(image.original?.format ?? "") || "…")));
  const main = h("div", { class: "owned-main" },
    h("p", { class: "owned-head" },
      h("span", { class: "owned-name", title: label }, label),
      h("span", { class: `badge owned-status status-${image.status}` }, statusText(image)),
      h("time", { datetime: createdAt }, Number.isNaN(when.getTime()) ? "" : when.toLocaleString())));
  if (image.status === "done") {
    main.append(h("ul", { class: "owned-variants", "aria-label": `Variants of ${label}` },
      image.variants.map((variant) => h("li", { "data-variant": variant.name },
        h("a", { href: variant.download_url },
          `${variant.name} ${formatPixels(variant.width, variant.height)} ${formatName(variant.format)}`
          + (Number.isFinite(variant.bytes) ? `, ${formatBytes(variant.bytes)}` : ""))))));
  }
  item.append(main);
  const remove = h("button", { type: "button", class: "button small danger owned-delete", "aria-label": `Delete: ${label}` },
    "Delete");
  remove.addEventListener("click", async () => {
    remove.disabled = true;
    try {
      await deleteImage(image.id);
      listings += 1; // a listing under way may still hold it
      const next = item.nextElementSibling ?? item.previousElementSibling;
      item.remove();
      els.empty.hidden = els.list.children.length > 0;
      (next?.querySelector("button") ?? els.section).focus();
      els.status.textContent = "Image deleted.";
    } catch (error) {
      remove.disabled = false;
      els.status.textContent = error instanceof ApiError ? describeError(error).title : "The image could not be deleted.";
    }
  });
  item.append(remove);
  return item;
}

function statusText(image) {
  if (image.status === "done") return "Done";
  if (image.status === "failed") return `Failed: ${image.error?.message ?? ""}`.trim();
  return "Processing…";
}
