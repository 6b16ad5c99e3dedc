//! `…/oauthConsents/{consentId}/receipt`: a consent record as a signed consent receipt.

use poem::web::Data;
use poem::{IntoResponse, Response};
use poem_openapi::param::Path;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, OpenApi};

use super::security::BearerToken;
use super::{ApiTags, resource_id};
use crate::auth::principal::Permission;
use crate::domain::ids::{ConsentId, EnvironmentId, UserId};
use crate::domain::proof::receipt::issue_receipt;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// A compact JWS, served as `application/jwt`.
pub struct SignedReceipt(String);

impl IntoResponse for SignedReceipt {
    fn into_response(self) -> Response {
        Response::builder().content_type("application/jwt").header("Cache-Control", "no-store").body(self.0)
    }
}

impl ApiResponse for SignedReceipt {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The receipt: a compact JWS (ES256; header `typ` `consent-receipt+jwt`, `kid` one of \
                              the environment's keys at `/{envId}/as/jwks`). Its claims follow the Kantara \
                              Consent Receipt v1.1 (`version`, `jti` as the receipt id, `piiControllers`, \
                              `policyUrl`, `piiPrincipalId`, `collectionMethod`, `consentTimestamp`, `services` \
                              with one purpose per scope and the exact text shown with its version) and add \
                              `receiptVersion`, `recordId`, `status`, `expiresAt`, `revokedAt`, `revokedBy` and \
                              `ledger` (the record's events in the environment's hash chain: sequence, type, hash).",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "application/jwt",
                    schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        ErrorBody::register(registry);
    }
}

/// Consent receipts.
pub struct ReceiptsApi;

#[OpenApi(tag = "ApiTags::Proof")]
impl ReceiptsApi {
    /// Get a consent receipt
    ///
    /// The record, signed by the environment, for the user or anyone they show it to: it verifies
    /// with any JOSE library and the environment's public JWKS alone. Each request issues a receipt
    /// with a new id and the record's status at that moment. **Permissions:** `p1:read:oauthConsents`
    /// (or `p1:admin`) on a worker token, or the user's own token with `p1:read:oauthConsents`.
    #[oai(
        path = "/v1/environments/:envId/users/:userId/oauthConsents/:consentId/receipt",
        method = "get",
        operation_id = "consents.receipt"
    )]
    async fn receipt(
        &self,
        state: Data<&AppState>,
        auth: BearerToken,
        #[oai(name = "envId")] env_id: Path<String>,
        #[oai(name = "userId")] user_id: Path<String>,
        #[oai(name = "consentId")] consent_id: Path<String>,
    ) -> Result<SignedReceipt, ApiError> {
        let env = resource_id(&env_id, EnvironmentId::parse)?;
        let user = resource_id(&user_id, UserId::parse)?;
        auth.0.require_for_user(env, user, Permission::ReadConsents)?;
        let id = resource_id(&consent_id, ConsentId::parse)?;
        Ok(SignedReceipt(issue_receipt(&state.store, &state.tokens, env, user, id).await?))
    }
}
