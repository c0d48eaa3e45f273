// The image type of a file from its first bytes, as the API decides it (src/shared/imageservice/sniff.py).
// Used before a large upload, which goes straight to storage without the API seeing the bytes:
// it names the Content-Type the pre-signed POST needs and saves sending megabytes of non-image.

export const CONTENT_TYPES = {
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  heif: "image/heif",
  tiff: "image/tiff",
  bmp: "image/bmp",
};

const AVIF_BRANDS = new Set(["avif", "avis"]);
const HEIF_BRANDS = new Set(["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"]);
const BMP_DIB_HEADER_SIZES = new Set([12, 16, 40, 52, 56, 64, 108, 124]);

const ascii = (bytes, start, end) => String.fromCharCode(...bytes.subarray(start, end));
const startsWith = (bytes, prefix) => prefix.every((value, index) => bytes[index] === value);

/** "jpeg", "png", … or null for bytes that are not an accepted image. */
export function sniffBytes(bytes) {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  const head = ascii(bytes, 0, 6);
  if (head === "GIF87a" || head === "GIF89a") return "gif";
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "WEBP") return "webp";
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return "tiff";
  if (ascii(bytes, 0, 2) === "BM" && bytes.length >= 18) {
    const dib = bytes[14] | (bytes[15] << 8) | (bytes[16] << 16) | (bytes[17] << 24);
    if (BMP_DIB_HEADER_SIZES.has(dib)) return "bmp";
  }
  if (ascii(bytes, 4, 8) === "ftyp") {
    const boxSize = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
    if (boxSize < 16 || boxSize > Math.min(bytes.length, 4096)) return null;
    const brands = [ascii(bytes, 8, 12)];
    for (let i = 16; i + 4 <= boxSize; i += 4) brands.push(ascii(bytes, i, i + 4));
    if (brands.some((brand) => AVIF_BRANDS.has(brand))) return "avif";
    if (brands.some((brand) => HEIF_BRANDS.has(brand))) return "heif";
  }
  return null;
}

/** The sniffed type of a File (reads at most its first 4 KiB). */
export async function sniffFile(file) {
  const bytes = new Uint8Array(await file.slice(0, 4096).arrayBuffer());
  return sniffBytes(bytes);
}
