// The web app: sign-in, the header, and a hash router over the views (spaces, files, entities, query, access).

import { describeError, get, onReauthenticate, signedIn, signIn, signOut } from "./api.js";
import { h } from "./dom.js";
import { me } from "./layout.js";
import { entitiesView } from "./entities.js";
import { filesView } from "./files.js";
import { queryView } from "./query.js";
import { grantsView, spacesView } from "./spaces.js";

const main = document.getElementById("main");

// --- sign-in -------------------------------------------------------------------------------------
const signInDialog = document.getElementById("sign-in");
const signInForm = document.getElementById("sign-in-form");
const signInError = document.getElementById("sign-in-error");

/** Show the sign-in form (over whatever the page shows, which stays as it is); resolve once signed in. */
function askToSignIn(reason = "") {
  document.getElementById("sign-in-reason").textContent = reason;
  signInError.textContent = "";
  document.getElementById("sign-in-password").value = "";
  if (!signInDialog.open) signInDialog.showModal();
  const username = document.getElementById("sign-in-username");
  (username.value ? document.getElementById("sign-in-password") : username).focus();
  return new Promise((resolve) => {
    signInForm.onsubmit = async (event) => {
      event.preventDefault();
      const button = document.getElementById("sign-in-submit");
      button.disabled = true;
      signInError.textContent = "";
      try {
        await signIn(username.value.trim(), document.getElementById("sign-in-password").value);
        signInDialog.close();
        await loadMe();
        resolve();
      } catch (error) {
        signInError.textContent = describeError(error);
      } finally {
        button.disabled = false;
      }
    };
  });
}
signInDialog.addEventListener("cancel", (event) => event.preventDefault()); // Escape does not skip it
onReauthenticate(askToSignIn);

async function loadMe() {
  const who = await get("api/me");
  Object.assign(me, who);
  document.getElementById("who-name").textContent = `${who.username} (${who.role})`;
  document.getElementById("who").hidden = false;
}

document.getElementById("sign-out").addEventListener("click", async () => {
  await signOut();
  document.getElementById("who").hidden = true;
  main.replaceChildren(h("p", { class: "hint" }, "You are signed out."));
  await askToSignIn();
  route();
});

document.getElementById("panel-close").addEventListener("click", () => document.getElementById("panel").close());

// --- routing -------------------------------------------------------------------------------------
const ROUTES = [
  [/^#\/spaces\/([^/]+)\/files$/, filesView],
  [/^#\/spaces\/([^/]+)\/entities$/, entitiesView],
  [/^#\/spaces\/([^/]+)\/query$/, queryView],
  [/^#\/spaces\/([^/]+)\/access$/, grantsView],
  [/^#\/spaces$/, spacesView],
];

let currentView = null;
async function route() {
  const hash = location.hash.startsWith("#/") ? location.hash : "#/spaces";
  for (const [pattern, view] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    if (currentView && currentView.leave) currentView.leave();
    document.getElementById("crumbs").replaceChildren();
    const args = match.slice(1).map(decodeURIComponent);
    currentView = view(main, ...args) || null;
    main.focus({ preventScroll: true });
    return;
  }
  location.hash = "#/spaces";
}

window.addEventListener("hashchange", () => {
  if (location.hash.startsWith("#/")) route();
});

async function start() {
  if (!signedIn()) {
    await askToSignIn();
  } else {
    try {
      await loadMe();
    } catch {
      await askToSignIn("Your session has ended. Sign in again.");
    }
  }
  route();
}

start();
