//! A browser stand-in for the authorization-code flow: keeps cookies, follows nothing by itself,
//! reads the hidden fields of the hosted pages and posts their forms like a browser would.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Answer, TestApp};

/// The User-Agent every test browser sends.
pub const USER_AGENT: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// Where the test clients receive their codes (nothing listens there; redirects are not followed).
pub const REDIRECT_URI: &str = "https://client.example.com/cb";

/// The user every flow test signs in as.
pub const USERNAME: &str = "ada";
/// Their password.
pub const PASSWORD: &str = "correct horse battery";

/// A browser with its own cookie jar.
pub struct Browser {
    pub client: reqwest::Client,
    pub issuer: String,
}

/// A web application registered for the flow, and the user who signs in.
pub struct Fixture {
    pub client_id: String,
    pub client_secret: String,
    pub user_id: String,
}

/// A PKCE pair.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Pkce {
        let verifier = format!("verifier-{}-{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Pkce { verifier, challenge }
    }
}

/// Undoes the HTML escaping of attribute values.
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The value of the first `<input … name="{name}" value="…">` in `html`.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(unescape(&html[start..start + end]))
}

/// Every `value` of inputs named `name`, in page order.
pub fn all_values(html: &str, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" value=\"");
    html.match_indices(&marker)
        .filter_map(|(at, _)| {
            let start = at + marker.len();
            html[start..].find('"').map(|end| unescape(&html[start..start + end]))
        })
        .collect()
}

/// The claims of a JWT, unverified (access tokens' signatures are checked against `/as/jwks` in
/// `tokens.rs`; ID tokens use [`TestApp::verified_id_token`]).
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

/// The query parameters of a redirect `Location`.
pub fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location).expect("absolute location").query_pairs().into_owned().collect()
}

/// One query parameter of a redirect `Location`.
pub fn param(location: &str, name: &str) -> Option<String> {
    query_of(location).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

impl TestApp {
    /// A new browser (empty cookie jar) for this environment.
    pub fn browser(&self) -> Browser {
        self.browser_for(&self.env_id)
    }

    /// A new browser for `env_id`.
    pub fn browser_for(&self, env_id: &str) -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .build()
            .expect("browser client");
        Browser { client, issuer: format!("{}/{env_id}/as", self.base) }
    }

    /// Scopes `invoices:read` (FLEXIBLE) and `invoices:write` (REQUIRED), a user with a password, and a
    /// confidential web application that may use them, refresh tokens and the self-service scopes.
    pub async fn flow_fixture(&self, consent_method: &str) -> Fixture {
        for (name, consent) in [("invoices:read", "FLEXIBLE"), ("invoices:write", "REQUIRED")] {
            let body = json!({"name": name, "consent": consent, "description": format!("Use your invoices ({name})")});
            self.post(&self.env_url("/scopes"), body, 201).await;
        }
        let user = self
            .post(
                &self.env_url("/users"),
                json!({"username": USERNAME, "password": PASSWORD, "email": "ada@example.com",
                       "name": {"given": "Ada", "family": "Lovelace"}}),
                201,
            )
            .await;
        let app = self
            .create_app(json!({
                "name": "Invoice Printer",
                "type": "WEB_APP",
                "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"],
                "redirectUris": [REDIRECT_URI],
                "consentMethod": consent_method,
                "scopes": ["openid", "profile", "email", "invoices:read", "invoices:write",
                           "p1:read:oauthConsents", "p1:update:oauthConsents"],
            }))
            .await;
        let client_id = app["id"].as_str().unwrap().to_owned();
        let client_secret = self.app_secret(&client_id).await;
        Fixture { client_id, client_secret, user_id: user["id"].as_str().unwrap().to_owned() }
    }

    /// The claims of an ID token after checking its ES256 signature with the environment's published
    /// key, its issuer, and that its audience is `client_id`.
    pub async fn verified_id_token(&self, id_token: &str, client_id: &str) -> Value {
        let jwks = Answer::of(self.client.get(format!("{}/{}/as/jwks", self.base, self.env_id))).await.json();
        let key = &jwks["keys"][0];
        let decoding =
            jsonwebtoken::DecodingKey::from_ec_components(key["x"].as_str().unwrap(), key["y"].as_str().unwrap())
                .expect("EC key");
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&[client_id]);
        validation.set_issuer(&[format!("{}/{}/as", self.base, self.env_id)]);
        jsonwebtoken::decode::<Value>(id_token, &decoding, &validation).expect("the ID token verifies").claims
    }

    /// Exchanges a code at the token endpoint with HTTP Basic.
    pub async fn exchange_code(&self, fixture: &Fixture, code: &str, verifier: &str) -> Answer {
        self.token_request(
            &self.env_id,
            Some((&fixture.client_id, &fixture.client_secret)),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    /// Uses a refresh token.
    pub async fn refresh(&self, fixture: &Fixture, refresh_token: &str) -> Answer {
        self.token_request(
            &self.env_id,
            Some((&fixture.client_id, &fixture.client_secret)),
            &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)],
        )
        .await
    }

    /// Introspects a token as the fixture's client; answers the JSON.
    pub async fn introspect(&self, fixture: &Fixture, token: &str) -> Value {
        let answer = Answer::of(
            self.client
                .post(format!("{}/{}/as/introspect", self.base, self.env_id))
                .basic_auth(&fixture.client_id, Some(&fixture.client_secret))
                .form(&[("token", token)]),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.json()
    }
}

