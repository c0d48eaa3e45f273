// One chosen file on the page: its preview, its progress, and at the end its results.

import { blurhashDataUrl } from "./blurhash.js";
import { h, append } from "./dom.js";
import { formatBytes, formatClock, formatFromNow, formatName, formatPixels, metadataName, savings } from "./format.js";
import { filterLabel } from "./options.js";
import { srcsetSnippet } from "./snippet.js";

const STATE_LABELS = {
  ready: "Ready",
  uploading: "Uploading",
  processing: "Processing",
  done: "Done",
  failed: "Failed",
};

let cardCount = 0;

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
function fileKind(file) {
  const subtype = file.type.startsWith("image/") ? file.type.slice(6) : "";
  const extension = file.name.includes(".") ? file.name.split(".").pop() : "";
  const kind = subtype || extension;
  return kind ? formatName(kind.replace(/^x-/, "").replace(/^jpg$/, "jpeg")) : "Unknown type";
}

export function describeOptions(options) {
  const parts = [options.format === "original" ? "Same format" : formatName(options.format), `quality ${options.quality}`];
  if (options.filters.length) parts.push(options.filters.map(filterLabel).join(", "));
  return parts.join(" · ");
}

export class Card {
  /**
   * @param file the File
   * @param actions {retry(), remove(), remove server copy: deleteRemote(), refresh(), copy(text, what)}
   */
  constructor(file, actions) {
    cardCount += 1;
    this.file = file;
    this.actions = actions;
    this.key = `card-${cardCount}`;
    this.previewUrl = null;
    this.previewLoaded = false;
    this.expiresAt = null;
    this.build();
  }

  build() {
    const file = this.file;
    const titleId = `${this.key}-title`;
    this.badge = h("span", { class: "badge" });
    this.meta = h("p", { class: "file-meta" }, `${formatBytes(file.size)} · ${fileKind(file)}`);
    this.route = h("p", { class: "file-route", hidden: true });
    this.progress = h("progress", { class: "progress", max: "100", value: "0", "aria-label": `Upload progress of ${file.name}` });
    this.progressText = h("span", { class: "progress-text" });
    this.progressRow = h("div", { class: "progress-row", hidden: true }, this.progress, this.progressText);
    this.errorTitle = h("p", { class: "error-title" });
    this.errorDetail = h("p", { class: "error-detail" });
    this.errorBox = h("div", { class: "card-error", hidden: true }, this.errorTitle, this.errorDetail);
    this.retryButton = h("button", { type: "button", class: "button small primary", hidden: true }, "Try again");
    this.retryButton.setAttribute("aria-label", `Try ${file.name} again`);
    this.removeButton = h("button", { type: "button", class: "button small quiet" }, "Remove");
    this.removeButton.setAttribute("aria-label", `Remove ${file.name} from the list`);
    this.retryButton.addEventListener("click", () => this.actions.retry());
    this.removeButton.addEventListener("click", () => this.actions.remove());

    this.thumb = h("div", { class: "thumb" });
    this.previewUrl = URL.createObjectURL(file);
    const preview = h("img", { class: "preview", src: this.previewUrl, alt: `Preview of ${file.name}` });
    preview.addEventListener("load", () => {
      this.previewLoaded = true;
      this.previewWidth = preview.naturalWidth;
      this.previewHeight = preview.naturalHeight;
      append(this.meta, [` · ${formatPixels(preview.naturalWidth, preview.naturalHeight)}`]);
    });
    preview.addEventListener("error", () => {
      preview.replaceWith(h("div", { class: "no-preview" }, h("span", {}, fileKind(file)), h("span", {}, "No preview")));
      URL.revokeObjectURL(this.previewUrl);
      this.previewUrl = null;
    });
    this.thumb.append(preview);

    this.result = h("div", { class: "result", hidden: true });
    this.element = h("li", { class: "card", id: this.key, "aria-labelledby": titleId },
      h("div", { class: "card-top" },
        this.thumb,
        h("div", { class: "card-main" },
          h("div", { class: "card-heading" },
            h("h3", { class: "file-name", id: titleId, title: file.name }, file.name),
            this.badge),
          this.meta,
          this.route,
          this.progressRow,
          this.errorBox),
        h("div", { class: "card-actions" }, this.retryButton, this.removeButton)),
      this.result);
    this.setState("ready");
  }

