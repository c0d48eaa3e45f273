// What this deployment accepts and offers, from GET /api/options, and the option controls built
// from it. The page keeps words for the names it knows; a name it does not know still gets a
// plain label, so a deployment that adds a format or filter needs no change here.

import { ApiError } from "./api.js";
import { h } from "./dom.js";
import { formatBytes, formatName } from "./format.js";

const FORMAT_LABELS = {
  original: "Same as the original",
  jpeg: "JPEG",
  png: "PNG",
  webp: "WebP",
  avif: "AVIF",
};

const FORMAT_DESCRIPTIONS = {
  original: "Keeps JPEG, PNG, WebP and GIF; other formats become JPEG, or PNG when they have transparency.",
  jpeg: "Best for photos; no transparency.",
  png: "Lossless, for graphics and screenshots; keeps transparency. Quality does not apply.",
  webp: "Smaller than JPEG at the same quality; keeps transparency and animation.",
  avif: "Slow to make, and at the same quality not always smaller than WebP: compare the two on your photos.",
};

const FILTER_LABELS = {
  grayscale: "Grayscale",
  sepia: "Sepia",
  blur: "Blur",
  sharpen: "Sharpen",
  contour: "Contour",
  edge: "Edges",
  emboss: "Emboss",
  invert: "Invert",
  autocontrast: "Auto contrast",
};

/** Accepted types in words, in the order people know them; unknown ones follow in the API's order. */
const TYPE_WORDS = [
  ["image/jpeg", "JPEG"], ["image/png", "PNG"], ["image/webp", "WebP"], ["image/gif", "GIF"],
  ["image/avif", "AVIF"], ["image/heif", "HEIC"], ["image/tiff", "TIFF"], ["image/bmp", "BMP"],
];

/** Other names browsers and systems give the same types (iPhone photos are image/heic). */
const TYPE_ALIASES = {
  "image/jpeg": ["image/jpg", "image/pjpeg"],
  "image/heif": ["image/heic", "image/heif-sequence", "image/heic-sequence"],
  "image/bmp": ["image/x-ms-bmp", "image/x-bmp"],
};

/** Every other name, so a list that spells out aliases (image/jpg, image/heic) names each type once. */
const ALIAS_NAMES = new Set(Object.values(TYPE_ALIASES).flat());

/** File name endings for the picker, which does not map every type to an extension by itself. */
const TYPE_EXTENSIONS = {
  "image/jpeg": [".jpg", ".jpeg", ".jfif"],
  "image/png": [".png"],
  "image/webp": [".webp"],
  "image/gif": [".gif"],
  "image/avif": [".avif"],
  "image/heif": [".heic", ".heif"],
  "image/tiff": [".tif", ".tiff"],
  "image/bmp": [".bmp"],
};

const capitalised = (name) => {
  const words = String(name).replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
};

export const formatLabel = (name) => FORMAT_LABELS[name] ?? formatName(String(name).replace(/[_-]+/g, " "));
export const filterLabel = (name) => FILTER_LABELS[name] ?? capitalised(name);

const isName = (value) => typeof value === "string" && value.length > 0 && value.length <= 64;
const isCount = (value) => Number.isInteger(value) && value >= 0;

/**
 * The GET /api/options body as the page uses it, or ApiError("server_error") when the parts the
 * page cannot do without are missing; the rest fall back to what the API documents.
 */
export function readConfig(body) {
  const quality = body?.quality ?? {};
  const limits = body?.limits ?? {};
  const formats = Array.isArray(body?.formats) ? body.formats.filter(isName) : [];
  const ok = formats.length > 0
    && Number.isInteger(quality.min) && Number.isInteger(quality.max) && quality.min <= quality.max
    && Number.isInteger(quality.default)
    && isCount(limits.direct_upload_max_bytes);
  if (!ok) throw new ApiError("server_error", "The server's options were not readable.");
  const filters = Array.isArray(body.filters) ? body.filters.filter(isName) : [];
  const types = (Array.isArray(body.accepted_types) ? body.accepted_types : [])
    .filter(isName).map((type) => type.toLowerCase());
  return {
    formats,
    filters,
    maxFilters: isCount(body.max_filters) ? body.max_filters : filters.length,
    acceptedTypes: types,
    quality: {
      min: quality.min,
      max: quality.max,
      default: Math.min(quality.max, Math.max(quality.min, quality.default)),
    },
    variants: (Array.isArray(body.variants) ? body.variants : [])
      .filter((variant) => isName(variant?.name) && isCount(variant?.long_edge)),
    directUploadMaxBytes: limits.direct_upload_max_bytes,
    largeUploadMaxBytes: isCount(limits.large_upload_max_bytes) ? limits.large_upload_max_bytes : null,
    maxPixels: isCount(limits.max_pixels) ? limits.max_pixels : null,
    // After this long pending, an image is failed (processing_timeout): only the API says so (uploads.js).
    processingTimeoutSeconds: isCount(limits.processing_timeout_seconds) ? limits.processing_timeout_seconds : 0,
    delivery: readDelivery(body.delivery),
    links: {
      // Whether /api/images/{id}/{variant} works for whoever holds it (not with sign-in on: no bearer token).
      lasting: body.lasting_links !== false,
      // Days until an image and its links are gone; 0: kept until deleted; null: the server did not say.
      retentionDays: Number.isInteger(body.retention_days) && body.retention_days >= 0 ? body.retention_days : null,
    },
  };
}

/**
 * Images at the edge (GET /img/...): {path, widths, session}, or null where the deployment has none. `session`
 * (sign-in on) is the route that sets the signed cookies and answers the user's own path (edge-session.js).
 */
