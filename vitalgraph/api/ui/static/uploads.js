// Uploads over tus (tus-js-client, vendored): many files at once, any size, each with progress, speed,
// time left and a Cancel button. A dropped network resumes by itself; after a page reload, picking the
// same file again resumes from the server's offset (tus-js-client remembers the upload URL by the
// file's fingerprint in localStorage, with the file node it targets).

import { accessToken, apiUrl, describeError, recoverFrom401, request } from "./api.js";
import { formatBytes, formatDuration, h } from "./dom.js";
import { fileNode, newUri } from "./model.js";

const CHUNK_SIZE = 8 * 1024 * 1024;
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000];
const SPEED_WINDOW_MS = 5000;

const panel = document.getElementById("uploads");
const list = document.getElementById("upload-list");
const finishedListeners = new Set();

const toggle = document.getElementById("uploads-toggle");
toggle.addEventListener("click", () => {
  const open = toggle.getAttribute("aria-expanded") === "true";
  toggle.setAttribute("aria-expanded", String(!open));
  toggle.textContent = open ? "Show" : "Hide";
  list.hidden = open;
});

document.getElementById("uploads-clear").addEventListener("click", () => {
  for (const item of [...list.children]) {
    if (["done", "cancelled"].includes(item.dataset.state)) item.remove();
  }
  if (!list.children.length) panel.hidden = true;
});

/** Call `listener(spaceId, fileUri)` whenever an upload adds, finishes or removes a file; returns a
 * function that stops it. */
export function onFilesChanged(listener) {
  finishedListeners.add(listener);
  return () => finishedListeners.delete(listener);
}

export function uploadFiles(spaceId, files) {
  panel.hidden = false;
  for (const file of files) new FileUpload(spaceId, file).begin();
}

function endpoint() {
  return apiUrl("api/files/tus/").toString();
}

class FileUpload {
  constructor(spaceId, file) {
    this.spaceId = spaceId;
    this.file = file;
    this.samples = [];
    this.finished = false;
    this.progress = h("progress", { max: file.size || 1, value: 0, "aria-label": `Upload progress of ${file.name}` });
    this.percent = h("span", {}, "0 %");
    this.rate = h("span", {}, "");
    this.status = h("span", { class: "status" }, "Starting…");
    this.cancelButton = h("button", { type: "button", "aria-label": `Cancel the upload of ${file.name}`, onclick: () => this.cancel() }, "Cancel");
    this.item = h(
      "li",
      { dataset: { name: file.name, state: "starting" } },
      h("div", { class: "name" }, file.name, " ", h("span", { class: "hint" }, `(${formatBytes(file.size)})`)),
      this.progress,
      h("div", { class: "meta" }, this.percent, this.rate, this.status),
      h("div", { class: "row-buttons" }, this.cancelButton),
    );
    list.append(this.item);
  }

  setState(state, text) {
    this.item.dataset.state = state;
    this.status.textContent = text;
    if (state !== "uploading") {
      this.rate.textContent = ""; // no speed or time left while nothing moves
      this.samples = [];
    }
  }

  async begin() {
    const upload = (this.upload = new tus.Upload(this.file, {
      endpoint: endpoint(),
      chunkSize: CHUNK_SIZE,
      retryDelays: RETRY_DELAYS,
      metadata: {
        space_id: this.spaceId,
        filename: this.file.name,
        filetype: this.file.type || "application/octet-stream",
      },
      // The same file (name, type, size, modification time) to the same space on the same server.
      fingerprint: async (file) =>
        ["vitalgraph", endpoint(), this.spaceId, file.name, file.type, file.size, file.lastModified].join("|"),
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onBeforeRequest: async (req) => {
        req.setHeader("Authorization", `Bearer ${await accessToken()}`);
      },
      onShouldRetry: (error) => {
        const status = error.originalResponse ? error.originalResponse.getStatus() : 0;
        if (status === 401 || !navigator.onLine) return false; // handled in onError
        return status === 0 || status >= 500 || status === 409 || status === 423;
      },
      onProgress: (sent, total) => this.onProgress(sent, total),
      onSuccess: () => this.onSuccess(),
      onError: (error) => this.onError(error),
    }));
    try {
      const previous = await upload.findPreviousUploads();
      if (previous.length && previous[0].metadata && previous[0].metadata.file_uri) {
        this.fileUri = previous[0].metadata.file_uri;
        upload.resumeFromPreviousUpload(previous[0]);
        this.resumed = true;
        this.setState("resuming", "Resuming the earlier upload of this file…");
      } else {
        this.fileUri = newUri("file");
        await request("api/files", { method: "POST", params: { space_id: this.spaceId }, json: fileNode(this.fileUri, this.file.name) });
        this.createdNode = true;
        this.changed();
      }
      this.item.dataset.uri = this.fileUri;
      upload.options.metadata.file_uri = this.fileUri;
      upload.start();
    } catch (error) {
      this.fail(describeError(error));
    }
  }

