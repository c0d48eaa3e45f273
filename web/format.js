// Words and numbers as a person reads them.

const FORMAT_NAMES = {
  jpeg: "JPEG", jpg: "JPEG", png: "PNG", webp: "WebP", avif: "AVIF", gif: "GIF",
  heif: "HEIF", heic: "HEIC", tiff: "TIFF", bmp: "BMP", "svg+xml": "SVG", svg: "SVG",
};

const METADATA_NAMES = {
  gps: "GPS location",
  camera: "Camera details",
  timestamps: "Dates and times",
  exif: "Other EXIF data",
  xmp: "XMP data (captions, editing history)",
  iptc: "IPTC captions and credits",
  comment: "Comments and text notes",
  icc_profile: "Embedded colour profile",
  icc: "Embedded colour profile",
  thumbnail: "Embedded thumbnail",
};

/**
 * 52428800 -> "50 MiB": binary units, the convention of the API's limits and messages, so a size
 * the page shows and a limit the API states never disagree.
 */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return "unknown size";
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? "byte" : "bytes"}`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1).replace(/\.0$/, "")} ${units[unit]}`;
}

/** 900000000 -> "900 megapixels"; 1500000 -> "1.5 megapixels". */
export function formatMegapixels(pixels) {
  const value = pixels / 1e6;
  const shown = value >= 10 ? Math.round(value) : Number(value.toFixed(1));
  return `${shown} ${shown === 1 ? "megapixel" : "megapixels"}`;
}

export function formatName(format) {
  if (!format) return "Unknown format";
  return FORMAT_NAMES[String(format).toLowerCase()] ?? String(format).toUpperCase();
}

export function formatPixels(width, height) {
  return `${width} × ${height}`;
}

/** What a metadata item the API reports is, in words ("gps" -> "GPS location"). */
export function metadataName(item) {
  const key = String(item).toLowerCase().replace(/[\s-]+/g, "_");
  return METADATA_NAMES[key] ?? String(item);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export function formatClock(date) {
  return timeFormat.format(date);
}

/** Milliseconds from now -> "in 14 minutes" / "in 40 seconds". */
export function formatFromNow(ms) {
  const seconds = Math.round(ms / 1000);
  if (Math.abs(seconds) < 60) return relative.format(seconds, "second");
  const minutes = Math.round(seconds / 60);
  if (Math.abs(minutes) < 90) return relative.format(minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 36) return relative.format(hours, "hour");
  return relative.format(Math.round(hours / 24), "day");
}

/**
 * How `after` bytes compare with `before`: {smaller: percent saved} or {larger: percent added};
 * null when either is unknown or they round to the same.
 */
export function sizeChange(before, after) {
  if (!(before > 0) || !(after >= 0)) return null;
  const percent = Math.round(((after - before) / before) * 100);
  if (percent < 0) return { smaller: -percent };
  if (percent > 0) return { larger: percent };
  return null;
}
