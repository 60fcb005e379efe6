// Spaces: the ones the user may see, create, delete (after a confirmation naming the space);
// and, for admins, who may use a space (grants).

import { describeError, get, request } from "./api.js";
import { confirmAction, errorBox, field, formatDate, h, toast } from "./dom.js";
import { me, spaceTabs } from "./layout.js";

export function spacesView(main) {
  const error = errorBox();
  const tbody = h("tbody");
  const id = field("Space id", "input", { name: "space_id", required: true, maxlength: 128, pattern: "[A-Za-z0-9][A-Za-z0-9_.\\-]*", placeholder: "e.g. reports" });
  const name = field("Name", "input", { name: "space_name", maxlength: 1024 });
  const description = field("Description", "input", { name: "space_description", maxlength: 10000 });
  const createError = errorBox();
  const form = h(
    "form",
    { class: "inline", "aria-label": "Create a space" },
    id.wrap,
    name.wrap,
    description.wrap,
    h("button", { type: "submit", class: "primary" }, "Create space"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    createError.textContent = "";
    try {
      const space = await request("api/spaces", {
        method: "POST",
        json: { space_id: id.input.value.trim(), space_name: name.input.value.trim() || null, space_description: description.input.value },
      });
      toast(`Space '${space.space_id}' created`);
      form.reset();
      await load();
    } catch (failure) {
      createError.textContent = describeError(failure);
    }
  });

  main.replaceChildren(
    h("h1", {}, "Spaces"),
    h("section", { "aria-labelledby": "create-space-title" }, h("h2", { id: "create-space-title" }, "Create a space"), form, createError),
    h("h2", {}, "Your spaces"),
    error,
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "cards", "aria-label": "Spaces" },
        h("thead", {}, h("tr", {}, ["Space", "Name", "Description", "Created", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
        tbody,
      ),
    ),
  );

  async function load() {
    error.textContent = "";
    try {
      const { spaces } = await get("api/spaces");
      tbody.replaceChildren(
        ...(spaces.length
          ? spaces.map(row)
          : [h("tr", {}, h("td", { colspan: 5, class: "empty" }, "No spaces yet: create one above."))]),
      );
    } catch (failure) {
      error.textContent = describeError(failure);
    }
  }

  function row(space) {
    const open = `#/spaces/${encodeURIComponent(space.space_id)}/files`;
    return h(
      "tr",
      {},
      h("td", { "data-label": "Space" }, h("a", { href: open }, space.space_id)),
      h("td", { "data-label": "Name" }, space.space_name),
      h("td", { "data-label": "Description" }, space.space_description),
      h("td", { "data-label": "Created" }, formatDate(space.created)),
      h(
        "td",
        { class: "actions", "data-label": "Actions" },
        me.role === "admin"
          ? h("button", { type: "button", onclick: () => (location.hash = `#/spaces/${encodeURIComponent(space.space_id)}/access`), "aria-label": `Access to ${space.space_id}` }, "Access")
          : null,
        h("button", { type: "button", class: "danger", "aria-label": `Delete space ${space.space_id}`, onclick: () => remove(space.space_id) }, "Delete"),
      ),
    );
  }

  async function remove(spaceId) {
    const sure = await confirmAction(
      `Delete space '${spaceId}'?`,
      `The space '${spaceId}', its graphs and the bytes of every file in it will be deleted. This cannot be undone.`,
      `Delete '${spaceId}'`,
    );
    if (!sure) return;
    try {
      await request(`api/spaces/${encodeURIComponent(spaceId)}`, { method: "DELETE" });
      toast(`Space '${spaceId}' deleted`);
      await load();
    } catch (failure) {
      error.textContent = describeError(failure);
    }
  }

  load();
}

export function grantsView(main, spaceId) {
  const error = errorBox();
  const tbody = h("tbody");
  const user = field("Username", "input", { name: "username", required: true, maxlength: 64 });
  const level = field("Permission", "select", { name: "level" }, ["read", "write", "manage"].map((l) => h("option", { value: l }, l)));
  const form = h("form", { class: "inline", "aria-label": "Grant access" }, user.wrap, level.wrap, h("button", { type: "submit", class: "primary" }, "Grant"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const username = user.input.value.trim();
    try {
      await request(`api/spaces/${encodeURIComponent(spaceId)}/grants/${encodeURIComponent(username)}`, {
        method: "PUT",
        json: { level: level.input.value },
      });
      toast(`${username} may now ${level.input.value} '${spaceId}'`);
      form.reset();
      await load();
    } catch (failure) {
      error.textContent = describeError(failure);
    }
  });
  main.replaceChildren(
    spaceTabs(spaceId, "access"),
    h("h1", {}, `Access to '${spaceId}'`),
    h("p", { class: "hint" }, "Admins see every space. Others see and use only the spaces granted to them: read, write (upload, edit, delete) or manage (also delete the space)."),
    form,
    error,
    h(
      "div",
      { class: "table-wrap" },
      h("table", { "aria-label": "Grants" }, h("thead", {}, h("tr", {}, ["User", "Permission", "Actions"].map((t) => h("th", { scope: "col" }, t)))), tbody),
    ),
  );

  async function load() {
    try {
      const { grants } = await get(`api/spaces/${encodeURIComponent(spaceId)}/grants`);
      tbody.replaceChildren(
        ...(grants.length
          ? grants.map((g) =>
              h(
                "tr",
                {},
                h("td", {}, g.username),
                h("td", {}, g.level),
                h("td", { class: "actions" }, h("button", { type: "button", "aria-label": `Revoke ${g.username}'s access`, onclick: () => revoke(g.username) }, "Revoke")),
              ),
            )
          : [h("tr", {}, h("td", { colspan: 3, class: "empty" }, "No grants: only admins can use this space."))]),
      );
    } catch (failure) {
      error.textContent = describeError(failure);
    }
  }

  async function revoke(username) {
    if (!(await confirmAction(`Revoke ${username}'s access?`, `${username} will no longer be able to use the space '${spaceId}'.`, "Revoke"))) return;
    try {
      await request(`api/spaces/${encodeURIComponent(spaceId)}/grants/${encodeURIComponent(username)}`, { method: "DELETE" });
      await load();
    } catch (failure) {
      error.textContent = describeError(failure);
    }
  }

  load();
}
