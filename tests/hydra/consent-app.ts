// A tiny login and consent app written against Ory Hydra's official SDK (@ory/hydra-client), run
// unchanged against Assent. The browser is simulated with fetch and a cookie jar. Every SDK
// response is checked against the SDK's own declared types (required fields and their kinds), and
// the script exits non-zero on the first surprise. tests/api/hydra_sdk.rs sets the environment.

import { Configuration, OAuth2Api } from "@ory/hydra-client";
import type {
  OAuth2ConsentRequest,
  OAuth2ConsentSession,
  OAuth2LoginRequest,
  OAuth2RedirectTo,
} from "@ory/hydra-client";
import { isAxiosError } from "axios";
import { createHash, randomBytes } from "node:crypto";

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const base = setting("ASSENT_BASE");
const envId = setting("ENV_ID");
const clientId = setting("CLIENT_ID");
const clientSecret = setting("CLIENT_SECRET");
const redirectUri = setting("REDIRECT_URI");
const userId = setting("USER_ID");
const loginUrl = setting("LOGIN_URL");
const consentUrl = setting("CONSENT_URL");

// The admin API of one environment: Hydra's paths under /{envId}. The SDK sends no credentials to
// Hydra's admin endpoints by itself, so the worker token goes in through its standard baseOptions.
const hydra = new OAuth2Api(
  new Configuration({
    basePath: `${base}/${envId}`,
    baseOptions: { headers: { Authorization: `Bearer ${setting("WORKER_TOKEN")}` } },
  }),
);

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

type Kind = "string" | "boolean" | "object" | "array";

/** Checks the fields the SDK declares as required (and the optional ones present) have their declared kinds. */
function conforms(name: string, value: unknown, required: Record<string, Kind>, optional: Record<string, Kind> = {}): void {
  check(typeof value === "object" && value !== null, `${name}: not an object: ${JSON.stringify(value)}`);
  const record = value as Record<string, unknown>;
  const kindOf = (v: unknown): Kind | "other" =>
    Array.isArray(v) ? "array" : typeof v === "string" ? "string" : typeof v === "boolean" ? "boolean" : typeof v === "object" && v !== null ? "object" : "other";
  for (const [field, kind] of Object.entries(required)) {
    check(field in record, `${name}.${field} is required by the SDK's types but missing`);
    check(kindOf(record[field]) === kind, `${name}.${field} should be ${kind}: ${JSON.stringify(record[field])}`);
  }
  for (const [field, kind] of Object.entries(optional)) {
    if (record[field] !== undefined) {
      check(kindOf(record[field]) === kind, `${name}.${field} should be ${kind}: ${JSON.stringify(record[field])}`);
    }
  }
}

const client = { client_id: "string", client_name: "string", redirect_uris: "array", grant_types: "array", scope: "string" } as const;

function loginRequest(value: OAuth2LoginRequest): OAuth2LoginRequest {
  conforms("OAuth2LoginRequest", value, { challenge: "string", client: "object", request_url: "string", skip: "boolean", subject: "string" }, {
    requested_scope: "array",
    requested_access_token_audience: "array",
    session_id: "string",
    oidc_context: "object",
  });
  conforms("OAuth2LoginRequest.client", value.client, {}, client);
  return value;
}

function consentRequest(value: OAuth2ConsentRequest): OAuth2ConsentRequest {
  conforms("OAuth2ConsentRequest", value, { challenge: "string" }, {
    client: "object",
    requested_scope: "array",
    requested_access_token_audience: "array",
    subject: "string",
    skip: "boolean",
    request_url: "string",
    login_session_id: "string",
    oidc_context: "object",
    consent_request_id: "string",
  });
  return value;
}

function redirectTo(value: OAuth2RedirectTo): string {
  conforms("OAuth2RedirectTo", value, { redirect_to: "string" });
  return value.redirect_to;
}

function consentSession(value: OAuth2ConsentSession): OAuth2ConsentSession {
  conforms("OAuth2ConsentSession", value, {}, {
    consent_request: "object",
    grant_scope: "array",
    grant_access_token_audience: "array",
    remember: "boolean",
    handled_at: "string",
    session: "object",
  });
  if (value.consent_request) consentRequest(value.consent_request);
  return value;
}

/** The end user's browser: keeps cookies, never follows redirects by itself. */
class Browser {
  private readonly cookies = new Map<string, string>();

  async visit(url: string): Promise<string> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const response = await fetch(url, {
      redirect: "manual",
      headers: {
        cookie,
        "user-agent":
          "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
      },
    });
    for (const header of response.headers.getSetCookie()) {
      const pair = header.split(";")[0] ?? "";
      const at = pair.indexOf("=");
      if (at > 0) this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    const location = response.headers.get("location");
    check(response.status === 302 && location !== null, `expected a redirect from ${url}, got ${response.status}: ${await response.text()}`);
    return location;
  }
}

function query(url: string, name: string): string {
  const value = new URL(url).searchParams.get(name);
  check(value !== null, `${name} missing in ${url}`);
  return value;
}

// PKCE (RFC 7636, S256): the verifier of each authorization, by its state.
const verifiers = new Map<string, string>();

function authorizeUrl(scope: string, state: string): string {
  const verifier = randomBytes(48).toString("base64url");
  verifiers.set(state, verifier);
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const url = new URL(`${base}/${envId}/as/authorize`);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  return url.toString();
}

