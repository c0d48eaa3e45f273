// One chosen file on the page: its preview, its progress, and at the end its results.

import { blurhashDataUrl } from "./blurhash.js";
import { h, append } from "./dom.js";
import { variantAddress } from "./api.js";
import { formatBytes, formatClock, formatFromNow, formatName, formatPixels, metadataName, sizeChange } from "./format.js";
import { filterLabel } from "./options.js";
import { BUSY_STATES } from "./model.js";
import { deliveryImage, deliveryLink, srcsetSnippet } from "./snippet.js";

const STATE_LABELS = {
  ready: "Ready",
  waiting: "Waiting",
  uploading: "Uploading",
  processing: "Processing",
  done: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
  deleted: "Deleted",
};

let cardCount = 0;

/** The card thumbnail's box in CSS pixels (`.thumb` in style.css; smaller on narrow screens). */
const THUMB_PIXELS = 88;

/** How far this device's clock may be from the server's before the page corrects for it. */
const CLOCK_TOLERANCE_MS = 30_000;

/**
 * When an answer's links expire, on this page's clock: the server's `expires_at`, moved by how
 * far this device's clock is off (judged by the answer's Date header), so "work until" and the
 * countdown agree with the clock the person sees. An answer without `expires_at` counts
 * `expires_in` from its arrival.
 */
function localExpiry(image, { server = Number.NaN, local = Date.now() } = {}) {
  const expiresAt = typeof image.expires_at === "string" ? Date.parse(image.expires_at) : Number.NaN;
  if (!Number.isFinite(expiresAt)) return local + (Number(image.expires_in) || 0) * 1000;
  const skew = Number.isFinite(server) ? local - server : 0;
  return Math.abs(skew) > CLOCK_TOLERANCE_MS ? expiresAt + skew : expiresAt;
}

/** The file's type in words, from its MIME type or its extension. */
function fileKind(source) {
  const subtype = source.type.startsWith("image/") ? source.type.slice(6) : "";
  const extension = source.name.includes(".") ? source.name.split(".").pop() : "";
  const kind = subtype || extension;
  return kind ? formatName(kind.replace(/^x-/, "").replace(/^jpg$/, "jpeg")) : "Unknown type";
}

/** Whether the output is lossless PNG, where quality means nothing: PNG asked for, or a PNG kept as it is. */
function losslessOutput(options, type) {
  return options.format === "png" || (options.format === "original" && type === "image/png");
}

/** "WebP · quality 82 · Grayscale"; quality is left out where it does not apply. */
export function describeOptions(options, type = "") {
  const parts = [options.format === "original" ? "Same format" : formatName(options.format)];
  if (!losslessOutput(options, type)) parts.push(`quality ${options.quality}`);
  if (options.filters.length) parts.push(options.filters.map(filterLabel).join(", "));
  return parts.join(" · ");
}

/** What to try when a result came out larger than its original: advice that fits the output format. */
export function betterFormat(original, after) {
  const drawing = original.format === "png" || original.format === "gif";
  switch (after.format) {
    case "png":
      return original.format === "png"
        ? "The original PNG was compressed harder than this service does; WebP is usually smaller."
        : "PNG keeps every pixel, so photos grow. For photos choose JPEG or WebP.";
    case "jpeg":
      return drawing
        ? "Drawings and screenshots compress better as PNG or WebP than as JPEG."
        : "The original was already compressed hard: try WebP, or a lower quality.";
    case "webp":
    case "avif":
      return drawing
        ? `This drawing was already small as ${formatName(original.format)}: keep its format (Same format), or try a lower quality.`
        : `The original was already compressed hard: try a lower quality for ${formatName(after.format)}.`;
    default:
      return "Try a lower quality, or another format.";
  }
}

// What links the page may hand out (GET /api/options: lasting_links, retention_days), set once they load.
let links = { lasting: true, retentionDays: null };

export function setLinkPolicy(policy) {
  links = policy;
}

