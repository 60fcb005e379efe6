// Small DOM helpers: building elements, dialogs, and formatting numbers and dates for people.

/** h("button", {type: "button", onclick}, "Text", child, ...): an element; attributes set as given. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

let fieldCounter = 0;
/** A labelled input (or select/textarea): returns {wrap, input}. */
export function field(label, tag = "input", attributes = {}, ...children) {
  const id = attributes.id || `field-${++fieldCounter}`;
  const input = h(tag, { ...attributes, id }, ...children);
  return { wrap: h("div", { class: "field" }, h("label", { for: id }, label), input), input };
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined || Number.isNaN(bytes)) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatDuration(seconds) {
  if (!Number.isFinite(seconds)) return "";
  seconds = Math.round(seconds);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatDate(value) {
  if (value === null || value === undefined || value === "") return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

export function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.textContent = ""), 4000);
}

/** Ask before something that cannot be undone; the text names what is affected. Resolves true/false. */
export function confirmAction(title, text, okLabel = "Delete") {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = okLabel;
  dialog.returnValue = "cancel";
  dialog.showModal();
  document.getElementById("confirm-cancel").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

/** A modal side panel with a title and any content; returns the body element. */
export function openPanel(title, ...content) {
  const dialog = document.getElementById("panel");
  document.getElementById("panel-title").textContent = title;
  const body = document.getElementById("panel-body");
  body.replaceChildren(...content);
  if (!dialog.open) dialog.showModal();
  return body;
}

export function closePanel() {
  const dialog = document.getElementById("panel");
  if (dialog.open) dialog.close();
}

export function errorBox() {
  return h("p", { class: "error", role: "alert" });
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
