// Variants saved as one ZIP, made in the browser with client-zip (web/vendor/client-zip, MIT):
// stored, not compressed (images are compressed already), so it costs no server and no wait for
// a server-side archive, and works for any number of images. The bytes come from the variants'
// pre-signed URLs; the processed-images bucket's CORS rule lets this page read them.

import { fetchVariant } from "./api.js";
import { downloadZip } from "./vendor/client-zip/index.js";

const extension = (url) => new URL(url).pathname.split(".").pop();

/** "lake at dusk.jpg" -> "lake at dusk": the name the server kept, else the chosen file's. */
function stem(image, fileName) {
  return image.original?.name || fileName.replace(/\.[^.]*$/, "") || image.id;
}

/**
 * The ZIP of `entries` ([{image, fileName}], GET /api/images/{id} bodies), one folder per image
 * when there are several, and saved as `zipName`.
 */
export async function saveZip(entries, zipName) {
  const used = new Set();
  const files = [];
  for (const { image, fileName } of entries) {
    let folder = stem(image, fileName);
    if (used.has(folder)) folder = `${folder} (${image.id.slice(0, 8)})`;
    used.add(folder);
    for (const variant of image.variants) {
      const name = `${folder}-${variant.name}.${extension(variant.url)}`;
      files.push({ name: entries.length > 1 ? `${folder}/${name}` : name, input: await fetchVariant(variant.url) });
    }
  }
  const blob = await downloadZip(files).blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = zipName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

export const zipNameFor = (image, fileName) => `${stem(image, fileName)}.zip`;