/** How long an image, and every link to it, lasts; "" when the server did not say. */
export function retentionSentence(days = links.retentionDays) {
  if (days === 0) return "The image is kept until it is deleted.";
  if (!Number.isInteger(days)) return "";
  return `The image is deleted ${days} ${days === 1 ? "day" : "days"} after upload, and every link to it stops working then.`;
}

export class Card {
  /**
   * @param source the File, or for a card restored after a reload {name, size, type} (no preview)
   * @param actions {retry(), cancel(), remove(), deleteRemote(button), refresh(button),
   *   copy(text, what, button), zip(button)}
   */
  constructor(source, actions) {
    cardCount += 1;
    this.source = source;
    this.actions = actions;
    this.key = `card-${cardCount}`;
    this.previewUrl = null;
    this.previewLoaded = false;
    this.expiresAt = null;
    /** Resolves with the preview's {width, height}, or null when the browser cannot show it. */
    this.previewSize = Promise.resolve(null);
    this.build();
  }

  get name() {
    return this.source.name;
  }

  build() {
    const source = this.source;
    const name = source.name;
    const titleId = `${this.key}-title`;
    this.badge = h("span", { class: "badge" });
    this.meta = h("p", { class: "file-meta" }, `${formatBytes(source.size)} · ${fileKind(source)}`);
    this.route = h("p", { class: "file-route", hidden: true });
    this.progress = h("progress", { class: "progress", max: "100", value: "0", "aria-label": `Upload progress of ${name}` });
    this.progressText = h("span", { class: "progress-text" });
    this.progressRow = h("div", { class: "progress-row", hidden: true }, this.progress, this.progressText);
    this.errorTitle = h("p", { class: "error-title" });
    this.errorDetail = h("p", { class: "error-detail" });
    this.errorBox = h("div", { class: "card-error", hidden: true }, this.errorTitle, this.errorDetail);
    // Accessible names start with the visible text (WCAG 2.5.3), then say which file.
    this.retryButton = this.button("Try again", `Try again: ${name}`, "primary", () => this.actions.retry());
    this.cancelButton = this.button("Cancel", `Cancel: ${name}`, "", () => this.actions.cancel());
    this.removeButton = this.button("Remove", `Remove: ${name}`, "quiet", () => this.actions.remove());
    // A finished card in a long list is a row; its results open here (aria-expanded says which).
    this.detailsButton = this.button("Details", `Details: ${name}`, "", () => this.setExpanded(!this.expanded));
    this.detailsButton.hidden = true;
    this.sizes = h("p", { class: "file-sizes", hidden: true });


    this.thumb = h("div", { class: "thumb" });
    if (source instanceof Blob) {
      this.previewUrl = URL.createObjectURL(source);
      const preview = h("img", { class: "preview", src: this.previewUrl, alt: `Preview of ${name}` });
      this.previewSize = new Promise((resolve) => {
        preview.addEventListener("load", () => {
          this.previewLoaded = true;
          append(this.meta, [` · ${formatPixels(preview.naturalWidth, preview.naturalHeight)}`]);
          resolve({ width: preview.naturalWidth, height: preview.naturalHeight });
        });
        preview.addEventListener("error", () => {
          preview.replaceWith(this.noPreview("No preview"));
          URL.revokeObjectURL(this.previewUrl);
          this.previewUrl = null;
          resolve(null);
        });
      });
      this.thumb.append(preview);
    } else {
      this.thumb.append(this.noPreview("Restored"));
    }

    this.result = h("div", { class: "result", id: `${this.key}-result`, hidden: true });
    this.detailsButton.setAttribute("aria-controls", this.result.id);
    this.compact = false;
    this.expanded = true;
    this.element = h("li", { class: "card", id: this.key, "aria-labelledby": titleId, tabindex: "-1" },
      h("div", { class: "card-top" },
        this.thumb,
        h("div", { class: "card-main" },
          h("div", { class: "card-heading" },
            h("h3", { class: "file-name", id: titleId, title: name }, name),
            this.badge),
          this.meta,
          this.sizes,
          this.route,
          this.progressRow,
          this.errorBox),
        h("div", { class: "card-actions" }, this.retryButton, this.cancelButton, this.detailsButton, this.removeButton)),
      this.result);
    this.setState("ready");
  }

