// The list kept across reloads in this browser's localStorage: ids, names, sizes, types, options
// and outcomes, nothing secret (no pre-signed URL, no file content). A file cannot be read again
// after a reload, so an entry that was not uploaded yet comes back as "choose it again".

const STORAGE_KEY = "image-processor:list:v1";

/** What is kept of one item. */
function entry(item) {
  return {
    id: item.id,
    name: item.source.name,
    size: item.source.size,
    type: item.source.type,
    options: item.options,
    state: item.state,
    error: item.state === "failed" && item.error ? { code: item.error.code, message: item.error.serverMessage ?? "" } : null,
  };
}

/** Keep the list; storage that refuses (private mode, full) only costs the restore. */
function saveList(items) {
  try {
    const kept = items.filter((item) => item.state !== "deleted").map(entry);
    if (kept.length) localStorage.setItem(STORAGE_KEY, JSON.stringify(kept));
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // Nothing to do: the page works, it just will not remember.
  }
}

const isText = (value) => typeof value === "string" && value.length > 0 && value.length <= 1024;

/** The entries kept by the last page, checked: anything malformed is dropped, not trusted. */
export function loadList() {
  let raw;
  try {
    raw = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "[]");
  } catch {
    return [];
  }
  if (!Array.isArray(raw)) return [];
  return raw.filter((saved) => saved && isText(saved.name) && Number.isFinite(saved.size)
    && typeof saved.type === "string" && (saved.id === null || isText(saved.id))
    && saved.options && typeof saved.options.format === "string" && Array.isArray(saved.options.filters));
}

/**
 * Keep `list` (model.js) from now on: now, and after every change but progress (no kept field counts bytes).
 * Called once the kept list has been read back: before, saving would overwrite it.
 */
export function keepList(list) {
  saveList(list.items);
  list.addEventListener("change", ({ detail }) => {
    if (detail.kind !== "progress") saveList(list.items);
  });
}
