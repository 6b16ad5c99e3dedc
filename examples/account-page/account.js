// A reference account page on its own origin: a public OAuth client (authorization code with
// PKCE, no secret) that signs the user in through Assent, lists their consent records with their
// own token, and withdraws one by following the record's `consent.revoke` link.
//
// Configuration comes from the first visit's query string and is kept for the tab:
//   index.html?assent=https://assent.example.com&env=<environment id>&client_id=<application id>
"use strict";

const SCOPES = "openid p1:read:oauthConsents p1:update:oauthConsents";
const REVOKE_MEDIA_TYPE = "application/vnd.pingidentity.consent.revoke+json";
const store = window.sessionStorage;
const $ = (id) => document.getElementById(id);

function config() {
  const query = new URLSearchParams(window.location.search);
  for (const key of ["assent", "env", "client_id"]) {
    if (query.get(key)) store.setItem(`config.${key}`, query.get(key));
  }
  const assent = (store.getItem("config.assent") || "").replace(/\/+$/, "");
  const env = store.getItem("config.env");
  const clientId = store.getItem("config.client_id");
  if (!assent || !env || !clientId) throw new Error("Open this page with ?assent=…&env=…&client_id=… (see the README).");
  return { assent, env, clientId, issuer: `${assent}/${env}/as`, redirectUri: window.location.origin + window.location.pathname };
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function signIn(cfg) {
  const verifier = randomString();
  const state = randomString();
  store.setItem("pkce.verifier", verifier);
  store.setItem("pkce.state", state);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const url = new URL(`${cfg.issuer}/authorize`);
  url.search = new URLSearchParams({
    response_type: "code", client_id: cfg.clientId, redirect_uri: cfg.redirectUri, scope: SCOPES, state,
    code_challenge: challenge, code_challenge_method: "S256",
  }).toString();
  window.location.assign(url.toString());
}

// Back from /authorize: check the state, exchange the code (no secret: PKCE proves the caller).
async function finishSignIn(cfg, query) {
  const expected = store.getItem("pkce.state");
  const verifier = store.getItem("pkce.verifier");
  store.removeItem("pkce.state");
  store.removeItem("pkce.verifier");
  window.history.replaceState(null, "", cfg.redirectUri);
  if (query.get("error")) throw new Error(`Sign-in ended: ${query.get("error_description") || query.get("error")}`);
  if (!expected || query.get("state") !== expected) throw new Error("This sign-in answer was not asked for by this page.");
  const response = await fetch(`${cfg.issuer}/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code: query.get("code"), redirect_uri: cfg.redirectUri,
      client_id: cfg.clientId, code_verifier: verifier,
    }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`The token request failed: ${body.error_description || body.error}`);
  store.setItem("token", body.access_token);
}

function claims(token) {
  const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload));
}

async function api(token, url, options = {}) {
  const response = await fetch(url, { ...options, headers: { ...(options.headers || {}), Authorization: `Bearer ${token}` } });
  if (response.status === 401) {
    store.removeItem("token");
    throw Object.assign(new Error("You are signed out."), { signedOut: true });
  }
  const body = await response.json();
  if (!response.ok) throw new Error(body.message || `The request failed (${response.status}).`);
  return body;
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function where(record) {
  const software = [record.browser && record.browser.name, record.operatingSystem && record.operatingSystem.name].filter(Boolean).join(" on ");
  const place = [record.location && record.location.city, record.location && record.location.country].filter(Boolean).join(", ");
  return [new Date(record.consentedAt).toLocaleString(), software, place].filter(Boolean).join(" · ");
}

async function list(cfg, token) {
  const user = claims(token);
  const page = await api(token, `${cfg.assent}/v1/environments/${cfg.env}/users/${user.uid || user.sub}/oauthConsents?limit=100`);
  const rows = $("consents");
  rows.replaceChildren();
  for (const record of page._embedded.oauthConsents) {
    const row = rows.insertRow();
    row.dataset.consentId = record.id;
    row.dataset.applicationId = record.application.id;
    cell(row, record.applicationName);
    cell(row, record.scope.join(" "), "scope");
    cell(row, record.status, `status status-${record.status}`);
    cell(row, where(record));
    const action = row.insertCell();
    const revoke = record._links["consent.revoke"];
    if (revoke) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "revoke";
      button.textContent = "Withdraw";
      button.setAttribute("aria-label", `Withdraw consent from ${record.applicationName}`);
      button.addEventListener("click", () => withdraw(cfg, token, record, revoke.href));
      action.append(button);
    }
  }
  $("status").textContent = `${page.size} decision${page.size === 1 ? "" : "s"} recorded.`;
}

async function withdraw(cfg, token, record, href) {
  try {
    await api(token, href, { method: "PATCH", headers: { "Content-Type": REVOKE_MEDIA_TYPE }, body: JSON.stringify({ status: "REVOKED" }) });
    if (record.application.id === cfg.clientId) {
      // This page's own access was what the user withdrew: its token died with the record.
      store.removeItem("token");
      show(false, `You withdrew this page's own access to your account, so you are signed out.`);
      return;
    }
    await list(cfg, token);
    $("status").textContent = `Consent withdrawn from ${record.applicationName}.`;
  } catch (error) {
    report(error);
  }
}

async function signOut(cfg, token) {
  await fetch(`${cfg.issuer}/revoke`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, client_id: cfg.clientId }),
  }).catch(() => undefined);
  store.removeItem("token");
  show(false, "You are signed out.");
}

function show(signedIn, status) {
  $("signed-in").hidden = !signedIn;
  $("signed-out").hidden = signedIn;
  $("status").textContent = status;
}

function report(error) {
  if (error.signedOut) show(false, error.message);
  $("problem").textContent = error.message;
  $("problem").hidden = false;
}

async function main() {
  let cfg;
  try {
    cfg = config();
    $("sign-in").addEventListener("click", () => signIn(cfg).catch(report));
    const query = new URLSearchParams(window.location.search);
    if (query.get("code") || query.get("error")) await finishSignIn(cfg, query);
    const token = store.getItem("token");
    if (!token) return show(false, "You are not signed in.");
    $("sign-out").addEventListener("click", () => signOut(cfg, token));
    show(true, "Loading your consents…");
    await list(cfg, token);
  } catch (error) {
    report(error);
  }
}

main();