async function tokenCall(path: string, form: Record<string, string>): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}/${envId}/as/${path}`, {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}` },
    body: new URLSearchParams(form),
  });
  const body = (await response.json()) as Record<string, unknown>;
  check(response.status === 200, `${path}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

async function main(): Promise<void> {
  const browser = new Browser();

  // 1. Login: the browser is sent to the login app, which accepts the user.
  const toLogin = await browser.visit(authorizeUrl("openid email invoices:write", "sdk-state"));
  check(toLogin.startsWith(loginUrl), `login app expected: ${toLogin}`);
  const loginChallenge = query(toLogin, "login_challenge");
  const login = loginRequest((await hydra.getOAuth2LoginRequest({ loginChallenge })).data);
  check(!login.skip && login.client.client_id === clientId, `first login: ${JSON.stringify(login)}`);
  const afterLogin = redirectTo(
    (await hydra.acceptOAuth2LoginRequest({ loginChallenge, acceptOAuth2LoginRequest: { subject: userId, remember: true, remember_for: 3600 } })).data,
  );

  // 2. Consent: the consent app grants part of what was asked, with session claims.
  const toConsent = await browser.visit(afterLogin);
  check(toConsent.startsWith(consentUrl), `consent app expected: ${toConsent}`);
  const consentChallenge = query(toConsent, "consent_challenge");
  const consent = consentRequest((await hydra.getOAuth2ConsentRequest({ consentChallenge })).data);
  check(consent.subject === userId && consent.skip === false, `first consent: ${JSON.stringify(consent)}`);
  check(JSON.stringify(consent.requested_scope) === JSON.stringify(["openid", "email", "invoices:write"]), "requested_scope");
  const afterConsent = redirectTo(
    (
      await hydra.acceptOAuth2ConsentRequest({
        consentChallenge,
        acceptOAuth2ConsentRequest: {
          grant_scope: ["openid", "email"],
          remember: true,
          remember_for: 3600,
          session: { access_token: { team: "sdk" }, id_token: { nickname: "Ada" } },
        },
      })
    ).data,
  );
  const back = await browser.visit(afterConsent);
  check(back.startsWith(redirectUri) && query(back, "state") === "sdk-state", `client redirect expected: ${back}`);
  const tokens = await tokenCall("token", {
    grant_type: "authorization_code",
    code: query(back, "code"),
    redirect_uri: redirectUri,
    code_verifier: verifiers.get("sdk-state") ?? "",
  });
  check(tokens.scope === "openid email", `granted scope: ${JSON.stringify(tokens)}`);
  const accessToken = String(tokens.access_token);
  const active = await tokenCall("introspect", { token: accessToken });
  check(active.active === true && JSON.stringify(active.ext) === JSON.stringify({ team: "sdk" }), `introspection: ${JSON.stringify(active)}`);

  // 3. Again: both apps are told to skip; this time the consent app rejects.
  const loginChallenge2 = query(await browser.visit(authorizeUrl("openid email", "second")), "login_challenge");
  const login2 = loginRequest((await hydra.getOAuth2LoginRequest({ loginChallenge: loginChallenge2 })).data);
  check(login2.skip && login2.subject === userId, `remembered login: ${JSON.stringify(login2)}`);
  const after2 = redirectTo((await hydra.acceptOAuth2LoginRequest({ loginChallenge: loginChallenge2, acceptOAuth2LoginRequest: { subject: login2.subject } })).data);
  const consentChallenge2 = query(await browser.visit(after2), "consent_challenge");
  const consent2 = consentRequest((await hydra.getOAuth2ConsentRequest({ consentChallenge: consentChallenge2 })).data);
  check(consent2.skip === true, `remembered consent: ${JSON.stringify(consent2)}`);
  const rejected = redirectTo(
    (await hydra.rejectOAuth2ConsentRequest({ consentChallenge: consentChallenge2, rejectOAuth2Request: { error: "access_denied", error_description: "Not today." } })).data,
  );
  const denied = await browser.visit(rejected);
  check(query(denied, "error") === "access_denied" && query(denied, "state") === "second", `rejection: ${denied}`);

  // 4. Errors come in Hydra's shape, which the SDK hands over as ErrorOAuth2.
  try {
    await hydra.getOAuth2LoginRequest({ loginChallenge: "no-such-challenge" });
    throw new Error("an unknown challenge was accepted");
  } catch (error) {
    check(isAxiosError(error) && error.response?.status === 404, `404 expected: ${String(error)}`);
    conforms("ErrorOAuth2", error.response?.data, { error: "string", error_description: "string" }, {});
  }

  // 5. Consent sessions are the ledger's remembered records; revoking them ends the tokens.
  const sessions = (await hydra.listOAuth2ConsentSessions({ subject: userId })).data.map(consentSession);
  check(sessions.length === 1 && JSON.stringify(sessions[0]?.grant_scope) === JSON.stringify(["openid", "email"]), `sessions: ${JSON.stringify(sessions)}`);
  await hydra.revokeOAuth2ConsentSessions({ subject: userId, client: clientId });
  check((await hydra.listOAuth2ConsentSessions({ subject: userId })).data.length === 0, "sessions left after revoking");
  const inactive = await tokenCall("introspect", { token: accessToken });
  check(inactive.active === false, `introspection after revoke: ${JSON.stringify(inactive)}`);
  await hydra.revokeOAuth2LoginSessions({ subject: userId });

  console.log(JSON.stringify({ ok: true, grantedScope: tokens.scope, sessionsBeforeRevoke: sessions.length }));
}

main().catch((error: unknown) => {
  const detail = isAxiosError(error) ? `${error.message}: ${JSON.stringify(error.response?.data)}` : String(error);
  console.error(`consent app failed: ${detail}`);
  process.exit(1);
});
