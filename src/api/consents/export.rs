//! The audit list as a download: with `Accept: application/x-ndjson` or `text/csv`, every record the
//! filter matches, streamed chunk by chunk as the ledger is read (constant memory at any size).
//!
//! What a client sees when reading fails after the `200` has gone out (the status cannot change):
//! an NDJSON export ends with one line `{"error": {id, code, message}}` in place of the rest; a CSV
//! export is cut off without the end of its chunked body, which HTTP clients report as an
//! incomplete transfer. Either way the error id is in the server's log.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures_util::stream;
use poem::http::header::{ACCEPT, CONTENT_DISPOSITION};
use poem::{Body, IntoResponse, Request, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef};
use poem_openapi::types::Type;

use super::{ConsentEmbedded, ConsentOut, ConsentsPage, LinkRights, ListParams, embedded, wants_applications};
use crate::api::json::JsonOut;
use crate::domain::consents::{self, Consent, ConsentExport};
use crate::domain::ids::EnvironmentId;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;

mod csv_rows;
mod negotiate;

pub(super) use negotiate::Representation;

/// A download of the audit list in one of its export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ExportFormat {
    /// One JSON record per line, each exactly as the list's items.
    Ndjson,
    /// RFC 4180 CSV with a header row.
    Csv,
}

impl ExportFormat {
    fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Ndjson => "application/x-ndjson",
            ExportFormat::Csv => "text/csv; charset=utf-8; header=present",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            ExportFormat::Ndjson => "ndjson",
            ExportFormat::Csv => "csv",
        }
    }
}

/// The answer of the audit list: a page of JSON, or an export streaming.
pub enum AuditAnswer {
    /// A page of records (`application/json`).
    Page(JsonOut<ConsentsPage>),
    /// Every matching record, in the format asked for.
    Export(Export),
}

/// An export on its way: its format, file name and the body that produces it.
pub struct Export {
    format: ExportFormat,
    filename: String,
    body: Body,
}

