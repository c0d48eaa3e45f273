// Every request the page makes: the /api of its own origin, and the pre-signed storage POST.

import { authorizationHeaders } from "./auth.js";

// How much longer than the server may hold a request the page waits before giving up on it.
const REQUEST_MARGIN_MS = 20_000;

export class ApiError extends Error {
  constructor(code, serverMessage = "", { status = 0, limit = null, pixels = null, origin = null } = {}) {
    super(serverMessage || code);
    this.name = "ApiError";
    this.code = code;
    this.serverMessage = serverMessage;
    this.status = status;
    this.limit = limit;
    this.pixels = pixels;
    this.origin = origin; // the page's origin, when storage refused it
  }
}

/** An ApiError from an HTTP status and the text of the body ({"error": {"code", "message"}}). */
function errorFromResponse(status, text) {
  let code = status >= 500 ? "server_error" : `http_${status}`;
  let message = "";
  try {
    const body = JSON.parse(text);
    if (body && typeof body.error === "object" && body.error) {
      code = typeof body.error.code === "string" ? body.error.code : code;
      message = typeof body.error.message === "string" ? body.error.message : "";
    }
  } catch {
    // Not JSON (a proxy's error page, say): the status decides.
  }
  return new ApiError(code, message, { status });
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError("server_error", "The server's answer was not readable.");
  }
}

/** Options (and the file's name, which only names downloads) as the query of POST /api/images. */
export function optionsQuery(options, name = "") {
  const query = new URLSearchParams({ format: options.format, quality: String(options.quality) });
  if (options.filters.length) query.set("filters", options.filters.join(","));
  if (name) query.set("name", name);
  return query;
}

/**
 * An XMLHttpRequest (fetch cannot report upload progress). Resolves with {status, text,
 * header(name)} for any HTTP answer; rejects with ApiError("network") when there is none, and
 * ApiError("cancelled") when `signal` aborts it.
 */
export function send({ method, url, body, headers = {}, onProgress, signal }) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ApiError("cancelled"));
      return;
    }
    const xhr = new XMLHttpRequest();
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) {
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      });
    }
    xhr.addEventListener("load", () => resolve({
      status: xhr.status,
      text: xhr.responseText,
      header: (name) => xhr.getResponseHeader(name),
    }));
    xhr.addEventListener("error", () => reject(new ApiError(navigator.onLine === false ? "offline" : "network")));
    xhr.addEventListener("abort", () => reject(new ApiError(signal?.aborted ? "cancelled" : "network")));
    xhr.addEventListener("timeout", () => reject(new ApiError("timeout")));
    xhr.send(body);
  });
}

/** fetch() that turns "no answer" into ApiError("network"/"timeout"), and `signal` into "cancelled". */
async function request(url, init = {}, timeoutMs = REQUEST_MARGIN_MS, signal = null) {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const headers = { ...authorizationHeaders(), ...(init.headers ?? {}) }; // the API's own requests only
    return await fetch(url, {
      cache: "no-store", ...init, headers, signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (error) {
    if (signal?.aborted) throw new ApiError("cancelled");
    if (navigator.onLine === false) throw new ApiError("offline");
    throw new ApiError(error?.name === "TimeoutError" ? "timeout" : "network");
  }
}

/**
 * GET /api/options: what this deployment accepts and its limits (the raw body; options.js reads
 * it). The API lets it be cached for a while, so the browser cache may answer.
 */
export async function getOptions() {
  const response = await request("/api/options", { cache: "default" });
  const text = await response.text();
  if (response.status !== 200) throw errorFromResponse(response.status, text);
  return parseJson(text);
}

/** POST /api/images with the raw bytes; resolves with the new image id. */
export async function uploadDirect(file, options, onProgress, signal) {
  const response = await send({
    method: "POST",
    url: `/api/images?${optionsQuery(options, file.name)}`,
    body: file,
    headers: { ...authorizationHeaders(), "Content-Type": file.type || "application/octet-stream" },
    onProgress,
    signal,
  });
  if (response.status !== 202) throw errorFromResponse(response.status, response.text);
  return parseJson(response.text).id;
}

/** POST /api/uploads: a pre-signed POST for one file of `contentType` (null: any image/*) named `name`. */
export async function requestUpload(contentType, options, name, signal) {
  const response = await request("/api/uploads", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      content_type: contentType,
      format: options.format,
      quality: options.quality,
      filters: options.filters,
      name,
    }),
  }, REQUEST_MARGIN_MS, signal);
  const text = await response.text();
  if (response.status !== 201) throw errorFromResponse(response.status, text);
  return parseJson(text);
}