function readDelivery(delivery) {
  const widths = Array.isArray(delivery?.widths) ? delivery.widths.filter((width) => isCount(width) && width > 0) : [];
  const path = delivery?.path;
  if (typeof path !== "string" || !/^\/[a-z]+$/.test(path) || !widths.length) return null;
  const session = typeof delivery.session === "string" && /^\/api\/[a-z]+$/.test(delivery.session) ? delivery.session : null;
  return { path, widths, session };
}

/**
 * Whether a file's browser-reported type is one the API accepts. No type at all (an unusual
 * extension) is let through: the API decides by the bytes.
 */
export function acceptsType(config, type) {
  if (!type) return true;
  const wanted = type.toLowerCase();
  if (!config.acceptedTypes.length) return wanted.startsWith("image/"); // no list given: the API decides
  return config.acceptedTypes.some((accepted) => accepted === wanted || (TYPE_ALIASES[accepted] ?? []).includes(wanted));
}

/** The file input's accept attribute: every accepted type, its other names and its extensions. */
export function acceptAttribute(config) {
  if (!config.acceptedTypes.length) return "image/*";
  const parts = config.acceptedTypes.flatMap((type) => [type, ...(TYPE_ALIASES[type] ?? []), ...(TYPE_EXTENSIONS[type] ?? [])]);
  return [...new Set(parts)].join(",");
}

/** "JPEG, PNG, WebP or GIF". */
export function acceptedTypesInWords(config) {
  const known = new Map(TYPE_WORDS);
  const words = [
    ...TYPE_WORDS.filter(([type]) => config.acceptedTypes.includes(type)).map(([, word]) => word),
    ...config.acceptedTypes.filter((type) => !known.has(type) && !ALIAS_NAMES.has(type))
      .map((type) => formatName(type.replace(/^image\/(x-)?/, ""))),
  ];
  const unique = [...new Set(words)];
  if (unique.length <= 1) return unique.join("");
  return `${unique.slice(0, -1).join(", ")} or ${unique[unique.length - 1]}`;
}

/** The hint under the file picker: accepted types and the limits a person can act on. */
export function chooseHint(config) {
  const limits = [];
  if (config.largeUploadMaxBytes) limits.push(formatBytes(config.largeUploadMaxBytes));
  if (config.maxPixels) limits.push(`${Math.floor(config.maxPixels / 1e6)} megapixels`);
  // A number and its unit stay on one line.
  const upTo = limits.length ? `, up to ${limits.map((limit) => limit.replace(" ", "\u00a0")).join(" and ")} each` : "";
  return `${acceptedTypesInWords(config) || "Images"}${upTo}. Several at once is fine.`;
}

/** "large (2048 px), medium (1024 px) and thumb (256 px)". */
function variantsInWords(variants) {
  const parts = variants.map((variant) => `${variant.name} (${variant.long_edge} px)`);
  if (parts.length <= 1) return parts.join("");
  return `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
}

/**
 * Fill the option controls (format select, quality range, filter chips) from the config.
 * `els` holds format, formatHint, quality, qualityValue, qualityHint, filters, filtersNote, variantsHint.
 */
export function buildControls(els, config) {
  const formats = config.formats;
  const initial = formats.includes("original") ? "original" : formats[0];
  els.format.replaceChildren(...formats.map((name) => h("option", { value: name, selected: name === initial }, formatLabel(name))));
  els.format.value = initial;
  const describeFormat = () => {
    const description = FORMAT_DESCRIPTIONS[els.format.value] ?? "";
    els.formatHint.textContent = description;
    els.formatHint.hidden = !description;
  };
  els.format.addEventListener("change", describeFormat);
  describeFormat();
  // Lossless output has no quality to choose: the slider is off while PNG is chosen.
  const qualityApplies = () => {
    const applies = els.format.value !== "png";
    els.quality.disabled = !applies;
    els.quality.closest(".field").classList.toggle("is-off", !applies);
    els.qualityHint.textContent = applies
      ? "Used for JPEG, WebP and AVIF. Lower is smaller, higher is sharper."
      : "PNG is lossless, so quality does not apply.";
  };
  els.format.addEventListener("change", qualityApplies);
  qualityApplies();

  els.quality.min = String(config.quality.min);
  els.quality.max = String(config.quality.max);
  els.quality.value = String(config.quality.default);
  els.quality.defaultValue = String(config.quality.default);
  els.qualityValue.textContent = els.quality.value;

  const boxes = config.filters.map((name) => h("input", { type: "checkbox", name: "filters", value: name }));
  els.filters.replaceChildren(...config.filters.map((name, index) => h("label", { class: "chip" },
    boxes[index], h("span", {}, filterLabel(name)))));
  els.filters.closest("fieldset").hidden = config.filters.length === 0;
  const limited = config.maxFilters < config.filters.length;
  els.filtersNote.textContent = limited
    ? `(optional, at most ${config.maxFilters}, applied in this order)`
    : "(optional, applied in this order)";
  // At the limit, the unchecked chips are disabled: more could not be sent.
  const limitFilters = () => {
    const full = boxes.filter((box) => box.checked).length >= config.maxFilters;
    for (const box of boxes) box.disabled = full && !box.checked;
  };
  els.filters.addEventListener("change", limitFilters);
  limitFilters();

  els.variantsHint.textContent = config.variants.length
    ? `Every image becomes ${variantsInWords(config.variants)} on its longest side, never enlarged.`
    : "";
  els.variantsHint.hidden = config.variants.length === 0;
}