impl IntoResponse for AuditAnswer {
    fn into_response(self) -> Response {
        match self {
            AuditAnswer::Page(page) => page.into_response(),
            AuditAnswer::Export(export) => Response::builder()
                .content_type(export.format.content_type())
                .header(CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", export.filename))
                .body(export.body),
        }
    }
}

/// Documents the three representations of `200` and the `406`.
impl ApiResponse for AuditAnswer {
    fn meta() -> MetaResponses {
        let error = MetaMediaType { content_type: "application/json", schema: ErrorBody::schema_ref() };
        MetaResponses {
            responses: vec![
                MetaResponse {
                    description: "A page of records (`application/json`, the default); with `Accept: \
                                  application/x-ndjson` one record per line, with `Accept: text/csv` one row per \
                                  record: every record the filter matches, streamed.",
                    status: Some(200),
                    status_range: None,
                    content: vec![
                        MetaMediaType {
                            content_type: "application/json; charset=utf-8",
                            schema: ConsentsPage::schema_ref(),
                        },
                        MetaMediaType { content_type: "application/x-ndjson", schema: ConsentOut::schema_ref() },
                        MetaMediaType {
                            content_type: "text/csv",
                            schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
                        },
                    ],
                    headers: vec![MetaHeader {
                        name: "Content-Disposition".into(),
                        description: Some("Exports only: `attachment` with a file name.".into()),
                        required: false,
                        deprecated: false,
                        schema: String::schema_ref(),
                    }],
                },
                MetaResponse {
                    description: "`INVALID_REQUEST`: none of the media types in `Accept` can be produced.",
                    status: Some(406),
                    status_range: None,
                    content: vec![error],
                    headers: vec![],
                },
            ],
        }
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        ConsentsPage::register(registry);
        ConsentOut::register(registry);
        ErrorBody::register(registry);
    }
}

/// What the request's `Accept` asks for; see [`negotiate`].
pub(super) fn representation(request: &Request) -> Result<Representation, ApiError> {
    let accept: Vec<&str> = request.headers().get_all(ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect();
    negotiate::negotiate(&accept.join(","))
}

fn refuse_paging(name: &str, given: bool) -> Result<(), ApiError> {
    if !given {
        return Ok(());
    }
    Err(ApiError::new(ErrorCode::InvalidRequest).with_detail(
        "INVALID_PARAMETER",
        Some(name),
        format!("'{name}' does not apply to an export: it holds every record the filter matches."),
    ))
}

/// Starts an export of the environment's records: checks the parameters and reads the first chunk
/// before answering, so those errors are ordinary error responses.
pub(super) async fn export(
    state: &AppState,
    rights: LinkRights,
    env: EnvironmentId,
    format: ExportFormat,
    params: ListParams,
) -> Result<AuditAnswer, ApiError> {
    refuse_paging("limit", params.limit.is_some())?;
    refuse_paging("cursor", params.cursor.is_some())?;
    let expand = wants_applications(params.expand.as_deref())?;
    if expand && format == ExportFormat::Csv {
        return Err(ApiError::new(ErrorCode::InvalidRequest).with_detail(
            "INVALID_PARAMETER",
            Some("expand"),
            "A CSV export cannot embed applications; its rows carry the application's id, name and type.",
        ));
    }
    let mut export = ConsentExport::start(&state.store, env, params.filter.as_deref())?;
    let mut encoder = Encoder {
        state: state.clone(),
        env,
        env_url: state.url(&format!("/v1/environments/{env}")),
        rights,
        format,
        expand,
        at: export.at(),
        header_written: false,
    };
    let first = export.next_chunk().await?.unwrap_or_default();
    let first = encoder.encode(first).await?;
    let filename = format!("oauthConsents-{env}-{}.{}", export.at().format("%Y%m%dT%H%M%SZ"), format.extension());
    let body = Body::from_bytes_stream(stream::unfold(
        Some(Streaming { export, encoder, next: (!first.is_empty()).then_some(Ok(first)) }),
        Streaming::advance,
    ));
    Ok(AuditAnswer::Export(Export { format, filename, body }))
}

/// Turns chunks of records into bytes of the export's format.
struct Encoder {
    state: AppState,
    env: EnvironmentId,
    env_url: String,
    /// The links the exporting caller may follow (the same for every record: it is a worker).
    rights: LinkRights,
    format: ExportFormat,
    expand: bool,
    /// The instant the export reads statuses at.
    at: DateTime<Utc>,
    header_written: bool,
}

impl Encoder {
    async fn encode(&mut self, records: Vec<Consent>) -> Result<Vec<u8>, ApiError> {
        let header = self.format == ExportFormat::Csv && !std::mem::replace(&mut self.header_written, true);
        let apps = if self.expand {
            consents::consent_applications(&self.state.store, self.env, &records).await?
        } else {
            HashMap::new()
        };
        let rows = records.into_iter().map(|record| {
            let embed = self.expand.then(|| ConsentEmbedded { application: embedded(&self.state, &record, &apps) });
            ConsentOut { embedded: embed, ..ConsentOut::from_parts(&self.env_url, self.rights, record, self.at) }
        });
        match self.format {
            ExportFormat::Ndjson => {
                let mut bytes = Vec::new();
                for row in rows {
                    serde_json::to_writer(&mut bytes, &row)
                        .map_err(|e| ApiError::unexpected(format!("serialising an exported record: {e}")))?;
                    bytes.push(b'\n');
                }
                Ok(bytes)
            }
            ExportFormat::Csv => csv_rows::write(header, rows),
        }
    }

    /// The last line of an NDJSON export that failed: the error, as the error format has it.
    fn failure_line(&self, error: &ApiError) -> Option<Vec<u8>> {
        if self.format != ExportFormat::Ndjson {
            return None;
        }
        let body = error.body();
        let line = serde_json::json!({"error": {"id": body.id, "code": body.code, "message": body.message}});
        Some(format!("{line}\n").into_bytes())
    }
}

/// The state of a streaming export between chunks.
struct Streaming {
    export: ConsentExport,
    encoder: Encoder,
    /// Bytes (or the failure) to hand out before reading on.
    next: Option<Result<Vec<u8>, std::io::Error>>,
}

impl Streaming {
    /// Hands out what is waiting, else reads and encodes the next chunk; `None` ends the body.
    async fn advance(state: Option<Self>) -> Option<(Result<Vec<u8>, std::io::Error>, Option<Self>)> {
        let mut this = state?;
        if let Some(next) = this.next.take() {
            let more = next.is_ok();
            return Some((next, more.then_some(this)));
        }
        let chunk = match this.export.next_chunk().await {
            Ok(Some(records)) => this.encoder.encode(records).await,
            Ok(None) => return None,
            Err(error) => Err(ApiError::from(error)),
        };
        match chunk {
            Ok(bytes) => Some((Ok(bytes), Some(this))),
            Err(error) => {
                error.log_after_response();
                match this.encoder.failure_line(&error) {
                    // The error line is the last: the body then ends normally, so it surely reaches the client.
                    Some(line) => Some((Ok(line), None)),
                    None => {
                        Some((Err(std::io::Error::other(format!("export failed: error {}", error.body().id))), None))
                    }
                }
            }
        }
    }
}