/**
 * The browser's multipart POST straight to storage: every field of the ticket, then the file
 * last (S3 ignores fields after it). `fallbackType` fills Content-Type when the ticket has none.
 */
export async function uploadToStorage(ticket, file, fallbackType, onProgress, signal) {
  const form = new FormData();
  const fields = ticket.upload.fields ?? {};
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  if (!Object.keys(fields).some((name) => name.toLowerCase() === "content-type")) {
    form.append("Content-Type", fallbackType);
  }
  form.append("file", file);
  let response;
  try {
    response = await send({ method: "POST", url: ticket.upload.url, body: form, onProgress, signal });
  } catch (error) {
    throw await whyNoAnswer(error, ticket.upload.url);
  }
  if (response.status >= 200 && response.status < 300) return;
  throw storageError(response);
}

// Origins this page's Content-Security-Policy refused a request to: a refused request fails like a network
// failure, and this is how the page tells the two apart.
const refusedByPolicy = new Set();
document.addEventListener("securitypolicyviolation", (event) => {
  try {
    refusedByPolicy.add(new URL(event.blockedURI).origin);
  } catch {
    // "inline" or "eval": not a request
  }
});

/**
 * Storage (at `url`) gave no answer: the browser is offline, or (the site itself answers) this page's own
 * security policy refused the request, or storage refused this page's origin, as a CORS rule that does not
 * name it does; otherwise the error stays "network". Neither refusal is the user's connection.
 */
export async function whyNoAnswer(error, url = "") {
  if (!(error instanceof ApiError) || error.code !== "network") return error;
  if (navigator.onLine === false) return new ApiError("offline");
  try {
    await fetch("/api/health", { cache: "no-store", signal: AbortSignal.timeout(REQUEST_MARGIN_MS) });
  } catch {
    return error;
  }
  if (url && refusedByPolicy.has(new URL(url, window.location.href).origin)) return new ApiError("blocked_by_policy");
  return new ApiError("storage_refused", "", { origin: window.location.origin });
}

/** S3 answers errors in XML: <Error><Code>EntityTooLarge</Code><Message>…</Message></Error>. */
function storageError(response) {
  let code = "";
  let message = "";
  try {
    const xml = new DOMParser().parseFromString(response.text, "application/xml");
    code = xml.querySelector("Error > Code")?.textContent ?? "";
    message = xml.querySelector("Error > Message")?.textContent ?? "";
  } catch {
    // Unreadable body: the status decides.
  }
  if (code === "EntityTooLarge") return new ApiError("too_large", message, { status: response.status });
  if (code === "AccessDenied" || code === "ExpiredToken" || response.status === 403) {
    return new ApiError("upload_expired", message, { status: response.status });
  }
  return new ApiError("storage_error", message, { status: response.status });
}

/**
 * GET /api/images/{id}: {state: "done"|"pending"|"failed", body, retryAfter}; a done answer also
 * has `clock`, {server, local}: the server's time (its Date header) and the page's when it arrived.
 * Throws ApiError for answers that are not about the image's processing (404, 5xx, no answer).
 */
export async function getImage(id, waitSeconds = 0, signal = null) {
  const query = waitSeconds > 0 ? `?wait=${waitSeconds}` : "";
  const url = `/api/images/${encodeURIComponent(id)}${query}`;
  const response = await request(url, {}, waitSeconds * 1000 + REQUEST_MARGIN_MS, signal);
  const text = await response.text();
  if (response.status === 200) {
    const clock = { server: Date.parse(response.headers.get("Date") ?? ""), local: Date.now() };
    return { state: "done", body: parseJson(text), clock };
  }
  if (response.status === 202) {
    const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "1", 10);
    return { state: "pending", body: parseJson(text), retryAfter: Number.isFinite(retryAfter) ? retryAfter : 1 };
  }
  if (response.status === 422) {
    const body = parseJson(text);
    const error = body.error ?? {};
    return { state: "failed", body, error: new ApiError(error.code ?? "unknown", error.message ?? "", { status: 422 }) };
  }
  throw errorFromResponse(response.status, text);
}

