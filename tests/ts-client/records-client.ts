// A client of the records API generated from Assent's checked-in openapi.yaml: openapi-typescript
// turns the spec into `paths`, and openapi-fetch calls the server through them, so every request
// and answer below is typed by the spec and `tsc --strict` fails when the spec loses a field this
// script uses. It records consents in the vendor media type, pages through the user's list by its
// `next` links, revokes through a record's `consent.revoke` link and reads an error body. The
// script exits non-zero on the first surprise and prints a JSON summary on its last line.
// tests/api/ts_client.rs sets the environment.

import createClient from "openapi-fetch";
import type { components, paths } from "./generated/assent.js";

type ConsentAcceptIn = components["schemas"]["ConsentAcceptIn"];
type ConsentOut = components["schemas"]["ConsentOut"];
type ErrorBody = components["schemas"]["ErrorBody"];

const ACCEPT = "application/vnd.pingidentity.consent.accept+json";
const REVOKE = "application/vnd.pingidentity.consent.revoke+json";
const LIST = "/v1/environments/{envId}/users/{userId}/oauthConsents";
const ONE = "/v1/environments/{envId}/users/{userId}/oauthConsents/{consentId}";
const PAGE_SIZE = 2;

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const base = setting("ASSENT_BASE");
const envId = setting("ENV_ID");
const userId = setting("USER_ID");
const appId = setting("APP_ID");

const client = createClient<paths>({
  baseUrl: base,
  headers: { Authorization: `Bearer ${setting("WORKER_TOKEN")}` },
});

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function same(actual: unknown, expected: unknown, what: string): void {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  check(a === e, `${what}: expected ${e}, got ${a}`);
}

/** The names of the `{parameters}` of a path template of the spec. */
type ParamNames<T extends string> = T extends `${string}{${infer Name}}${infer Rest}` ? Name | ParamNames<Rest> : never;

/**
 * The path parameters of `href`, a link the server answered, read against a path of the spec;
 * throws unless the link is exactly that path on this server (no query).
 */
function linkParams<P extends keyof paths & string>(template: P, href: string): Record<ParamNames<P>, string> {
  const url = new URL(href);
  check(url.origin === new URL(base).origin, `${href} leaves the server ${base}`);
  const names: string[] = [];
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{([^}]+)\}/g, (_, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  const match = new RegExp(`^${pattern}$`).exec(url.pathname);
  check(match !== null, `${href} is not a link to ${template}`);
  const params: Record<string, string> = {};
  names.forEach((name, i) => {
    params[name] = decodeURIComponent(match[i + 1] ?? "");
  });
  return params as Record<ParamNames<P>, string>;
}

/** Records one consent, sent in the vendor media type, and checks the answer against the request. */
async function record(body: ConsentAcceptIn): Promise<ConsentOut> {
  const { data, error, response } = await client.POST(LIST, {
    params: { path: { envId, userId } },
    headers: { "Content-Type": ACCEPT },
    body,
  });
  check(data !== undefined, `record: ${response.status} ${JSON.stringify(error)}`);
  same(response.status, 201, "record status");
  same(response.headers.get("Location"), data._links.self.href, "Location is the record's self link");
  same(linkParams(ONE, data._links.self.href), { envId, userId, consentId: data.id }, "self link");
  same([data.environment.id, data.user.id], [envId, userId], "record environment and user");
  same(data.scope, body.scope, "recorded scopes");
  same(data.status, body.status, "recorded status");
  same(data.source, "API", "record source");
  if (body.application?.id !== undefined) same(data.application.id, body.application.id, "application id");
  if (body.application?.name !== undefined) same(data.applicationName, body.application.name, "application name");
  return data;
}

