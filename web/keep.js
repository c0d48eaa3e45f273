// Files chosen before signing in, kept across the redirect to the issuer and back: the page is left for
// the sign-in pages, and a File cannot be put in sessionStorage. IndexedDB stores File objects as they
// are (the browser keeps their bytes); they are taken out, and deleted, as soon as the page is back.

const DB_NAME = "image-processor";
const STORE = "kept-across-sign-in";
const KEY = "files";

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function run(mode, work) {
  return openDb().then((db) => new Promise((resolve, reject) => {
    const transaction = db.transaction(STORE, mode);
    const result = work(transaction.objectStore(STORE));
    transaction.oncomplete = () => {
      db.close();
      resolve(result.result);
    };
    transaction.onerror = () => {
      db.close();
      reject(transaction.error);
    };
  }));
}

/** Keep `files` (File objects) until the page is back from signing in. */
export function keepFiles(files) {
  return files.length ? run("readwrite", (store) => store.put(files, KEY)) : Promise.resolve();
}

/** The files kept before signing in (then forgotten); [] when there are none or IndexedDB is unavailable. */
export async function takeKeptFiles() {
  try {
    const files = await run("readonly", (store) => store.get(KEY));
    if (!files) return [];
    await run("readwrite", (store) => store.delete(KEY));
    return files;
  } catch {
    return [];
  }
}
