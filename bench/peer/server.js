// The peer of the flows phase of bench/harness.py: node oidc-provider with one confidential client,
// set up as close to Assent's bench application as oidc-provider allows, so both servers do the same
// authorization-code flow (PKCE S256, client_secret_basic, scopes "openid profile", ES256 ID token).
//
//   node server.js PORT          (or PEER_PORT=PORT node server.js); listens on 127.0.0.1
//
// PEER_CLIENT_ID, PEER_CLIENT_SECRET and PEER_REDIRECT_URI name the client (defaults below). The
// harness runs it with NODE_ENV=production and without DEBUG, so nothing is logged per request.
//
// oidc-provider 8.x: the 9.x line requires Node.js 22 or later, and the machine runs Node.js 20.
// Cookies are not signed (8.x's default without `cookies.keys`; 9.x no longer signs them): the
// values are random ids the server looks up, and the bench driver rebuilds them (bench/README.md).
//
// What differs from a production deployment, and why (see bench/README.md):
// - devInteractions (oidc-provider's built-in login and consent pages) stand in for an
//   application's own interaction pages: any login is accepted, no password is checked.
// - Storage is the in-process Map below. oidc-provider's own MemoryAdapter is an LRU of 1,000
//   entries meant for development: under load it evicts the sessions and grants a returning
//   browser needs. A real deployment would use Redis or a database, which costs the node process
//   serialisation and network I/O this adapter does not: it is the cheapest store possible.
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] || process.env.PEER_PORT || 3000);
const issuer = `http://127.0.0.1:${port}`;
const clientId = process.env.PEER_CLIENT_ID || 'bench-flow';
const clientSecret = process.env.PEER_CLIENT_SECRET || 'bench-flow-secret-0123456789abcdef';
const redirectUri = process.env.PEER_REDIRECT_URI || 'http://127.0.0.1:9/cb';

// ---------------------------------------------------------------- storage

const store = new Map(); // key -> { payload, expiresAt (ms) }
const grantMembers = new Map(); // grantId -> Set of keys, for revokeByGrantId

function live(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry;
}

// Expired entries go every 10 s, so memory follows what is live.
setInterval(() => {
  const now = Date.now();
  for (const [key, entry] of store) {
    if (entry.expiresAt <= now) store.delete(key);
  }
  for (const [grantId, keys] of grantMembers) {
    for (const key of keys) if (!store.has(key)) keys.delete(key);
    if (keys.size === 0) grantMembers.delete(grantId);
  }
}, 10_000).unref();

class MapAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
    store.set(key, { payload, expiresAt });
    if (payload.grantId) {
      let keys = grantMembers.get(payload.grantId);
      if (!keys) grantMembers.set(payload.grantId, (keys = new Set()));
      keys.add(key);
    }
    if (payload.uid && this.model === 'Session') {
      store.set(`SessionUid:${payload.uid}`, { payload: id, expiresAt });
    }
    if (payload.userCode) {
      store.set(`UserCode:${payload.userCode}`, { payload: id, expiresAt });
    }
  }

  async find(id) {
    return live(this.key(id))?.payload;
  }

  async findByUid(uid) {
    const id = live(`SessionUid:${uid}`)?.payload;
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = live(`UserCode:${userCode}`)?.payload;
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const entry = live(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of grantMembers.get(grantId) ?? []) store.delete(key);
    grantMembers.delete(grantId);
  }
}

// ---------------------------------------------------------------- provider

// ES256, as Assent signs its tokens; generated per start like the fresh Assent database's keys.
const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
  ],
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  jwks: { keys: [{ ...signing, kid: 'bench-es256', alg: 'ES256', use: 'sig' }] },
  claims: { openid: ['sub'], profile: ['name'] },
  // A fixed account: the login of the dev interaction is its id; nothing is looked up.
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: 'Bench User' };
      },
    };
  },
  // Assent requires PKCE S256 of its applications by default; oidc-provider only supports S256.
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  // SameSite=Lax like Assent's session cookie (and oidc-provider 9's default). 8.x's default for the
  // session cookie, SameSite=None, doubles it with a `.legacy` copy for old browsers.
  cookies: { long: { httpOnly: true, sameSite: 'lax' }, short: { httpOnly: true, sameSite: 'lax' } },
  // Lifetimes as Assent's defaults where it has one (token 1 h, code 60 s, pages 10 min, session 8 h).
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 600,
    Session: 8 * 3600,
    Grant: 14 * 24 * 3600,
  },
});

provider.on('server_error', (ctx, error) => {
  console.error('server_error', error);
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer} (node ${process.version})`);
});
