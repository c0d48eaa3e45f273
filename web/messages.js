// The API's error codes in words a person understands. Every failure the page shows goes
// through `describeError`, so nothing reaches the screen as a bare code.

import { formatBytes, formatMegapixels } from "./format.js";

/** What to choose instead of a file that is not an accepted image; named once the options load. */
let acceptedSentence = "Choose an image file, such as a JPEG or PNG.";

/** `types` in words ("JPEG, PNG or GIF"), as GET /api/options lists them. */
export function setAcceptedTypes(types) {
  if (types) acceptedSentence = `Choose an image in one of these formats: ${types}.`;
}

/**
 * {title, detail, retry} for an error thrown by api.js (an ApiError) or anything else.
 * `retry` says whether trying the same thing again can help.
 */
export function describeError(error) {
  const code = error?.code ?? "unknown";
  const server = error?.serverMessage ?? "";
  switch (code) {
    case "svg":
      return {
        title: "SVG drawings are not supported.",
        detail: `This service works on pixels. Export the drawing as PNG, then choose the PNG. ${acceptedSentence}`,
        retry: false,
      };
    case "not_an_image":
    case "unsupported_media_type":
      return { title: "This file is not an image we can read.", detail: acceptedSentence, retry: false };
    case "empty_file":
      return { title: "This file is empty.", detail: "Choose the image again; it may not have finished saving.", retry: false };
    case "too_large":
    case "payload_too_large":
    case "EntityTooLarge":
      return {
        title: "This file is too large.",
        detail: error.limit ? `The largest image accepted is ${formatBytes(error.limit)}.` : "Try a smaller or more compressed version.",
        retry: false,
      };
    case "image_too_large":
      return {
        title: "This image has too many pixels to process.",
        detail: error.pixels && error.limit
          ? `It is ${formatMegapixels(error.pixels)}; the limit is ${formatMegapixels(error.limit)}. Choose a smaller version of it.`
          : server || "Choose a smaller version of it.",
        retry: false,
      };
    case "image_too_complex":
      return { title: "This image would take too long to process.", detail: server || "Try fewer frames, fewer filters or JPEG.", retry: false };
    case "corrupt_image":
      return { title: "This image is damaged or incomplete, so it could not be processed.", detail: "Try exporting or saving it again.", retry: false };
    case "unsupported_image":
      return { title: "This kind of image could not be processed.", detail: server || acceptedSentence, retry: false };
    case "invalid_option":
      return { title: "The chosen options were not accepted.", detail: server, retry: false };
    case "bad_request":
      return { title: "The upload was not accepted.", detail: server, retry: false };
    case "processing_timeout":
      return { title: "Processing took too long and was stopped.", detail: "Upload the image again.", retry: true };
    case "not_found":
      return { title: "This image is no longer on the server.", detail: "It may have been deleted or expired. Upload it again.", retry: true };
    case "upload_expired":
    case "AccessDenied":
      return { title: "The upload link expired or was refused.", detail: "Try again to get a new one.", retry: true };
    case "storage_error":
      return { title: "The storage service refused the upload.", detail: server || "Try again in a moment.", retry: true };
    case "links_expired":
      return { title: "The download links expired.", detail: "Press Get fresh links, then try again.", retry: false };
    case "cancelled":
      return { title: "Cancelled.", detail: "Nothing of it is kept on the server. Try again to upload it.", retry: true };
    case "deleted":
      return { title: "Deleted from the server.", detail: "The original and every variant are gone.", retry: false };
    case "interrupted":
      return {
        title: "This file was not uploaded before the page was closed or reloaded.",
        detail: "The page cannot read the file again by itself: choose it again to upload it.",
        retry: false,
      };
    case "blocked_by_policy":
      return {
        title: "This site's own security policy blocked the request to storage.",
        detail: "The site is set up wrongly (its Content-Security-Policy), not your connection: tell whoever runs it.",
        retry: false,
      };
    case "network":
      return { title: "Could not reach the server.", detail: "Check your connection, then try again.", retry: true };
    case "offline":
      return { title: "You are offline.", detail: "Reconnect to the internet, then try again.", retry: true };
    case "storage_refused":
      return {
        title: "The storage service refused this page's address.",
        detail: `Large files and downloads go straight to storage, which takes requests only from this site's own addresses${
          error.origin ? `, and ${error.origin} is not one of them` : ""}. Open the page at the address the service gave you.`,
        retry: true,
      };
    case "timeout":
      return { title: "The server took too long to answer.", detail: "Try again in a moment.", retry: true };
    case "internal_error":
    case "server_error":
      return { title: "Something went wrong on the server.", detail: "Try again in a moment.", retry: true };
    default:
      return {
        title: "Something unexpected went wrong.",
        detail: server || (error?.message ?? ""),
        retry: true,
      };
  }
}

/** One sentence for a live region or notice: the title and, when there is one, the detail. */
export function errorSentence(error) {
  const { title, detail } = describeError(error);
  return detail ? `${title} ${detail}` : title;
}
