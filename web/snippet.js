// A copy-ready responsive <img> for an image.
//
// Where the deployment delivers images at the edge (GET /api/options has `delivery`), it uses the site's
// /img/{id}/{width}.auto addresses: any width of the deployment, in the format each browser prefers (AVIF,
// WebP or JPEG), cached by CloudFront, for as long as the image is kept. Otherwise it uses the stable
// /api/images/{id}/{variant} addresses, not the pre-signed URLs: a pre-signed URL stops working after
// `expires_in` seconds (15 minutes by default), which is no good in HTML that lives on a page, while the API
// address redirects to a freshly signed URL on every request for as long as the variant is kept.

import { deliveryAddress, variantAddress } from "./api.js";

const escapeAttribute = (value) => String(value)
  .replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** The variants as srcset candidates: smallest first, one per distinct width. */
export function srcsetCandidates(variants) {
  const byWidth = new Map();
  for (const variant of [...variants].sort((a, b) => a.width - b.width || a.bytes - b.bytes)) {
    if (!byWidth.has(variant.width)) byWidth.set(variant.width, variant);
  }
  return [...byWidth.values()];
}

/**
 * The deployment's widths as srcset candidates for an original of this size, smallest first: each width
 * below the original's, then the next one, which answers with the original's own width (never upscaled),
 * so every descriptor is the width the browser gets. {request, width, height}.
 */
export function deliveryCandidates(original, widths) {
  if (!(original?.width > 0 && original?.height > 0)) return [];
  const sorted = [...widths].filter((width) => Number.isInteger(width) && width > 0).sort((a, b) => a - b);
  const height = (width) => Math.max(1, Math.round((original.height * width) / original.width));
  const candidates = sorted.filter((width) => width < original.width)
    .map((width) => ({ request: width, width, height: height(width) }));
  const next = sorted.find((width) => width >= original.width);
  if (next !== undefined) candidates.push({ request: next, width: original.width, height: original.height });
  return candidates;
}

/** srcset and sizes for an <img> showing this image at `sizes` (CSS), from the edge's widths. */
export function deliveryImage(image, delivery, sizes, origin = window.location.origin) {
  const candidates = deliveryCandidates(image.original, delivery.widths);
  if (!candidates.length) return null;
  const address = (candidate) => deliveryAddress(image.id, candidate.request, delivery, origin);
  return {
    src: address(candidates[0]),
    srcset: candidates.map((candidate) => `${address(candidate)} ${candidate.width}w`).join(", "),
    sizes,
  };
}

/** The edge address that answers this width of the image (the next width of the deployment, the original's at most). */
export function deliveryLink(image, delivery, width, origin = window.location.origin) {
  const candidates = deliveryCandidates(image.original, delivery.widths);
  const candidate = candidates.find((item) => item.width >= width) ?? candidates.at(-1);
  return candidate ? deliveryAddress(image.id, candidate.request, delivery, origin) : null;
}

/** Each candidate as {url, width, height}: the edge's widths when there is delivery, else the variants. */
function candidatesFor(image, delivery, origin) {
  if (delivery) {
    return deliveryCandidates(image.original, delivery.widths).map((candidate) => ({
      url: deliveryAddress(image.id, candidate.request, delivery, origin),
      width: candidate.width, height: candidate.height,
    }));
  }
  return srcsetCandidates(image.variants ?? []).map((variant) => ({
    url: variantAddress(image.id, variant.name, origin), width: variant.width, height: variant.height,
  }));
}

/** The <img srcset> HTML for a processed image (the API's GET /api/images/{id} body). */
export function srcsetSnippet(image, origin = window.location.origin, delivery = null) {
  const candidates = candidatesFor(image, delivery, origin);
  if (!candidates.length) return "";
  const largest = candidates[candidates.length - 1];
  // The fallback src for browsers without srcset: the smallest candidate at least 800 pixels wide.
  const fallback = candidates.find((candidate) => candidate.width >= 800) ?? largest;
  const lines = ["<img"];
  lines.push(`  src="${escapeAttribute(fallback.url)}"`);
  if (candidates.length > 1) {
    const srcset = candidates.map((candidate) => `${escapeAttribute(candidate.url)} ${candidate.width}w`);
    lines.push(`  srcset="${srcset.join(",\n          ")}"`);
    lines.push(`  sizes="(max-width: ${largest.width}px) 100vw, ${largest.width}px"`);
  }
  lines.push(`  width="${largest.width}" height="${largest.height}"`);
  lines.push('  alt="Describe the image here"');
  lines.push('  loading="lazy" decoding="async">');
  return lines.join("\n");
}
