// web/model.js in Node: the list and its transitions need no DOM, only EventTarget and CustomEvent.
// Run by tests/unit/test_web_modules.py (node --test), so `make check` runs it.
import assert from "node:assert/strict";
import path from "node:path";
import test from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const { ImageList } = await import(pathToFileURL(path.join(here, "..", "..", "..", "web", "model.js")).href);

/** A list and every change it reports, as [kind, name, state, previous, index]. */
function watched() {
  const list = new ImageList();
  const events = [];
  list.addEventListener("change", ({ detail }) => events.push(
    [detail.kind, detail.item.source.name, detail.item.state, detail.previous ?? null, detail.index ?? null]));
  return { list, events };
}

const file = (name) => new File(["bytes"], name, { type: "image/jpeg" });

/** Move `item` through `states` in turn. */
function walk(list, item, ...states) {
  for (const state of states) list.setState(item, state);
}

test("every change is one event, in the order made", () => {
  const { list, events } = watched();
  const a = list.add({ name: "a.jpg" });
  const b = list.add({ name: "b.jpg" });
  list.setState(a, "waiting");
  list.setProgress(a, 5, 10);
  list.setState(a, "failed");
  assert.deepEqual(list.finished(), [a]);
  assert.equal(list.remove(a), 0);
  assert.equal(list.remove(a), -1);
  assert.deepEqual(events, [
    ["added", "a.jpg", "ready", null, null], ["added", "b.jpg", "ready", null, null],
    ["state", "a.jpg", "waiting", "ready", null], ["progress", "a.jpg", "waiting", null, null],
    ["state", "a.jpg", "failed", "waiting", null], ["removed", "a.jpg", "failed", null, 0],
  ]);
  assert.deepEqual(list.items, [b]);
  assert.equal(a.sent, 5);
});

test("a state the page does not have is refused, and the item keeps its own", () => {
  const { list, events } = watched();
  const item = list.add({ name: "a.jpg" });
  assert.throws(() => list.setState(item, "lost"), RangeError);
  assert.equal(item.state, "ready");
  assert.equal(events.length, 1);
});

test("each state moves on only along the file's way through the page", () => {
  const { list } = watched();
  const ways = [
    ["waiting", "uploading", "processing", "done", "deleted"],
    ["waiting", "uploading", "failed", "waiting", "cancelled", "waiting", "failed", "processing", "failed"],
    ["processing", "cancelled"], // kept across a reload with its id, then cancelled
    ["failed"], // refused before anything was sent
  ];
  for (const way of ways) walk(list, list.add(file("a.jpg")), ...way);
  const refused = [
    [[], "done"], [[], "uploading"], [[], "cancelled"], [["waiting"], "processing"], [["waiting"], "done"],
    [["processing", "done"], "failed"], [["processing", "done"], "waiting"], [["failed"], "done"],
    [["waiting", "cancelled"], "processing"], [["processing", "done", "deleted"], "waiting"],
    [["failed"], "failed"],
  ];
  for (const [way, state] of refused) {
    const item = list.add(file("b.jpg"));
    walk(list, item, ...way);
    const before = item.state;
    assert.throws(() => list.setState(item, state), RangeError, `${before} → ${state}`);
    assert.equal(item.state, before);
  }
});

test("an entry kept across a reload comes back with its id and options", () => {
  const options = { format: "webp", quality: 80, filters: [] };
  const item = new ImageList().add({ name: "a.jpg", size: 1, type: "image/jpeg" }, { id: "abc", options });
  assert.deepEqual([item.state, item.id, item.options], ["ready", "abc", options]);
});

test("done brings the image and its clock, then the state", () => {
  const { list, events } = watched();
  const item = list.add(file("a.jpg"));
  list.setState(item, "processing");
  const image = { id: "abc", variants: [] };
  const clock = { server: 1, local: 2 };
  list.done(item, image, clock);
  assert.deepEqual(events.slice(-2), [["image", "a.jpg", "processing", null, null], ["state", "a.jpg", "done", "processing", null]]);
  assert.deepEqual([item.image, item.clock], [image, clock]);
  const fresh = { id: "abc", variants: [], expires_in: 900 };
  list.setImage(item, fresh, clock);
  assert.deepEqual(events.at(-1), ["image", "a.jpg", "done", null, null]);
  assert.equal(item.image, fresh);
});