  button(text, label, kind, onClick) {
    const button = h("button", { type: "button", class: `button small ${kind}`.trim(), "aria-label": label }, text);
    button.addEventListener("click", onClick);
    return button;
  }

  noPreview(note) {
    return h("div", { class: "no-preview" }, h("span", {}, fileKind(this.source)), h("span", {}, note));
  }

  setState(state) {
    this.state = state;
    this.element.dataset.state = state;
    this.badge.textContent = STATE_LABELS[state] ?? state;
    const busy = BUSY_STATES.has(state);
    this.removeButton.hidden = busy;
    this.cancelButton.hidden = !busy;
    this.progressRow.hidden = !busy;
    if (state === "waiting") {
      this.progress.value = 0;
      this.progress.setAttribute("aria-label", `${this.name} is waiting its turn`);
      this.progressText.textContent = "Waiting for its turn…";
    }
    if (state === "uploading") this.setProgress(0, this.source.size);
    if (state === "processing") {
      this.progress.removeAttribute("value");
      this.progress.setAttribute("aria-label", `Processing ${this.name}`);
      this.progressText.textContent = "Making variants…";
    }
    if (!["failed", "cancelled", "deleted"].includes(state)) {
      this.errorBox.hidden = true;
      this.retryButton.hidden = true;
    }
    if (state !== "done") this.setCompact(false);
    if (state === "deleted") this.result.hidden = true;
    this.removeButton.textContent = state === "done" || state === "deleted" ? "Remove from list" : "Remove";
    this.removeButton.setAttribute("aria-label", `${this.removeButton.textContent}: ${this.name}`);
  }

  /**
   * A finished card as a row (thumbnail, name, sizes, actions) whose results open on demand, or as a
   * full card. Only a done card becomes a row.
   */
  setCompact(compact) {
    this.compact = compact && this.state === "done";
    this.element.classList.toggle("is-compact", this.compact);
    this.detailsButton.hidden = !this.compact;
    this.setExpanded(!this.compact);
  }

  setExpanded(expanded) {
    this.expanded = expanded;
    this.element.classList.toggle("is-expanded", expanded);
    this.detailsButton.setAttribute("aria-expanded", String(expanded));
    this.detailsButton.textContent = expanded ? "Hide details" : "Details";
    this.detailsButton.setAttribute("aria-label", `${this.detailsButton.textContent}: ${this.name}`);
    if (this.image && this.state === "done") this.result.hidden = !expanded;
  }

  /** The responsive <img> HTML over the lasting addresses, with how long they last. */
  buildSnippet(image, name, delivery = null) {
    const snippetText = srcsetSnippet(image, window.location.origin, delivery);
    const code = h("code", {}, snippetText);
    const copySnippet = this.button("Copy HTML", `Copy HTML: responsive image of ${name}`, "", () => {
      this.actions.copy(snippetText, "Responsive image HTML", copySnippet);
    });
    return h("section", { class: "snippet" },
      h("div", { class: "subhead" }, h("h4", {}, "Responsive image HTML"), copySnippet),
      h("p", { class: "hint" }, delivery?.signed
        ? `Uses your own /img/… addresses on this site: each width in the format the browser prefers, from the CDN's cache. They work only in a browser signed in here (a cookie admits your images), not on other people's pages. ${retentionSentence()}`.trim()
        : delivery
        ? `Uses this site's /img/… addresses: each width in the format the browser prefers (AVIF, WebP or JPEG), from the CDN's cache. ${retentionSentence()}`.trim()
        : `Uses this service's own addresses (/api/images/…), which keep working after the signed links expire: each one redirects to a freshly signed link. ${retentionSentence()}`.trim()),
      h("pre", { class: "code", tabindex: "0", "aria-label": "HTML snippet" }, code));
  }

  /** The options an upload goes with, once it starts (`data-route` says which way, for tests). */
  setRoute(route, options) {
    this.route.dataset.route = route;
    this.route.textContent = describeOptions(options, this.source.type);
    this.route.hidden = false;
  }

