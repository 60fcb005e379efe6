// What every view shares: who is signed in, and the tabs of a space.

import { h } from "./dom.js";

export const me = { username: null, role: null };

export function spaceTabs(spaceId, current) {
  const tabs = [
    ["files", "Files"],
    ["entities", "Entities"],
    ["query", "Query"],
  ];
  if (me.role === "admin") tabs.push(["access", "Access"]);
  const crumbs = document.getElementById("crumbs");
  crumbs.replaceChildren(h("a", { href: "#/spaces" }, "Spaces"), " / ", h("span", {}, spaceId));
  return h(
    "nav",
    { class: "tabs", "aria-label": "Space sections" },
    tabs.map(([key, label]) =>
      h("a", { href: `#/spaces/${encodeURIComponent(spaceId)}/${key}`, "aria-current": key === current ? "page" : null }, label),
    ),
  );
}

