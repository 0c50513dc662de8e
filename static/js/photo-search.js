// Search by photo: drop anywhere, paste, pick or take a photo; optional crop box; results
// swapped in without reloading, so the photo stays on the page while filters change. The shop
// finds the product(s) in the photo: the one it searched is pre-selected as the crop box, and
// a photo with several offers each as a choice.
// Without this script the form still works as a plain multipart POST.
(function () {
  "use strict";
  const form = document.getElementById("photo-search");
  if (!form) return;
  const input = form.querySelector('input[type="file"][name="photo"]');
  const camera = document.getElementById("camera");
  const cameraButton = document.getElementById("camera-button");
  const preview = document.getElementById("preview");
  const image = document.getElementById("preview-image");
  const stage = document.getElementById("crop-stage");
  const box = document.getElementById("crop-box");
  const cropStart = document.getElementById("crop-start");
  const cropClear = document.getElementById("crop-clear");
  const results = document.getElementById("photo-results");
  const status = document.getElementById("photo-status");
  const busy = document.getElementById("photo-busy");
  const jump = document.getElementById("results-jump");
  const fields = ["x", "y", "w", "h"].map((k) => form.querySelector(`[name="crop_${k}"]`));
  const wholePhoto = form.querySelector('[name="whole_photo"]');
  const chooser = document.getElementById("photo-items");
  const MAX_BYTES = 10 * 1024 * 1024;
  const MIN_DRAW = 0.04; // a drag shorter than this (fraction of the photo) is a tap, not a box
  let crop = null; // {x, y, w, h} as fractions of the photo, or null for the whole photo
  let items = []; // products the shop found in the photo, as crops
  let objectUrl = null;
  let pending = null;
  let fileTurn = 0; // the latest file chosen: a slower check of an earlier one is dropped

  if (window.matchMedia("(pointer: coarse)").matches) {
    form.querySelector(".camera-picker").hidden = false;
  }

  async function useFile(file) {
    if (!file) return;
    const turn = ++fileTurn;
    const transfer = new DataTransfer();
    transfer.items.add(file);
    input.files = transfer.files;
    setCrop(null);
    setWholePhoto(false);
    showItems([]);
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = null;
    preview.hidden = true;
    if (file.size > MAX_BYTES) {
      refuse(`This file is too large (${(file.size / 1048576).toFixed(1)} MB); photos can be up to 10 MB.`);
      return;
    }
    if (file.type.startsWith("image/")) {
      // Shown only once the browser has read it: a file named .jpg that is not a photo gets
      // no broken preview and no crop box, and is not uploaded.
      const url = URL.createObjectURL(file);
      const probe = new Image();
      probe.src = url;
      try {
        await probe.decode();
      } catch {
        URL.revokeObjectURL(url);
        if (turn === fileTurn) {
          refuse("We could not read this file: it is not a photo, or it is damaged. Please use a JPEG, PNG, WebP or GIF photo.");
        }
        return;
      }
      if (turn !== fileTurn) return URL.revokeObjectURL(url);
      objectUrl = url;
      image.src = objectUrl;
      preview.hidden = false;
    }
    search({ focusResults: true }); // the server has the last word on what is an image
  }

  // A file the shop would refuse: deselected, so that Search does not upload it, and said why.
  function refuse(message) {
    input.value = "";
    camera.value = "";
    if (pending) pending.abort();
    setBusy(false);
    showError(message);
    showResults();
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

  // focusResults: a new photo or the Search button moves the focus to the results; a crop,
  // product choice or filter change leaves it where the shopper is working. Those refine the
  // same photo, and say so: the shop counts one photo, not each nudge, against its rate limit.
  async function search({ focusResults = false } = {}) {
    if (!input.files.length) return;
    if (pending) pending.abort();
    const controller = (pending = new AbortController());
    setBusy(true);
    const detecting = !crop && wholePhoto.value !== "True"; // the shop looks for the products
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "Vitrine-Fragment": "results", ...(focusResults ? {} : { "Vitrine-Refine": "yes" }) },
        signal: controller.signal,
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
        const found = results.querySelector("#photo-found");
        if (found && detecting) useFound(JSON.parse(found.textContent || "null"));
      }
      // One short announcement for screen readers, not the whole grid.
      status.textContent = results.querySelector("#results-heading")?.textContent.trim() || "";
      if (focusResults || results.querySelector(".error-panel")) showResults();
      else offerResults();
    } catch (error) {
      if (error.name !== "AbortError") showError("The search could not reach the shop. Check your connection.");
    } finally {
      if (!controller.signal.aborted) setBusy(false); // else a newer search is under way
    }
  }

  function setBusy(on) {
    for (const element of [form, results]) {
      if (on) element.setAttribute("aria-busy", "true");
      else element.removeAttribute("aria-busy");
    }
    busy.hidden = !on;
  }

  // After a search the shopper asked for: the focus on the results' heading, and the results in
  // sight (on a phone they are below the photo; beside it on a wide screen, nothing moves).
  function showResults() {
    const heading = results.querySelector("#results-heading");
    if (!heading) return;
    heading.focus({ preventScroll: true });
    if (!inSight(results.querySelector(".product-card") || heading)) {
      heading.scrollIntoView({ block: "start" });
    }
    jump.hidden = true;
  }

  // After a crop or filter change the page stays where the shopper is working; if the results
  // are out of sight, a link says they changed and leads to them.
  function offerResults() {
    if (results.getBoundingClientRect().top < window.innerHeight) {
      jump.hidden = true; // some of them are in sight
      return;
    }
    const count = results.querySelectorAll(".results-grid .product-card").length;
    jump.textContent = count ? `See the ${count} results` : "See the results";
    jump.hidden = false;
  }

  function inSight(element) {
    const rect = element.getBoundingClientRect();
    return rect.top >= 0 && rect.bottom <= window.innerHeight;
  }

  jump.addEventListener("click", (event) => {
    event.preventDefault();
    showResults();
  });
  new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) jump.hidden = true;
  }).observe(results);

  // The shop's answer for the whole photo: the product it searched becomes the crop box (the
  // results are already for it), and each product it found becomes a choice.
  function useFound(found) {
    if (!found) return;
    showItems(found.items.map(([x, y, w, h]) => ({ x, y, w, h })));
    if (found.searched) {
      const [x, y, w, h] = found.searched;
      setCrop({ x, y, w, h });
    }
  }

  function showItems(next) {
    items = next;
    const list = chooser.querySelector("ul");
    list.replaceChildren();
    chooser.hidden = items.length < 2;
    if (chooser.hidden) return;
    items.forEach((item, i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "photo-item";
      button.setAttribute("aria-label", `Product ${i + 1} of ${items.length} in your photo`);
      button.append(thumbnail(item));
      button.addEventListener("click", () => {
        setWholePhoto(false);
        setCrop({ ...item });
        search();
      });
      const entry = document.createElement("li");
      entry.append(button);
      list.append(entry);
    });
    markChosen();
  }

  // The item's part of the photo, drawn from the preview (the photo never leaves the page).
  function thumbnail(item) {
    const canvas = document.createElement("canvas");
    const side = 72;
    canvas.width = canvas.height = side;
    const draw = () => {
      const sw = item.w * image.naturalWidth;
      const sh = item.h * image.naturalHeight;
      const scale = side / Math.max(sw, sh);
      const context = canvas.getContext("2d");
      context.fillStyle = "#fff";
      context.fillRect(0, 0, side, side);
      context.drawImage(image, item.x * image.naturalWidth, item.y * image.naturalHeight, sw, sh,
        (side - sw * scale) / 2, (side - sh * scale) / 2, sw * scale, sh * scale);
    };
    if (image.complete && image.naturalWidth) draw();
    else image.addEventListener("load", draw, { once: true });
    return canvas;
  }

  function markChosen() {
    chooser.querySelectorAll(".photo-item").forEach((button, i) => {
      const item = items[i];
      const chosen = !!crop && ["x", "y", "w", "h"].every((k) => Math.abs(crop[k] - item[k]) < 0.005);
      button.setAttribute("aria-pressed", String(chosen));
    });
  }

  function setWholePhoto(whole) {
    wholePhoto.value = whole ? "True" : "";
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
  cameraButton.addEventListener("click", () => camera.click());
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
    markChosen();
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
    setWholePhoto(false);
    setCrop({ x: 0.15, y: 0.15, w: 0.7, h: 0.7 });
    box.focus();
    cropChanged();
  });
  cropClear.addEventListener("click", () => {
    setWholePhoto(true); // as it is: looking for the product again would pick the same one
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
    setWholePhoto(false);
    const [dx, dy] = move;
    setCrop(clamp(event.shiftKey
      ? { ...crop, w: crop.w + dx, h: crop.h + dy }
      : { ...crop, x: crop.x + dx, y: crop.y + dy }));
    cropChanged();
  });

  // Pointer: drag the box to move it, its corner to resize, or draw a new one on the photo. A
  // tap is not a box, and on a touch screen a vertical swipe over the photo scrolls the page
  // (touch-action in shop.css; the browser then cancels the pointer).
  let drag = null;
  stage.addEventListener("pointerdown", (event) => {
    const rect = stage.getBoundingClientRect();
    const at = { x: (event.clientX - rect.left) / rect.width, y: (event.clientY - rect.top) / rect.height };
    const mode = event.target.classList.contains("crop-handle") ? "resize" : event.target === box ? "move" : "draw";
    drag = { mode, at, start: crop, rect, moved: false };
    stage.setPointerCapture(event.pointerId);
    if (event.pointerType === "mouse") event.preventDefault(); // no image drag or text selection
  });
  stage.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const x = (event.clientX - drag.rect.left) / drag.rect.width;
    const y = (event.clientY - drag.rect.top) / drag.rect.height;
    const dx = x - drag.at.x;
    const dy = y - drag.at.y;
    if (!drag.moved && Math.max(Math.abs(dx), Math.abs(dy)) < MIN_DRAW) return;
    drag.moved = true;
    const s = drag.start;
    if (drag.mode === "move") setCrop(clamp({ ...s, x: s.x + dx, y: s.y + dy }));
    else if (drag.mode === "resize") setCrop(clamp({ ...s, w: s.w + dx, h: s.h + dy }));
    else setCrop(clamp({ x: Math.min(x, drag.at.x), y: Math.min(y, drag.at.y), w: Math.abs(dx), h: Math.abs(dy) }));
  });
  stage.addEventListener("pointerup", () => {
    if (drag?.moved) {
      setWholePhoto(false);
      cropChanged();
    }
    drag = null;
  });
  stage.addEventListener("pointercancel", () => {
    if (drag?.moved) setCrop(drag.start); // the page scrolled instead: the box stays as it was
    drag = null;
  });
})();