  setProgress(loaded, total) {
    const percent = total > 0 ? Math.min(100, Math.floor((loaded / total) * 100)) : 0;
    this.progress.value = percent;
    this.progress.setAttribute("aria-label", `Upload progress of ${this.name}`);
    this.progressText.textContent = `Uploading: ${percent}% of ${formatBytes(total)}`;
  }

  /** Show a failure, a cancellation or a deletion: description is {title, detail, retry} from messages.js. */
  showError(description, state = "failed") {
    this.setState(state);
    this.errorTitle.textContent = description.title;
    this.errorDetail.textContent = description.detail ?? "";
    this.errorDetail.hidden = !description.detail;
    this.errorBox.hidden = false;
    this.errorBox.classList.toggle("is-note", state !== "failed");
    this.retryButton.hidden = !description.retry;
  }

  /**
   * The results of GET /api/images/{id} (status done). `clock` is {server, local}: the server's
   * time when it answered and this page's when the answer arrived (ms), as api.getImage gives them.
   * `delivery` is GET /api/options' {path, widths} of images at the edge, or null without them.
   */
  showResult(image, clock = {}, delivery = null) {
    this.image = image;
    this.delivery = delivery;
    this.element.dataset.imageId = image.id;
    this.expiresAt = localExpiry(image, clock);
    const name = this.name;
    const variants = [...(image.variants ?? [])].sort((a, b) => b.width * b.height - a.width * a.height);
    const largest = variants[0];
    this.showSizes(image, largest);
    this.showThumbVariant(image, variants.at(-1), delivery);
    const aspect = largest ? largest.width / largest.height : 1;
    const placeholder = image.placeholder ? blurhashDataUrl(image.placeholder, aspect) : null;
    // The placeholder shows only until the image loads; then a checkerboard shows through
    // transparent areas as transparency, not as a blur of the picture.
    const paint = (element, images) => {
      if (placeholder) element.style.backgroundImage = `url("${placeholder}")`;
      if (largest) {
        element.style.aspectRatio = `${largest.width} / ${largest.height}`;
        element.style.setProperty("--ratio", String(largest.width / largest.height));
      }
      const loaded = () => {
        if (images.every((img) => img.complete && img.naturalWidth > 0)) {
          element.style.removeProperty("background-image");
          element.classList.add("is-loaded");
        }
      };
      for (const img of images) img.addEventListener("load", loaded);
      loaded();
    };

    const sections = [];
    if (largest) sections.push(this.buildComparison(image, largest, paint));
    sections.push(h("div", { class: "result-side" }, this.buildPrivacy(image), this.buildLinks()));

    const variantList = h("ul", { class: "variants", "aria-label": `Variants of ${name}` },
      variants.map((variant) => this.buildVariant(image, variant, paint)));

    // Signed in, the user's own /img/… addresses (their cookie admits them) stand in for the API's.
    const shareable = links.lasting || Boolean(delivery?.signed);
    const snippet = shareable ? this.buildSnippet(image, name, delivery) : h("section", { class: "snippet no-links" },
      h("h4", {}, "Links to share"),
      h("p", { class: "hint" },
        "Sign-in is on, so this service's addresses answer only signed-in requests, which a shared link or an <img> on another page never is: no links or HTML to share are offered. Download the files to use them elsewhere."));

    const zipButton = this.button("Download all as ZIP", `Download all as ZIP: every variant of ${name}`, "", () => {
      this.actions.zip(zipButton);
    });
    const deleteButton = this.button("Delete from server", `Delete from server: ${name} and its variants`, "danger", () => {
      this.actions.deleteRemote(deleteButton);
    });

    this.result.replaceChildren(
      h("div", { class: "result-grid" }, sections),
      h("div", { class: "subhead" }, h("h4", {}, `Variants (${variants.length})`), zipButton),
      delivery?.signed
        ? h("p", { class: "hint variants-hint" }, `Copy link gives your own /img/… address of a variant's width, which works in a browser signed in here. ${retentionSentence()}`.trim())
        : links.lasting
        ? h("p", { class: "hint variants-hint" }, `Copy link gives a lasting address of a variant. ${retentionSentence()}`.trim())
        : null,
      variantList,
      snippet,
      h("div", { class: "result-actions" }, deleteButton),
    );
    this.result.hidden = this.compact && !this.expanded;
    this.updateExpiry();
  }