impl Browser {
    /// `GET /authorize` with the fixture's client and `extra` parameters (which override the defaults).
    pub async fn authorize(&self, client_id: &str, pkce: &Pkce, scope: &str, extra: &[(&str, &str)]) -> Answer {
        let mut params: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", scope),
            ("state", "st&te=1 2"),
            ("code_challenge", &pkce.challenge),
            ("code_challenge_method", "S256"),
            ("nonce", "n-0S6_WzA2Mj"),
        ];
        for (key, value) in extra {
            params.retain(|(k, _)| k != key);
            if !value.is_empty() {
                params.push((key, value));
            }
        }
        Answer::of(self.client.get(format!("{}/authorize", self.issuer)).query(&params)).await
    }

    /// Follows a redirect `Location` (relative to nothing: Assent's are absolute).
    pub async fn follow(&self, answer: &Answer) -> Answer {
        let location =
            answer.header("Location").unwrap_or_else(|| panic!("a redirect: {} {}", answer.status, answer.text));
        Answer::of(self.client.get(location)).await
    }

    /// Submits the login page.
    pub async fn login(&self, page: &Answer, username: &str, password: &str) -> Answer {
        let handle = hidden(&page.text, "authorization").expect("login form");
        let form = [("authorization", handle.as_str()), ("username", username), ("password", password)];
        Answer::of(self.client.post(format!("{}/login", self.issuer)).form(&form)).await
    }

    /// Signs in from a login page and follows back into `/authorize`.
    pub async fn sign_in(&self, login_page: &Answer) -> Answer {
        let done = self.login(login_page, USERNAME, PASSWORD).await;
        assert_eq!(done.status, 303, "login: {}", done.text);
        self.follow(&done).await
    }

    /// Submits the consent page: `decision`, and for flexible scopes only those in `keep` stay ticked.
    pub async fn decide(&self, page: &Answer, decision: &str, keep: Option<&[&str]>) -> Answer {
        let html = &page.text;
        let mut form: Vec<(String, String)> = Vec::new();
        for field in ["csrf_token", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method"] {
            if let Some(value) = hidden(html, field) {
                form.push((field.into(), value));
            }
        }
        let flexible: Vec<String> = html
            .match_indices("type=\"checkbox\" name=\"scope\" value=\"")
            .filter_map(|(at, m)| html[at + m.len()..].split('"').next().map(unescape))
            .collect();
        for scope in all_values(html, "scope") {
            let ticked = !flexible.contains(&scope) || keep.is_none_or(|keep| keep.contains(&scope.as_str()));
            if ticked {
                form.push(("scope".into(), scope));
            }
        }
        form.push(("decision".into(), decision.into()));
        Answer::of(self.client.post(format!("{}/consent", self.issuer)).form(&form)).await
    }
}