  setState(state) {
    this.state = state;
    this.element.dataset.state = state;
    this.badge.textContent = STATE_LABELS[state] ?? state;
    const busy = state === "uploading" || state === "processing";
    this.removeButton.disabled = busy;
    this.progressRow.hidden = !busy;
    if (state === "uploading") this.setProgress(0, this.file.size);
    if (state === "processing") {
      this.progress.removeAttribute("value");
      this.progress.setAttribute("aria-label", `Processing ${this.file.name}`);
      this.progressText.textContent = "Making variants…";
    }
    if (state !== "failed") {
      this.errorBox.hidden = true;
      this.retryButton.hidden = true;
    }
    this.removeButton.textContent = state === "done" ? "Remove from list" : "Remove";
  }

  /** Where the upload goes and with which options, once it starts. */
  setRoute(text) {
    this.route.textContent = text;
    this.route.hidden = !text;
  }

  setProgress(loaded, total) {
    const percent = total > 0 ? Math.min(100, Math.floor((loaded / total) * 100)) : 0;
    this.progress.value = percent;
    this.progress.setAttribute("aria-label", `Upload progress of ${this.file.name}`);
    this.progressText.textContent = `${percent}% of ${formatBytes(total)}`;
  }

  /** Show a failure: description is {title, detail, retry} from messages.js. */
  showError(description) {
    this.setState("failed");
    this.errorTitle.textContent = description.title;
    this.errorDetail.textContent = description.detail ?? "";
    this.errorDetail.hidden = !description.detail;
    this.errorBox.hidden = false;
    this.retryButton.hidden = !description.retry;
  }

  /**
   * The results of GET /api/images/{id} (status done). `clock` is {server, local}: the server's
   * time when it answered and this page's when the answer arrived (ms), as api.getImage gives them.
   */
  showResult(image, clock = {}) {
    this.image = image;
    this.expiresAt = localExpiry(image, clock);
    const name = this.file.name;
    const variants = [...(image.variants ?? [])].sort((a, b) => b.width * b.height - a.width * a.height);
    const largest = variants[0];
    const aspect = largest ? largest.width / largest.height : 1;
    const placeholder = image.placeholder ? blurhashDataUrl(image.placeholder, aspect) : null;
    const paint = (element) => {
      if (placeholder) element.style.backgroundImage = `url("${placeholder}")`;
      if (largest) {
        element.style.aspectRatio = `${largest.width} / ${largest.height}`;
        element.style.setProperty("--ratio", String(largest.width / largest.height));
      }
    };

    const sections = [];
    if (largest) sections.push(this.buildComparison(image, largest, paint));
    sections.push(h("div", { class: "result-side" }, this.buildPrivacy(image), this.buildLinks()));

    const variantList = h("ul", { class: "variants", "aria-label": `Variants of ${name}` },
      variants.map((variant) => this.buildVariant(variant, paint)));

    const snippetText = srcsetSnippet(image);
    const code = h("code", {}, snippetText);
    const copySnippet = h("button", { type: "button", class: "button small" }, "Copy HTML");
    copySnippet.setAttribute("aria-label", `Copy the responsive image HTML for ${name}`);
    copySnippet.addEventListener("click", () => this.actions.copy(snippetText, "Responsive image HTML", copySnippet));
    const snippet = h("section", { class: "snippet", "aria-label": "Responsive image HTML" },
      h("div", { class: "subhead" }, h("h4", {}, "Responsive image HTML"), copySnippet),
      h("p", { class: "hint" },
        "Uses this service's own addresses (/api/images/…), which keep working after the signed links expire: each one redirects to a freshly signed link."),
      h("pre", { class: "code", tabindex: "0", "aria-label": "HTML snippet" }, code));

    const deleteButton = h("button", { type: "button", class: "button small danger" }, "Delete from server");
    deleteButton.setAttribute("aria-label", `Delete ${name} and its variants from the server`);
    deleteButton.addEventListener("click", () => this.actions.deleteRemote(deleteButton));

    this.result.replaceChildren(
      h("div", { class: "result-grid" }, sections),
      h("div", { class: "subhead" }, h("h4", {}, `Variants (${variants.length})`)),
      variantList,
      snippet,
      h("div", { class: "result-actions" }, deleteButton),
    );
    this.result.hidden = false;
    this.updateExpiry();
  }

