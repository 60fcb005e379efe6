// The files of a space: a table paginated, sorted and filtered by the server; download through a
// short-lived link (the browser's own download manager), preview, metadata view and edit, delete;
// and the drop zone / file picker that starts uploads (uploads.js).

import { describeError, get, request } from "./api.js";
import { closePanel, confirmAction, debounce, errorBox, field, formatBytes, formatDate, h, openPanel, toast } from "./dom.js";
import { spaceTabs } from "./layout.js";
import { graphOf, P, setString, value } from "./model.js";
import { onFilesChanged, uploadFiles } from "./uploads.js";

const PAGE_SIZES = [10, 25, 50, 100];
const LINK_SECONDS = 300; // a download link lives five minutes
const PREVIEW_LIMIT = 20 * 1024 * 1024; // images and PDFs up to 20 MiB are previewed
const TEXT_PREVIEW_BYTES = 256 * 1024; // text: the first 256 KiB
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"];
const COLUMNS = [
  ["name", "Name"],
  ["uri", "URI"],
  ["size", "Size"],
  ["type", "Type"],
  [null, "SHA-256"],
  ["modified", "Modified"],
  [null, "Actions"],
];

export function filesView(main, spaceId) {
  const state = { offset: 0, pageSize: 25, sort: "name", descending: false, name: "" };
  const error = errorBox();
  const tbody = h("tbody");
  const summary = h("span", { "aria-live": "polite" });
  const previous = h("button", { type: "button", onclick: () => turn(-1) }, "Previous page");
  const next = h("button", { type: "button", onclick: () => turn(1) }, "Next page");
  const headRow = h("tr");
  const filter = field("Filter by name", "input", { type: "search", name: "name", placeholder: "part of a name" });
  const pageSize = field("Rows per page", "select", { name: "page_size" }, PAGE_SIZES.map((n) => h("option", { value: n, selected: n === state.pageSize }, n)));
  // The browser's own file input: Enter or Space opens the chooser, and it can pick several files.
  const picker = h("input", { type: "file", multiple: true, id: "file-picker" });
  const drop = h(
    "div",
    { class: "dropzone", id: "dropzone" },
    h("span", {}, "Drop files here to upload them, or "),
    h("label", { for: "file-picker", class: "picker-label" }, "choose files to upload"),
    " ",
    picker,
  );

  filter.input.addEventListener("input", debounce(() => {
    state.name = filter.input.value.trim();
    state.offset = 0;
    load();
  }, 300));
  pageSize.input.addEventListener("change", () => {
    state.pageSize = Number(pageSize.input.value);
    state.offset = 0;
    load();
  });
  picker.addEventListener("change", () => {
    if (picker.files.length) uploadFiles(spaceId, [...picker.files]);
    picker.value = "";
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const files = [...(event.dataTransfer?.files || [])];
    if (files.length) uploadFiles(spaceId, files);
  });
  const stopListening = onFilesChanged((uploadedSpace) => {
    if (uploadedSpace === spaceId) load();
  });

  main.replaceChildren(
    spaceTabs(spaceId, "files"),
    h("h1", {}, `Files in '${spaceId}'`),
    drop,
    h("div", { class: "toolbar" }, filter.wrap, pageSize.wrap),
    error,
    h("div", { class: "table-wrap" }, h("table", { class: "cards", "aria-label": "Files" }, h("thead", {}, headRow), tbody)),
    h("div", { class: "pager" }, previous, next, summary),
  );

  function header() {
    headRow.replaceChildren(
      ...COLUMNS.map(([key, label]) => {
        if (!key) return h("th", { scope: "col" }, label);
        const active = state.sort === key;
        const sortState = active ? (state.descending ? "descending" : "ascending") : "none";
        return h(
          "th",
          { scope: "col", "aria-sort": sortState },
          h(
            "button",
            { type: "button", onclick: () => sortBy(key), "aria-label": `Sort by ${label}${active ? (state.descending ? ", now descending" : ", now ascending") : ""}` },
            label,
            active ? (state.descending ? " ▼" : " ▲") : "",
          ),
        );
      }),
    );
  }

  function sortBy(key) {
    state.descending = state.sort === key ? !state.descending : false;
    state.sort = key;
    state.offset = 0;
    load();
  }

  function turn(direction) {
    state.offset = Math.max(0, state.offset + direction * state.pageSize);
    load();
  }

  async function load() {
    header();
    error.textContent = "";
    try {
      const page = await get("api/files", {
        space_id: spaceId,
        page_size: state.pageSize,
        offset: state.offset,
        name: state.name,
        sort: (state.descending ? "-" : "") + state.sort,
      });
      const files = graphOf(page.files);
      tbody.replaceChildren(
        ...(files.length
          ? files.map(row)
          : [h("tr", {}, h("td", { colspan: COLUMNS.length, class: "empty" }, state.name ? "No file matches the filter." : "No files yet: drop some above."))]),
      );
      const last = Math.min(page.total_count, state.offset + files.length);
      summary.textContent = page.total_count ? `${state.offset + 1}–${last} of ${page.total_count} files` : "0 files";
      previous.disabled = state.offset === 0;
      next.disabled = last >= page.total_count;
    } catch (failure) {
      error.textContent = describeError(failure);
    }
  }

  function row(node) {
    const uri = node["@id"];
    const name = value(node, P.name) || value(node, P.fileName) || uri;
    const sha = value(node, P.sha256);
    const size = value(node, P.fileLength);
    const modified = value(node, P.modified);
    const hasContent = Boolean(sha);
    return h(
      "tr",
      { dataset: { uri } },
      h("td", { "data-label": "Name" }, name),
      h("td", { class: "uri", "data-label": "URI" }, uri),
      h("td", { class: "num", "data-label": "Size" }, size === null ? "—" : formatBytes(size)),
      h("td", { "data-label": "Type" }, value(node, P.fileType) || "—"),
      h(
        "td",
        { class: "mono", "data-label": "SHA-256" },
        h("div", {}, sha ? [h("span", { title: sha }, sha.slice(0, 12) + "…"), " ", h("button", { type: "button", class: "link", "aria-label": `Copy the SHA-256 of ${name}`, onclick: () => copy(sha) }, "Copy")] : "—"),
      ),
      h("td", { "data-label": "Modified" }, modified ? formatDate(Number(modified)) : "—"),
      h(
        "td",
        { class: "actions", "data-label": "Actions" },
        h("button", { type: "button", disabled: !hasContent, "aria-label": `Download ${name}`, onclick: () => download(uri) }, "Download"),
        h("button", { type: "button", disabled: !hasContent || !previewable(node), "aria-label": `Preview ${name}`, onclick: () => preview(node) }, "Preview"),
        h("button", { type: "button", "aria-label": `Details of ${name}`, onclick: () => details(uri) }, "Details"),
        h("button", { type: "button", class: "danger", "aria-label": `Delete ${name}`, onclick: () => remove(uri, name) }, "Delete"),
      ),
    );
  }

  async function download(uri) {
    try {
      const link = await get("api/files/presigned", { space_id: spaceId, uri, expires: LINK_SECONDS });
      // A navigation to a short-lived link: the browser's download manager takes over (and can resume);
      // the link carries no session token and stops working after LINK_SECONDS.
      const anchor = h("a", { href: link.url, download: "", rel: "noopener", hidden: true });
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      toast("Download started");
    } catch (failure) {
      error.textContent = describeError(failure);
    }
  }

  async function preview(node) {
    const uri = node["@id"];
    const type = (value(node, P.fileType) || "").split(";")[0].trim().toLowerCase();
    const name = value(node, P.name) || uri;
    const body = openPanel(`Preview of ${name}`, h("p", { class: "hint" }, "Loading…"));
    try {
      const isText = !IMAGE_TYPES.includes(type) && type !== "application/pdf";
      const response = await request("api/files/stream/download", {
        params: { space_id: spaceId, uri },
        headers: isText ? { Range: `bytes=0-${TEXT_PREVIEW_BYTES - 1}` } : {},
        raw: true,
      });
      const blob = await response.blob();
      let shown;
      if (isText) {
        const text = await blob.text();
        shown = [h("pre", {}, text), response.status === 206 ? h("p", { class: "hint" }, `The first ${formatBytes(TEXT_PREVIEW_BYTES)} only.`) : null];
      } else {
        // A blob of a type chosen here from a safe list: the stored bytes never run as a page.
        const url = URL.createObjectURL(new Blob([blob], { type }));
        shown = type === "application/pdf" ? h("iframe", { src: url, title: `PDF ${name}` }) : h("img", { src: url, alt: `Preview of ${name}` });
      }
      body.replaceChildren(h("div", { class: "preview" }, shown));
    } catch (failure) {
      body.replaceChildren(h("p", { class: "error", role: "alert" }, describeError(failure)));
    }
  }

  async function details(uri) {
    const panelError = errorBox();
    try {
      const node = await get("api/files", { space_id: spaceId, uri });
      const facts = [
        ["URI", uri],
        ["Size", value(node, P.fileLength) === null ? "no content yet" : `${formatBytes(value(node, P.fileLength))} (${value(node, P.fileLength)} bytes)`],
        ["SHA-256", value(node, P.sha256) || "—"],
        ["Modified", value(node, P.modified) ? formatDate(Number(value(node, P.modified))) : "—"],
      ];
      const name = field("Name", "input", { value: value(node, P.name) || "", maxlength: 1024 });
      const fileName = field("File name", "input", { value: value(node, P.fileName) || "", maxlength: 1024 });
      const fileType = field("Type", "input", { value: value(node, P.fileType) || "", maxlength: 255 });
      const form = h("form", { class: "stack", "aria-label": "Edit metadata" }, name.wrap, fileName.wrap, fileType.wrap, panelError, h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Save")));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        panelError.textContent = "";
        setString(node, P.name, name.input.value.trim());
        setString(node, P.fileName, fileName.input.value.trim());
        setString(node, P.fileType, fileType.input.value.trim());
        try {
          await request("api/files", { method: "PUT", params: { space_id: spaceId }, json: node });
          toast("Metadata saved");
          closePanel();
          load();
        } catch (failure) {
          panelError.textContent = describeError(failure);
        }
      });
      openPanel(
        `Details of ${value(node, P.name) || uri}`,
        h("dl", { class: "meta" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
        h("h2", {}, "Edit"),
        form,
        h("details", {}, h("summary", {}, "All properties (JSON-LD)"), h("pre", {}, JSON.stringify(node, null, 2))),
      );
      name.input.focus();
    } catch (failure) {
      error.textContent = describeError(failure);
    }
  }

  async function remove(uri, name) {
    if (!(await confirmAction(`Delete '${name}'?`, `The file '${name}' (${uri}) and its content will be deleted from '${spaceId}'. This cannot be undone.`))) return;
    try {
      await request("api/files", { method: "DELETE", params: { space_id: spaceId, uri } });
      toast(`'${name}' deleted`);
      load();
    } catch (failure) {
      error.textContent = describeError(failure);
    }
  }

  load();
  return { leave: stopListening };
}

function previewable(node) {
  const type = (value(node, P.fileType) || "").split(";")[0].trim().toLowerCase();
  const size = Number(value(node, P.fileLength) || 0);
  if (type.startsWith("text/") || type === "application/json" || type === "application/xml") return true;
  return (IMAGE_TYPES.includes(type) || type === "application/pdf") && size <= PREVIEW_LIMIT;
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = h("textarea", { class: "sr-only" }, text); // plain http has no clipboard API
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  toast("SHA-256 copied");
}