const STATUS_STATES = ["pending", "done", "failed"];

/**
 * GET /status/{id}: the image's status object, which CloudFront serves from storage (no function runs for it):
 * "pending", "done" or "failed", or "missing" when there is none (deleted, unknown, or a site without status
 * objects). `cache: "no-cache"` makes the browser revalidate its copy with If-None-Match, which is answered 304
 * while the status is unchanged. Throws ApiError when there is no answer at all, as the API's requests do.
 */
export async function getStatus(id, signal = null) {
  const timeout = AbortSignal.timeout(REQUEST_MARGIN_MS);
  let response;
  try {
    // No Authorization header: the object is the same in every AuthMode (docs/delivery.md says why).
    response = await fetch(`/status/${encodeURIComponent(id)}`, {
      cache: "no-cache", signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (error) {
    if (signal?.aborted) throw new ApiError("cancelled");
    if (navigator.onLine === false) throw new ApiError("offline");
    throw new ApiError(error?.name === "TimeoutError" ? "timeout" : "network");
  }
  if (response.status !== 200) return "missing";
  try {
    const { status } = await response.json();
    return STATUS_STATES.includes(status) ? status : "missing";
  } catch {
    return "missing"; // not a status object (a proxy's page, say): the API tells
  }
}

/** GET /api/images: a page of the signed-in caller's images, newest first ({images, next_cursor}). */
export async function listImages(cursor = null) {
  const query = cursor ? `?${new URLSearchParams({ cursor })}` : "";
  const response = await request(`/api/images${query}`);
  const text = await response.text();
  if (response.status !== 200) throw errorFromResponse(response.status, text);
  return parseJson(text);
}

/** DELETE /api/images/{id}. */
export async function deleteImage(id) {
  const response = await request(`/api/images/${encodeURIComponent(id)}`, { method: "DELETE" });
  if (response.status !== 204 && response.status !== 404) {
    throw errorFromResponse(response.status, await response.text());
  }
}

/**
 * POST /api/session (sign-in on): the API sets the signed cookies that admit this user's own images at the edge
 * (HttpOnly: no script sees them) and answers {path: "/img/<owner>", expires_at}. DELETE clears them.
 */
export async function startSession(path) {
  const response = await request(path, { method: "POST" });
  const text = await response.text();
  if (response.status !== 200) throw errorFromResponse(response.status, text);
  return parseJson(text);
}

/** DELETE /api/session; `keepalive`, so it completes when the page leaves for the issuer's sign-out right after. */
export async function endSession(path) {
  await request(path, { method: "DELETE", keepalive: true });
}

/** The stable address of a variant: it redirects to a freshly signed URL on every request. */
export function variantAddress(id, name, origin = window.location.origin) {
  return `${origin}/api/images/${encodeURIComponent(id)}/${encodeURIComponent(name)}`;
}

/**
 * An image at the edge (GET /img/{id}/{width}.{format}): one width of the deployment, in the format the
 * browser prefers with "auto", from CloudFront's cache; `delivery` is what GET /api/options says of it.
 */
export function deliveryAddress(id, width, delivery, origin = window.location.origin, format = "auto") {
  return `${origin}${delivery.path}/${encodeURIComponent(id)}/${width}.${format}`;
}

/** A variant's bytes for a ZIP, from its pre-signed URL (the processed-images bucket admits the site's origin). */
export async function fetchVariant(url) {
  let response;
  try {
    // no-store: the page showed this variant with <img>, a request without CORS, and the answer is cached
    // (immutable). S3 sends Access-Control-Allow-Origin only to requests with an Origin, so Chromium would
    // answer this CORS request from that cached copy, which has none, and refuse it.
    response = await fetch(url, { cache: "no-store", signal: AbortSignal.timeout(REQUEST_MARGIN_MS) }); // no API credentials to S3
  } catch (error) {
    throw await whyNoAnswer(new ApiError(error?.name === "TimeoutError" ? "timeout" : "network"), url);
  }
  if (!response.ok) throw new ApiError(response.status === 403 ? "links_expired" : "storage_error", "", { status: response.status });
  return response;
}
