"use strict";
// The category tree in the admin: django-treebeard's script draws an empty link before each
// category that has subcategories, to show or hide them. This names each one (axe: link-name)
// and says whether its subcategories are shown. Loaded after treebeard-admin.js, so that its
// ready handler, which draws the links, has run before this one.
django.jQuery(($) => {
  $("#result_list a.treebeard-collapse").each((_, toggle) => {
    const row = toggle.closest("tr");
    const name = row.querySelector("th a:not(.treebeard-collapse), td a:not(.treebeard-collapse)");
    const label = name ? name.textContent.trim() : "this category";
    toggle.setAttribute("aria-label", `Subcategories of ${label}`);
    const expanded = () =>
      toggle.setAttribute("aria-expanded", String(toggle.classList.contains("treebeard-expanded")));
    expanded();
    new MutationObserver(expanded).observe(toggle, { attributes: true, attributeFilter: ["class"] });
  });
});
