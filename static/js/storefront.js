// Storefront lists: buttons that show a rail scrolls and move it, and a filter panel that gets
// out of the way on a phone once its filters are applied. Without this script the rails still
// scroll (swipe, wheel, keyboard) and the panel stays as the server drew it.
"use strict";

for (const list of document.querySelectorAll(".rail .rail-items")) {
  const rail = list.closest(".rail");
  const controls = document.createElement("div");
  controls.className = "rail-scroll";
  const back = railButton("Previous products", "‹", -1);
  const forward = railButton("Next products", "›", 1);
  controls.append(back, forward);
  rail.querySelector("h2").after(controls);

  function railButton(label, glyph, direction) {
    const button = document.createElement("button");
    button.type = "button";
    button.setAttribute("aria-label", label);
    button.textContent = glyph;
    button.addEventListener("click", () => {
      if (button.getAttribute("aria-disabled") === "true") return;
      list.scrollBy({ left: direction * list.clientWidth * 0.8, behavior: "smooth" });
    });
    return button;
  }

  function update() {
    const end = list.scrollWidth - list.clientWidth;
    controls.hidden = end <= 1;
    // aria-disabled, not disabled: a disabled button would drop the keyboard focus on it.
    back.setAttribute("aria-disabled", String(list.scrollLeft <= 1));
    forward.setAttribute("aria-disabled", String(list.scrollLeft >= end - 1));
  }
  // Chrome leaves a card that the keyboard focuses where it is when a sliver of it shows:
  // bring the whole card into view, focus ring included (the list's scroll padding).
  list.addEventListener("focusin", (event) => {
    const card = event.target.closest(".product-card") || event.target;
    const shown = list.getBoundingClientRect();
    const box = card.getBoundingClientRect();
    if (box.left < shown.left || box.right > shown.right) {
      card.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  });
  list.addEventListener("scroll", update, { passive: true });
  window.addEventListener("resize", update);
  update();
}

// On a narrow screen the open panel sits above the results: after Apply, show the results.
const panel = document.querySelector(".filter-panel[open]");
if (panel && !panel.querySelector(".error") && matchMedia("(max-width: 56rem)").matches) {
  panel.open = false;
}
