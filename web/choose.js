// Choosing files: the picker with its hint, a drop anywhere on the page (the overlay shows while files
// are over it) and paste. Each hands the files to `addFiles(files, how)`.

import { acceptAttribute, chooseHint } from "./options.js";

/**
 * `addFiles(files, how)` and `notify(message, isError)` come from the page. Returns {accept(config): the
 * picker offers, and its hint names, what the API's options accept; focus()}.
 */
export function createChooser({ addFiles, notify }) {
  const chooseButton = document.getElementById("choose-button");
  const fileInput = document.getElementById("file-input");
  const hint = document.getElementById("accepted-types");
  chooseButton.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", () => {
    addFiles(fileInput.files, "Chose");
    fileInput.value = ""; // choosing the same file again fires change again
  });

  let dragDepth = 0;
  const carriesFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes("Files");
  document.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    dragDepth += 1;
    document.body.classList.add("dragging");
  });
  document.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) document.body.classList.remove("dragging");
  });
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    dragDepth = 0;
    document.body.classList.remove("dragging");
    const files = event.dataTransfer?.files;
    if (files?.length) addFiles(files, "Dropped");
    else notify("Only files can be dropped here; that looked like text or a link. Drop image files instead.", true);
  });

  document.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files ?? [])];
    if (!files.length) {
      notify("The clipboard holds no image to paste. Copy an image first, or choose files.", true);
      return;
    }
    event.preventDefault();
    addFiles(files.map(numberedPaste), "Pasted");
  });

  return {
    accept(config) {
      fileInput.accept = acceptAttribute(config);
      hint.textContent = chooseHint(config);
    },
    focus: () => chooseButton.focus(),
  };
}

/** Pasted images are usually all called "image.png": number them so the list can tell them apart. */
function numberedPaste(file, index) {
  if (file.name && file.name !== "image.png") return file;
  const extension = (file.type.split("/")[1] || "png").replace("jpeg", "jpg");
  const name = `pasted-image-${Date.now().toString(36)}-${index + 1}.${extension}`;
  return new File([file], name, { type: file.type, lastModified: file.lastModified });
}