  onProgress(sent, total) {
    const now = performance.now();
    this.samples.push([now, sent]);
    while (this.samples.length > 2 && now - this.samples[0][0] > SPEED_WINDOW_MS) this.samples.shift();
    const [t0, b0] = this.samples[0];
    const speed = now > t0 ? ((sent - b0) * 1000) / (now - t0) : 0;
    this.progress.max = total || 1;
    this.progress.value = sent;
    this.percent.textContent = `${total ? Math.floor((sent * 100) / total) : 100} %`;
    this.rate.textContent = speed > 0 ? `${formatBytes(speed)}/s, ${formatDuration((total - sent) / speed)} left` : "";
    this.item.dataset.sent = sent;
    if (this.item.dataset.state !== "uploading") this.setState("uploading", this.resumed ? "Uploading (resumed)" : "Uploading");
  }

  onSuccess() {
    this.finished = true;
    this.progress.value = this.progress.max;
    this.percent.textContent = "100 %";
    this.rate.textContent = "";
    this.setState("done", "Done");
    this.cancelButton.textContent = "Dismiss";
    this.cancelButton.setAttribute("aria-label", `Dismiss the finished upload of ${this.file.name}`);
    this.changed();
  }

  changed() {
    for (const listener of finishedListeners) listener(this.spaceId, this.fileUri);
  }

  async onError(error) {
    const status = error.originalResponse ? error.originalResponse.getStatus() : 0;
    if (this.cancelled) return;
    if (status === 401) {
      this.setState("waiting", "Waiting for you to sign in again…");
      await recoverFrom401();
      this.upload.start();
    } else if (!navigator.onLine) {
      this.setState("offline", "The network is down: the upload goes on by itself when it is back.");
      window.addEventListener("online", () => this.cancelled || this.upload.start(), { once: true });
    } else {
      let detail = "";
      try {
        detail = JSON.parse(error.originalResponse.getBody()).detail || "";
      } catch {
        detail = "";
      }
      this.fail(detail ? `Upload failed: ${detail}` : `Upload failed: ${error.message.split("\n")[0]}`);
    }
  }

  fail(message) {
    this.setState("failed", message);
    const retry = h("button", { type: "button", "aria-label": `Retry the upload of ${this.file.name}`, onclick: () => {
      retry.remove();
      this.setState("resuming", "Retrying…");
      if (this.upload && this.fileUri) this.upload.start();
      else this.begin();
    } }, "Retry");
    this.cancelButton.before(retry);
  }

  async cancel() {
    if (this.finished || this.item.dataset.state === "cancelled") {
      this.item.remove();
      if (!list.children.length) panel.hidden = true;
      return;
    }
    this.cancelled = true;
    this.setState("cancelled", "Cancelled");
    this.cancelButton.textContent = "Dismiss";
    try {
      if (this.upload) await this.upload.abort(true); // terminates it on the server, forgets its URL
      if (this.fileUri) {
        const node = await request("api/files", { params: { space_id: this.spaceId, uri: this.fileUri } });
        if (!node["http://vitalgraph.ai/ontology/vitalgraph#hasFileSHA256"]) {
          await request("api/files", { method: "DELETE", params: { space_id: this.spaceId, uri: this.fileUri } });
          this.changed();
        }
      }
    } catch (error) {
      this.status.textContent = `Cancelled; cleaning up failed: ${describeError(error)}`;
    }
  }
}