const bodies: ConsentAcceptIn[] = [
  { application: { id: appId }, scope: ["openid", "profile"], status: "ACCEPTED" },
  { application: { name: "Newsletter", appType: "EXTERNAL" }, scope: ["email"], status: "DECLINED" },
  { application: { id: appId }, scope: ["openid", "email"], status: "ACCEPTED" },
  { application: { name: "Newsletter", appType: "EXTERNAL" }, scope: ["email"], status: "ACCEPTED" },
  { application: { id: appId }, scope: ["openid"], status: "ACCEPTED" },
];
const recorded: ConsentOut[] = [];
for (const body of bodies) recorded.push(await record(body));
const declined = recorded[1];
check(declined !== undefined, "the declined record");
check(declined._links["consent.revoke"] === undefined, "a declined record has no consent.revoke link");

// Paging: the first page by the typed query, the others by following `next` verbatim.
const first = await client.GET(LIST, { params: { path: { envId, userId }, query: { limit: PAGE_SIZE } } });
check(first.data !== undefined, `list: ${first.response.status} ${JSON.stringify(first.error)}`);
let page = first.data;
const listed: string[] = [];
const sizes: number[] = [];
for (;;) {
  const records = page._embedded.oauthConsents;
  same(page.size, records.length, "size is the records in the page");
  check(page.size <= PAGE_SIZE, `a page of ${page.size} records exceeds the limit ${PAGE_SIZE}`);
  listed.push(...records.map((r) => r.id));
  sizes.push(page.size);
  const next = page._links.next?.href;
  if (next === undefined) break;
  same(linkParams(LIST, next), { envId, userId }, "next link target");
  const search = new URL(next).search;
  const followed = await client.GET(LIST, { params: { path: linkParams(LIST, next) }, querySerializer: () => search });
  check(followed.data !== undefined, `next page: ${followed.response.status} ${JSON.stringify(followed.error)}`);
  same(followed.response.url, next, "the request went to the next link");
  page = followed.data;
}
same(listed, recorded.map((r) => r.id).reverse(), "listed ids (newest first)");

// Revoking through the link the record carries, in the revoke media type.
const accepted = recorded[0];
check(accepted !== undefined, "the first record");
const revokeHref = accepted._links["consent.revoke"]?.href;
check(revokeHref !== undefined, "an accepted record has a consent.revoke link");
const revoked = await client.PATCH(ONE, {
  params: { path: linkParams(ONE, revokeHref) },
  headers: { "Content-Type": REVOKE },
  body: { status: "REVOKED" },
});
check(revoked.data !== undefined, `revoke: ${revoked.response.status} ${JSON.stringify(revoked.error)}`);
same(revoked.response.url, revokeHref, "the revocation went to the consent.revoke link");
same(revoked.response.status, 200, "revoke status");
same([revoked.data.id, revoked.data.status], [accepted.id, "REVOKED"], "revoked record");
same(revoked.data.consentedAt, accepted.consentedAt, "consentedAt survives revocation");
check(revoked.data._links["consent.revoke"] === undefined, "a revoked record has no consent.revoke link");
const reread = await client.GET(ONE, { params: { path: { envId, userId, consentId: accepted.id } } });
same(reread.data?.status, "REVOKED", "the record reads as revoked");

// An error body, typed by the spec: a consent that would expire before it was given.
const refused = await client.POST(LIST, {
  params: { path: { envId, userId } },
  headers: { "Content-Type": ACCEPT },
  body: { application: { id: appId }, scope: ["openid"], status: "ACCEPTED", expiresAt: "2001-01-01T00:00:00Z" },
});
check(refused.error !== undefined, `a past expiresAt was recorded: ${JSON.stringify(refused.data)}`);
const error: ErrorBody = refused.error;
same(refused.response.status, 400, "error status");
check(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(error.id), `error id ${error.id}`);
check(error.message.length > 0, "the error has a message");
const detail = error.details.find((d) => d.target === "expiresAt");
check(detail !== undefined, `no detail targets expiresAt: ${JSON.stringify(error.details)}`);
check(detail.message.length > 0, "the detail has a message");

console.log(
  JSON.stringify({
    ok: true,
    recorded: recorded.map((r) => r.id),
    listed,
    sizes,
    revoked: revoked.data.id,
    error: { status: refused.response.status, code: error.code, detail: detail.code, target: detail.target },
  }),
);