  buildComparison(image, after, paint) {
    const original = image.original ?? {};
    const afterImage = h("img", {
      class: "compare-after", src: after.url, width: after.width, height: after.height,
      alt: `${this.file.name} after processing (${after.name} variant)`,
    });
    const stage = h("div", { class: "compare" }, afterImage);
    paint(stage);
    const reduction = savings(original.bytes, after.bytes);
    const caption = h("figcaption", {},
      h("span", {}, h("strong", {}, "Original "),
        `${formatPixels(original.width, original.height)} ${formatName(original.format)}, ${formatBytes(original.bytes)}`),
      h("span", {}, h("strong", {}, `${after.name} `),
        `${formatPixels(after.width, after.height)} ${formatName(after.format)}, ${formatBytes(after.bytes)}`,
        reduction > 0 ? h("span", { class: "saving" }, ` · ${reduction}% smaller`) : null));

    if (this.previewUrl && this.previewLoaded) {
      const beforeImage = h("img", { class: "compare-before", src: this.previewUrl, alt: `${this.file.name} as uploaded` });
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
    } else {
      stage.append(h("span", { class: "compare-tag compare-tag-after" }, "Processed"));
      caption.append(h("span", { class: "hint" }, "This browser cannot show the original's format, so there is no before view."));
    }
    return h("figure", { class: "compare-figure" }, stage, caption);
  }

  buildPrivacy(image) {
    const removed = Array.isArray(image.metadata_removed) ? image.metadata_removed : [];
    const body = removed.length
      ? [h("p", {}, "Removed from every variant:"),
        h("ul", { class: "tags" }, removed.map((item) => h("li", {}, metadataName(item))))]
      : [h("p", {}, "The original carried no metadata that needed removing.")];
    return h("section", { class: "privacy", "aria-label": "Privacy report" },
      h("h4", {}, "Privacy report"), body);
  }

  buildLinks() {
    this.expiryText = h("p", { class: "expiry" });
    const refresh = h("button", { type: "button", class: "button small" }, "Get fresh links");
    refresh.setAttribute("aria-label", `Get fresh links for ${this.file.name}`);
    refresh.addEventListener("click", () => this.actions.refresh(refresh));
    return h("section", { class: "links", "aria-label": "Link expiry" },
      h("h4", {}, "Links"), this.expiryText, refresh);
  }

  buildVariant(variant, paint) {
    const frame = h("div", { class: "variant-frame" },
      h("img", {
        src: variant.url, width: variant.width, height: variant.height,
        alt: `${variant.name} variant of ${this.file.name}, ${variant.width} by ${variant.height} pixels`,
        "data-variant": variant.name,
      }));
    paint(frame);
    // download_url answers with Content-Disposition: attachment and the file name, so the file is
    // saved, not opened (`download` alone is ignored across origins). Without one, a new tab, so
    // the page and its results stay.
    const saves = typeof variant.download_url === "string";
    const download = h("a", {
      class: "button small", href: saves ? variant.download_url : variant.url, download: true,
      target: saves ? null : "_blank", rel: saves ? null : "noopener",
    }, "Download");
    download.setAttribute("aria-label", `Download the ${variant.name} variant`);
    const copy = h("button", { type: "button", class: "button small" }, "Copy link");
    copy.setAttribute("aria-label", `Copy the link to the ${variant.name} variant`);
    copy.addEventListener("click", () => this.actions.copy(variant.url, `Link to the ${variant.name} variant`, copy));
    return h("li", { class: "variant", "data-variant": variant.name },
      frame,
      h("div", { class: "variant-info" },
        h("p", { class: "variant-name" }, variant.name),
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
