// Search by photo: drop anywhere, paste, pick or take a photo; optional crop box; results
// swapped in without reloading, so the photo stays on the page while filters change.
// Without this script the form still works as a plain multipart POST.
(function () {
  "use strict";
  const form = document.getElementById("photo-search");
  if (!form) return;
  const input = form.querySelector('input[type="file"][name="photo"]');
  const camera = document.getElementById("camera");
  const preview = document.getElementById("preview");
  const image = document.getElementById("preview-image");
  const stage = document.getElementById("crop-stage");
  const box = document.getElementById("crop-box");
  const cropStart = document.getElementById("crop-start");
  const cropClear = document.getElementById("crop-clear");
  const results = document.getElementById("photo-results");
  const status = document.getElementById("photo-status");
  const fields = ["x", "y", "w", "h"].map((k) => form.querySelector(`[name="crop_${k}"]`));
  const MAX_BYTES = 10 * 1024 * 1024;
  let crop = null; // {x, y, w, h} as fractions of the photo, or null for the whole photo
  let objectUrl = null;
  let pending = null;

  if (window.matchMedia("(pointer: coarse)").matches) {
    form.querySelector(".camera-picker").hidden = false;
  }

  function useFile(file) {
    if (!file) return;
    const transfer = new DataTransfer();
    transfer.items.add(file);
    input.files = transfer.files;
    setCrop(null);
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = null;
    preview.hidden = true;
    if (file.size > MAX_BYTES) {
      showError(`This file is too large (${(file.size / 1048576).toFixed(1)} MB); photos can be up to 10 MB.`);
      return;
    }
    if (file.type.startsWith("image/")) {
      objectUrl = URL.createObjectURL(file);
      image.src = objectUrl;
      preview.hidden = false;
    }
    search({ focusResults: true }); // the server has the last word on what is an image
  }

  function showError(message) {
    results.innerHTML = "";
    const panel = document.createElement("div");
    panel.className = "error-panel";
    panel.setAttribute("role", "alert");
    const heading = document.createElement("h2");
    heading.id = "results-heading";
    heading.tabIndex = -1;
    heading.textContent = "That did not work";
    const text = document.createElement("p");
    text.className = "error";
    text.textContent = message;
    panel.append(heading, text);
    results.append(panel);
  }

  // focusResults: a new photo or the Search button moves the focus to the results; a crop or
  // filter change leaves it where the shopper is working.
  async function search({ focusResults = false } = {}) {
    if (!input.files.length) return;
    if (pending) pending.abort();
    pending = new AbortController();
    form.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "Vitrine-Fragment": "results" },
        signal: pending.signal,
        credentials: "same-origin",
      });
      // Results, or our own error panel (bad photo; too many searches, 429; search being
      // rebuilt after an update).
      const ours = response.ok || [400, 429, 503].includes(response.status);
      if (!ours || !response.headers.get("content-type")?.includes("text/html")) {
        showError(response.status === 403
          ? "Your session expired. Reload the page and try again."
          : "The search failed on our side. Please try again in a moment.");
      } else {
        results.innerHTML = await response.text();
      }
      // One short announcement for screen readers, not the whole grid.
      status.textContent = results.querySelector("#results-heading")?.textContent.trim() || "";
      if (focusResults || results.querySelector(".error-panel")) {
        results.querySelector("#results-heading")?.focus();
      }
    } catch (error) {
      if (error.name !== "AbortError") showError("The search could not reach the shop. Check your connection.");
    } finally {
      form.removeAttribute("aria-busy");
    }
  }

  // Drop anywhere on the page.
  document.addEventListener("dragover", (event) => {
    if ([...event.dataTransfer.types].includes("Files")) {
      event.preventDefault();
      document.body.classList.add("dragging");
    }
  });
  document.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) document.body.classList.remove("dragging");
  });
  document.addEventListener("drop", (event) => {
    document.body.classList.remove("dragging");
    if (!event.dataTransfer.files.length) return;
    event.preventDefault();
    useFile(event.dataTransfer.files[0]);
  });
  document.addEventListener("paste", (event) => {
    const file = [...event.clipboardData.files].find((f) => f.type.startsWith("image/"));
    if (file) {
      event.preventDefault();
      useFile(file);
    }
  });
  input.addEventListener("change", () => input.files.length && useFile(input.files[0]));
  camera.addEventListener("change", () => camera.files.length && useFile(camera.files[0]));
  form.addEventListener("submit", (event) => {
    if (!input.files.length) return; // let the browser say the photo is required
    event.preventDefault();
    search({ focusResults: true });
  });
  form.addEventListener("change", (event) => {
    if (event.target.closest(".filters")) search();
  });

  // The crop box, kept in fractions of the photo: the server crops the same region.
  function setCrop(next) {
    crop = next;
    box.hidden = !crop;
    cropClear.hidden = !crop;
    cropStart.hidden = !!crop;
    const values = crop ? [crop.x, crop.y, crop.w, crop.h] : ["", "", "", ""];
    fields.forEach((field, i) => {
      field.value = typeof values[i] === "number" ? values[i].toFixed(4) : "";
    });
    if (crop) {
      box.style.left = `${crop.x * 100}%`;
      box.style.top = `${crop.y * 100}%`;
      box.style.width = `${crop.w * 100}%`;
      box.style.height = `${crop.h * 100}%`;
    }
  }

  function clamp(c) {
    const w = Math.min(Math.max(c.w, 0.05), 1);
    const h = Math.min(Math.max(c.h, 0.05), 1);
    return { x: Math.min(Math.max(c.x, 0), 1 - w), y: Math.min(Math.max(c.y, 0), 1 - h), w, h };
  }

  let searchSoon = null;
  function cropChanged() {
    clearTimeout(searchSoon);
    searchSoon = setTimeout(search, 400);
  }

  cropStart.addEventListener("click", () => {
    setCrop({ x: 0.15, y: 0.15, w: 0.7, h: 0.7 });
    box.focus();
    cropChanged();
  });
  cropClear.addEventListener("click", () => {
    setCrop(null);
    cropStart.focus();
    cropChanged();
  });

  box.addEventListener("keydown", (event) => {
    const step = 0.02;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    const move = moves[event.key];
    if (!move || !crop) return;
    event.preventDefault();
    const [dx, dy] = move;
    setCrop(clamp(event.shiftKey
      ? { ...crop, w: crop.w + dx, h: crop.h + dy }
      : { ...crop, x: crop.x + dx, y: crop.y + dy }));
    cropChanged();
  });

  // Pointer: drag the box to move it, its corner to resize, or draw a new one on the photo.
  let drag = null;
  stage.addEventListener("pointerdown", (event) => {
    const rect = stage.getBoundingClientRect();
    const at = { x: (event.clientX - rect.left) / rect.width, y: (event.clientY - rect.top) / rect.height };
    const mode = event.target.classList.contains("crop-handle") ? "resize" : event.target === box ? "move" : "draw";
    drag = { mode, at, start: crop || { x: at.x, y: at.y, w: 0.05, h: 0.05 }, rect };
    if (mode === "draw") setCrop(clamp(drag.start));
    stage.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  stage.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const x = (event.clientX - drag.rect.left) / drag.rect.width;
    const y = (event.clientY - drag.rect.top) / drag.rect.height;
    const dx = x - drag.at.x;
    const dy = y - drag.at.y;
    const s = drag.start;
    if (drag.mode === "move") setCrop(clamp({ ...s, x: s.x + dx, y: s.y + dy }));
    else if (drag.mode === "resize") setCrop(clamp({ ...s, w: s.w + dx, h: s.h + dy }));
    else setCrop(clamp({ x: Math.min(x, drag.at.x), y: Math.min(y, drag.at.y), w: Math.abs(dx), h: Math.abs(dy) }));
  });
  stage.addEventListener("pointerup", () => {
    if (drag) cropChanged();
    drag = null;
  });
})();
