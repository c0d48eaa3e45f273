// A copy-ready responsive <img> for an image's variants.
//
// It uses the stable /api/images/{id}/{variant} addresses, not the pre-signed URLs: a pre-signed
// URL stops working after `expires_in` seconds (15 minutes by default), which is no good in HTML
// that lives on a page, while the API address redirects to a freshly signed URL on every request
// for as long as the variant is kept.

import { variantAddress } from "./api.js";

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

/** The <img srcset> HTML for a processed image (the API's GET /api/images/{id} body). */
export function srcsetSnippet(image, origin = window.location.origin) {
  const candidates = srcsetCandidates(image.variants);
  if (!candidates.length) return "";
  const largest = candidates[candidates.length - 1];
  // The fallback src for browsers without srcset: the smallest variant at least 800 pixels wide.
  const fallback = candidates.find((variant) => variant.width >= 800) ?? largest;
  const address = (variant) => escapeAttribute(variantAddress(image.id, variant.name, origin));
  const lines = ["<img"];
  lines.push(`  src="${address(fallback)}"`);
  if (candidates.length > 1) {
    const srcset = candidates.map((variant) => `${address(variant)} ${variant.width}w`);
    lines.push(`  srcset="${srcset.join(",\n          ")}"`);
    lines.push(`  sizes="(max-width: ${largest.width}px) 100vw, ${largest.width}px"`);
  }
  lines.push(`  width="${largest.width}" height="${largest.height}"`);
  lines.push('  alt="Describe the image here"');
  lines.push('  loading="lazy" decoding="async">');
  return lines.join("\n");
}