  /** "2.4 MiB → 312 KiB (87% smaller) · 3 variants": the row's one line about the outcome. */
  showSizes(image, largest) {
    const before = image.original?.bytes;
    const count = image.variants?.length ?? 0;
    if (!largest || !Number.isFinite(before)) {
      this.sizes.hidden = true;
      return;
    }
    const change = sizeChange(before, largest.bytes);
    const verdict = change?.smaller ? ` (${change.smaller}% smaller)` : change?.larger ? ` (+${change.larger}% larger)` : "";
    this.sizes.textContent =
      `${formatBytes(before)} → ${formatBytes(largest.bytes)}${verdict} · ${count} ${count === 1 ? "variant" : "variants"}`;
    this.sizes.hidden = false;
  }

  /**
   * A thumbnail where the browser has no preview of its own: a format it cannot show (HEIC), or a card
   * restored after a reload (the page does not keep files). Where the deployment delivers images at the edge,
   * a width just large enough for the thumbnail's box, from the cache and in the browser's best format;
   * otherwise the smallest variant.
   */
  showThumbVariant(image, smallest, delivery) {
    if (this.previewUrl && this.previewLoaded) return;
    // The box is square and covered: a landscape image is shown as wide as its aspect makes it.
    const aspect = image.original?.width > 0 ? image.original.width / Math.max(1, image.original.height) : 1;
    const edge = delivery ? deliveryImage(image, delivery, `${Math.ceil(THUMB_PIXELS * Math.max(1, aspect))}px`) : null;
    if (!edge && !smallest) return;
    const img = h("img", { class: "preview from-variant", ...(edge ?? { src: smallest.url }), alt: `Preview of ${this.name}` });
    this.thumb.replaceChildren(img);
  }

  buildComparison(image, after, paint) {
    const original = image.original ?? {};
    const afterImage = h("img", {
      class: "compare-after", src: after.url, width: after.width, height: after.height,
      alt: `${this.name} after processing (${after.name} variant)`,
    });
    const stage = h("div", { class: "compare" }, afterImage);
    const change = sizeChange(original.bytes, after.bytes);
    const caption = h("figcaption", {},
      h("span", {}, h("strong", {}, "Original "),
        `${formatPixels(original.width, original.height)} ${formatName(original.format)}, ${formatBytes(original.bytes)}`),
      h("span", {}, h("strong", {}, `${after.name} `),
        `${formatPixels(after.width, after.height)} ${formatName(after.format)}, ${formatBytes(after.bytes)}`,
        change?.smaller ? h("span", { class: "saving" }, ` · ${change.smaller}% smaller`) : null,
        change?.larger ? h("span", { class: "growth" }, ` · +${change.larger}% larger`) : null));
    if (change?.larger) caption.append(h("span", { class: "hint growth-hint" }, betterFormat(original, after)));

    if (this.previewUrl && this.previewLoaded) {
      const beforeImage = h("img", { class: "compare-before", src: this.previewUrl, alt: `${this.name} as uploaded` });
      const range = h("input", {
        type: "range", class: "compare-range", min: "0", max: "100", value: "50",
        "aria-label": `Compare the original with the ${after.name} variant`,
        "aria-valuetext": "Original on the left half",
      });
      const divider = h("div", { class: "compare-divider", "aria-hidden": "true" }, h("span", { class: "compare-handle" }));
      const setPosition = () => {
        stage.style.setProperty("--pos", `${range.value}%`);
        range.setAttribute("aria-valuetext", `${range.value}% original`);
      };
      range.addEventListener("input", setPosition);
      stage.append(beforeImage, divider,
        h("span", { class: "compare-tag compare-tag-before", "aria-hidden": "true" }, "Original"),
        h("span", { class: "compare-tag compare-tag-after", "aria-hidden": "true" }, "Processed"),
        range);
      stage.classList.add("has-before");
      setPosition();
      paint(stage, [afterImage, beforeImage]);
    } else {
      stage.append(h("span", { class: "compare-tag compare-tag-after" }, "Processed"));
      caption.append(h("span", { class: "hint" }, this.source instanceof Blob
        ? "This browser cannot show the original's format, so there is no before view."
        : "The page does not keep originals across a reload, so there is no before view."));
      paint(stage, [afterImage]);
    }
    return h("figure", { class: "compare-figure" }, stage, caption);
  }