test("a failure the server can finish resumes the waiting; one it cannot sends the file again", () => {
  const { list } = watched();
  const lostConnection = list.add(file("a.jpg"));
  walk(list, lostConnection, "waiting", "uploading");
  list.uploaded(lostConnection, "a");
  list.setState(lostConnection, "processing");
  const error = { code: "network" };
  list.fail(lostConnection, error);
  assert.deepEqual([lostConnection.state, lostConnection.error, lostConnection.restartUpload], ["failed", error, false]);
  list.retrying(lostConnection);
  assert.equal(lostConnection.id, "a");

  for (const code of ["processing_timeout", "not_found", "upload_expired", "storage_error"]) {
    const item = list.add(file(`${code}.jpg`));
    list.uploaded(item, code);
    list.fail(item, { code });
    assert.equal(item.restartUpload, true, code);
    list.retrying(item);
    assert.equal(item.id, null, code);
  }
  const neverSent = list.add(file("b.jpg"));
  list.fail(neverSent, { code: "network" });
  assert.equal(neverSent.restartUpload, true);
});

test("trying again needs the upload on the server or the file at hand", () => {
  const list = new ImageList();
  const chosen = list.add(file("a.jpg"));
  const kept = list.add({ name: "b.jpg", size: 5, type: "image/jpeg" }, { id: "b" });
  const keptUnsent = list.add({ name: "c.jpg", size: 5, type: "image/jpeg" });
  list.fail(chosen, { code: "not_found" });
  list.setState(kept, "processing");
  list.fail(kept, { code: "network" });
  list.fail(keptUnsent, { code: "interrupted" });
  assert.deepEqual([chosen, kept, keptUnsent].map((item) => list.canRetry(item)), [true, true, false]);
  list.setState(kept, "processing");
  list.fail(kept, { code: "not_found" });
  assert.equal(list.canRetry(kept), false);
});

test("cancelled and deleted leave nothing on the server to come back to", () => {
  const { list, events } = watched();
  const cancelled = list.add(file("a.jpg"));
  walk(list, cancelled, "waiting", "uploading");
  list.uploaded(cancelled, "a");
  list.cancelled(cancelled);
  assert.deepEqual([cancelled.state, cancelled.id, cancelled.restartUpload], ["cancelled", null, true]);
  assert.deepEqual(events.at(-1), ["state", "a.jpg", "cancelled", "uploading", null]);

  const deleted = list.add(file("b.jpg"));
  walk(list, deleted, "waiting", "uploading");
  list.uploaded(deleted, "b");
  list.setState(deleted, "processing");
  list.done(deleted, { id: "b", variants: [] }, {});
  list.deleted(deleted);
  assert.deepEqual([deleted.state, deleted.id, deleted.image], ["deleted", null, null]);
  assert.deepEqual(events.at(-1), ["state", "b.jpg", "deleted", "done", null]);
});

test("busy, finished and by state", () => {
  const list = new ImageList();
  const ways = {
    ready: [], waiting: ["waiting"], uploading: ["waiting", "uploading"], processing: ["processing"],
    done: ["processing", "done"], failed: ["failed"], cancelled: ["processing", "cancelled"],
    deleted: ["processing", "done", "deleted"],
  };
  for (const [state, way] of Object.entries(ways)) walk(list, list.add({ name: `${state}.jpg` }), ...way);
  const names = (found) => found.map((item) => item.source.name);
  assert.deepEqual(names(list.busy()), ["waiting.jpg", "uploading.jpg", "processing.jpg"]);
  assert.deepEqual(names(list.finished()), ["done.jpg", "failed.jpg", "cancelled.jpg", "deleted.jpg"]);
  assert.deepEqual(names(list.inState("ready", "done")), ["ready.jpg", "done.jpg"]);
});
