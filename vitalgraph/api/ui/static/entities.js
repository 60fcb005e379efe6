// Entities: organizations and other KG entities of a space, the files attached to each, attach and detach.

import { describeError, get, request } from "./api.js";
import { confirmAction, debounce, errorBox, field, h, toast } from "./dom.js";
import { spaceTabs } from "./layout.js";
import { graphOf, newUri, organization, P, value } from "./model.js";

export function entitiesView(main, spaceId) {
  const error = errorBox();
  const list = h("ul", { class: "card-list entity-list", "aria-label": "Entities" });
  const detail = h("section", { "aria-live": "polite" }, h("p", { class: "hint" }, "Choose an entity to see its files."));
  const search = field("Search entities", "input", { type: "search", placeholder: "part of a name" });
  const orgName = field("New organization's name", "input", { required: true, maxlength: 1024 });
  const createForm = h("form", { class: "inline", "aria-label": "Create an organization" }, orgName.wrap, h("button", { type: "submit", class: "primary" }, "Create organization"));
  let selected = null;

  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const uri = newUri("organization");
    try {
      await request("api/graphs/kgentities", { method: "POST", params: { space_id: spaceId }, json: organization(uri, orgName.input.value.trim()) });
      toast(`Organization '${orgName.input.value.trim()}' created`);
      createForm.reset();
      selected = uri;
      await load();
    } catch (failure) {
      error.textContent = describeError(failure);
    }
  });
  search.input.addEventListener("input", debounce(load, 300));

  main.replaceChildren(
    spaceTabs(spaceId, "entities"),
    h("h1", {}, `Entities in '${spaceId}'`),
    createForm,
    error,
    h("div", { class: "split" }, h("div", {}, search.wrap, list), detail),
  );

  async function load() {
    try {
      const page = await get("api/graphs/kgentities", { space_id: spaceId, page_size: 200, search: search.input.value.trim() });
      const entities = graphOf(page.entities);
      list.replaceChildren(
        ...(entities.length
          ? entities.map((entity) => {
              const uri = entity["@id"];
              const name = value(entity, P.name) || uri;
              const kind = (value(entity, P.entityType) || "").split("#").pop().replace(/Entity$/, "");
              return h("li", {}, h("button", { type: "button", "aria-pressed": String(uri === selected), onclick: () => show(uri) }, name, kind ? ` (${kind})` : ""));
            })
          : [h("li", { class: "empty" }, "No entities yet: create an organization above.")]),
      );
      if (selected) await show(selected);
    } catch (failure) {
      error.textContent = describeError(failure);
    }
  }

  async function show(uri) {
    selected = uri;
    for (const button of list.querySelectorAll("button")) button.setAttribute("aria-pressed", "false");
    const panelError = errorBox();
    try {
      const [entity, attached, files] = await Promise.all([
        get("api/graphs/kgentities", { space_id: spaceId, uri }),
        get("api/graphs/kgentities/files", { space_id: spaceId, entity_uri: uri }),
        get("api/files", { space_id: spaceId, page_size: 1000, sort: "name" }),
      ]);
      const name = value(entity, P.name) || uri;
      const attachedUris = new Set(attached.file_uris);
      const choices = graphOf(files.files).filter((f) => !attachedUris.has(f["@id"]));
      const pick = field("File to attach", "select", { name: "file_uri" }, choices.map((f) => h("option", { value: f["@id"] }, value(f, P.name) || f["@id"])));
      const attachForm = h("form", { class: "inline", "aria-label": `Attach a file to ${name}` }, pick.wrap, h("button", { type: "submit", class: "primary", disabled: !choices.length }, "Attach"));
      attachForm.addEventListener("submit", async (event) => {
        event.preventDefault();
        try {
          await request("api/graphs/kgentities/files", { method: "POST", params: { space_id: spaceId, entity_uri: uri, file_uri: pick.input.value } });
          toast("File attached");
          await show(uri);
        } catch (failure) {
          panelError.textContent = describeError(failure);
        }
      });
      const rows = graphOf(attached.files).map((f) => {
        const fileName = value(f, P.name) || f["@id"];
        return h("li", { dataset: { uri: f["@id"] } }, fileName, " ", h("button", { type: "button", "aria-label": `Detach ${fileName} from ${name}`, onclick: () => detach(uri, f["@id"], fileName, name) }, "Detach"));
      });
      detail.replaceChildren(
        h("h2", {}, name),
        h("p", { class: "hint" }, uri),
        h("h2", {}, "Attached files"),
        rows.length ? h("ul", { "aria-label": `Files attached to ${name}` }, rows) : h("p", { class: "hint" }, "No files attached."),
        choices.length ? attachForm : h("p", { class: "hint" }, "Every file of the space is attached already (or the space has none)."),
        panelError,
      );
      const button = [...list.querySelectorAll("button")].find((b) => b.textContent.startsWith(name));
      if (button) button.setAttribute("aria-pressed", "true");
    } catch (failure) {
      detail.replaceChildren(h("p", { class: "error", role: "alert" }, describeError(failure)));
    }
  }

  async function detach(entityUri, fileUri, fileName, entityName) {
    if (!(await confirmAction(`Detach '${fileName}'?`, `'${fileName}' will no longer be attached to '${entityName}'. The file itself stays.`, "Detach"))) return;
    try {
      await request("api/graphs/kgentities/files", { method: "DELETE", params: { space_id: spaceId, entity_uri: entityUri, file_uri: fileUri } });
      toast("File detached");
      await show(entityUri);
    } catch (failure) {
      error.textContent = describeError(failure);
    }
  }

  load();
}