  buildPrivacy(image) {
    const removed = Array.isArray(image.metadata_removed) ? image.metadata_removed : [];
    const body = removed.length
      ? [h("p", {}, "Removed from every variant:"),
        h("ul", { class: "tags" }, removed.map((item) => h("li", {}, metadataName(item))))]
      : [h("p", {}, "The original carried no metadata that needed removing.")];
    // Sections without a name: with one, every card would add landmarks of the same name.
    return h("section", { class: "privacy" },
      h("h4", {}, "Privacy report"), body);
  }

  buildLinks() {
    this.expiryText = h("p", { class: "expiry" });
    const refresh = this.button("Get fresh links", `Get fresh links: ${this.name}`, "", () => this.actions.refresh(refresh));
    return h("section", { class: "links" },
      h("h4", {}, "Links"), this.expiryText, refresh);
  }

  buildVariant(image, variant, paint) {
    const img = h("img", {
      src: variant.url, width: variant.width, height: variant.height,
      alt: `${variant.name} variant of ${this.name}, ${variant.width} by ${variant.height} pixels`,
      "data-variant": variant.name,
    });
    const frame = h("div", { class: "variant-frame" }, img);
    paint(frame, [img]);
    // download_url answers with Content-Disposition: attachment and the file name, so the file is
    // saved, not opened (`download` alone is ignored across origins). Without one, a new tab, so
    // the page and its results stay.
    const saves = typeof variant.download_url === "string";
    const download = h("a", {
      class: "button small", href: saves ? variant.download_url : variant.url, download: true,
      target: saves ? null : "_blank", rel: saves ? null : "noopener",
      "aria-label": `Download: ${variant.name} variant`,
    }, "Download");
    // The lasting address (it redirects to a freshly signed URL), not the signed URL that dies with the links;
    // signed in, the user's own edge address of that width (the API's would need a bearer token).
    const edge = this.delivery?.signed ? deliveryLink(image, this.delivery, variant.width) : null;
    const lasting = edge ?? variantAddress(image.id, variant.name);
    const copy = links.lasting || edge ? this.button("Copy link", `Copy link: ${variant.name} variant`, "", () => {
      this.actions.copy(lasting, `Link to the ${variant.name} variant`, copy);
    }) : null;
    const aliases = Array.isArray(variant.aliases) ? variant.aliases : [];
    return h("li", { class: "variant", "data-variant": variant.name },
      frame,
      h("div", { class: "variant-info" },
        h("p", { class: "variant-name" }, variant.name),
        aliases.length
          ? h("p", { class: "variant-aliases hint" }, `Also ${aliases.join(" and ")}: the image is smaller than their size, so they are the same file.`)
          : null,
        h("p", { class: "variant-facts" },
          h("span", { class: "variant-pixels" }, formatPixels(variant.width, variant.height)),
          h("span", { class: "variant-format" }, formatName(variant.format)),
          h("span", { class: "variant-bytes" }, formatBytes(variant.bytes)))),
      h("div", { class: "variant-actions" }, download, copy));
  }

  /** Rewrite "links expire …" against the clock; true once they have expired. */
  updateExpiry(now = Date.now()) {
    if (!this.expiryText || this.expiresAt === null) return false;
    const left = this.expiresAt - now;
    const expired = left <= 0;
    this.element.classList.toggle("links-expired", expired);
    this.expiryText.textContent = expired
      ? `The download links expired at ${formatClock(new Date(this.expiresAt))}. Get fresh links to download or copy them.`
      : `Download links work until ${formatClock(new Date(this.expiresAt))} (${formatFromNow(left)}).`;
    return expired;
  }

  dispose() {
    if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
    this.element.remove();
  }
}
