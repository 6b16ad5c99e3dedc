//! JSON request bodies parsed with serde so every error names the field it is about.
//!
//! poem-openapi's own `Json` reports "expected string" without the field; API users need `details[].target`.

use std::marker::PhantomData;

use poem::{Request, RequestBody};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::de::DeserializeOwned;

use crate::domain::error::{FieldError, FieldErrorKind};
use crate::error::{ApiError, ErrorCode};

/// A media type a body may be sent with.
pub trait MediaType: Send + Sync + 'static {
    /// The type's essence, e.g. `application/json`; parameters such as `charset` are ignored.
    const ESSENCE: &'static str;
}

/// `application/json`.
pub struct PlainJson;

impl MediaType for PlainJson {
    const ESSENCE: &'static str = "application/json";
}

/// A JSON body of media type `M`, deserialised into `T`.
pub struct JsonBody<T, M: MediaType = PlainJson>(pub T, PhantomData<M>);

impl<T, M: MediaType> JsonBody<T, M> {
    /// The parsed value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: Type, M: MediaType> Payload for JsonBody<T, M> {
    const CONTENT_TYPE: &'static str = M::ESSENCE;

    fn check_content_type(content_type: &str) -> bool {
        matches!(content_type.parse::<mime::Mime>(), Ok(m) if m.essence_str().eq_ignore_ascii_case(M::ESSENCE))
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned, M: MediaType> ParsePayload for JsonBody<T, M> {
    const IS_REQUIRED: bool = true;

    async fn from_request(_request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = body.take()?.into_bytes().await?;
        parse_json(&bytes).map(|value| Self(value, PhantomData)).map_err(poem::Error::from)
    }
}

poem_openapi::impl_apirequest_for_payload!(JsonBody<T, M>, T: Type + DeserializeOwned, M: MediaType);

/// Parses `bytes` as `T`, turning serde's complaint into a detail that names the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(ErrorCode::InvalidRequest).with_detail(
            "REQUIRED_VALUE",
            None,
            "A JSON request body is required.",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        // A wrong type can be met before a syntax error further on (`[1,2`): malformed JSON is reported as such first.
        match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Err(syntax) => ApiError::new(ErrorCode::InvalidRequest).with_detail(
                "INVALID_VALUE",
                None,
                format!("Malformed JSON: {syntax}."),
            ),
            Ok(_) => describe(error),
        }
    })?;
    deserializer.end().map_err(|e| {
        ApiError::new(ErrorCode::InvalidRequest).with_detail("INVALID_VALUE", None, format!("Malformed JSON: {e}."))
    })?;
    Ok(value)
}

fn describe(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    let message = inner.to_string();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::new(ErrorCode::InvalidRequest).with_detail(
            "INVALID_VALUE",
            None,
            format!("Malformed JSON: {message}."),
        );
    }
    // serde names a missing field only in its message: "missing field `username` at line 1 column 2".
    if let Some(field) = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()) {
        let target = if path == "." { field.to_owned() } else { format!("{path}.{field}") };
        return ApiError::new(ErrorCode::InvalidData).with_detail(
            "REQUIRED_VALUE",
            Some(&target),
            format!("'{target}' is required."),
        );
    }
    let target = if path == "." { None } else { Some(path.as_str()) };
    let reason = message.split(" at line ").next().unwrap_or(&message).to_owned();
    let text = match target {
        Some(t) => format!("'{t}': {reason}."),
        None => format!("{reason}."),
    };
    ApiError::new(ErrorCode::InvalidData).with_detail("INVALID_VALUE", target, text)
}

/// A JSON body of media type `M` read leniently into `T`: every unknown field and every value of
/// the wrong type is reported (and left out of `T`), not just the first, so that the domain's own
/// checks can add theirs and the client learns everything wrong with its body at once.
pub struct LenientJsonBody<T, M: MediaType = PlainJson> {
    /// The body, with what could not be read left out.
    pub value: T,
    /// What could not be read.
    pub problems: Vec<FieldError>,
    media: PhantomData<M>,
}

impl<T: Type, M: MediaType> Payload for LenientJsonBody<T, M> {
    const CONTENT_TYPE: &'static str = M::ESSENCE;

    fn check_content_type(content_type: &str) -> bool {
        JsonBody::<T, M>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned, M: MediaType> ParsePayload for LenientJsonBody<T, M> {
    const IS_REQUIRED: bool = true;

    async fn from_request(_request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = body.take()?.into_bytes().await?;
        let (value, problems) = parse_json_lenient(&bytes)?;
        Ok(Self { value, problems, media: PhantomData })
    }
}

poem_openapi::impl_apirequest_for_payload!(LenientJsonBody<T, M>, T: Type + DeserializeOwned, M: MediaType);

/// At most this many problems are collected from one body; past it, reading stops.
const MAX_BODY_PROBLEMS: usize = 32;

/// Parses `bytes` as `T`, collecting every unknown field and wrongly typed value as a problem and
/// leaving it out; `T`'s fields must all be optional (`Option`, [`super::types::Required`]) for
/// "left out" to parse. Malformed JSON is refused outright.
pub fn parse_json_lenient<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, Vec<FieldError>), ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(ErrorCode::InvalidRequest).with_detail(
            "REQUIRED_VALUE",
            None,
            "A JSON request body is required.",
        ));
    }
    let mut document: serde_json::Value = serde_json::from_slice(bytes).map_err(|syntax| {
        ApiError::new(ErrorCode::InvalidRequest).with_detail(
            "INVALID_VALUE",
            None,
            format!("Malformed JSON: {syntax}."),
        )
    })?;
    let mut problems: Vec<FieldError> = Vec::new();
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(&document) {
            Ok(value) => return Ok((value, problems)),
            Err(error) => error,
        };
        let segments: Vec<serde_path_to_error::Segment> = error.path().iter().cloned().collect();
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let problem = lenient_problem(&path, &message);
        let target = problem.target.clone();
        let repeated = problems.iter().any(|p| p.target == target);
        if problems.len() >= MAX_BODY_PROBLEMS || repeated || matches!(problem.kind, FieldErrorKind::Required) {
            // Nothing more can be left out: answer with what was found.
            if !repeated {
                problems.push(problem);
            }
            return Err(problems_error(problems));
        }
        // The path ends at the offending member (an unknown field included): leave it out.
        let removed = remove_at(&mut document, &segments);
        problems.push(problem);
        if !removed {
            return Err(problems_error(problems));
        }
    }
}

/// The problems of a body no value could be read from.
fn problems_error(problems: Vec<FieldError>) -> ApiError {
    ApiError::from(crate::domain::error::DomainError::Invalid(problems))
}

/// A serde complaint about the value at `path` as a field problem.
fn lenient_problem(path: &str, message: &str) -> FieldError {
    if message.starts_with("unknown field `") {
        // serde_path_to_error's path already ends at the unknown field.
        return FieldError::invalid(
            path.to_owned(),
            format!("'{path}' is not a field of this resource, or is one the server sets."),
        );
    }
    if let Some(field) = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()) {
        return FieldError::required(if path == "." { field.to_owned() } else { format!("{path}.{field}") });
    }
    let reason = message.split(" at line ").next().unwrap_or(message);
    let target = if path == "." { String::new() } else { path.to_owned() };
    FieldError::invalid(target.clone(), format!("'{target}': {reason}."))
}

/// Removes the value at `segments` from `document`; false when there is nothing there to remove
/// (the complaint cannot be got round).
fn remove_at(document: &mut serde_json::Value, segments: &[serde_path_to_error::Segment]) -> bool {
    use serde_path_to_error::Segment;
    let mut node = document;
    let Some((last, parent_path)) = segments.split_last() else {
        return false;
    };
    for segment in parent_path {
        node = match (segment, node) {
            (Segment::Map { key }, serde_json::Value::Object(map)) => match map.get_mut(key) {
                Some(child) => child,
                None => return false,
            },
            (Segment::Seq { index }, serde_json::Value::Array(items)) => match items.get_mut(*index) {
                Some(child) => child,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, node) {
        (Segment::Map { key }, serde_json::Value::Object(map)) => map.remove(key).is_some(),
        // One bad element spoils its list: the list is left out whole (and reported once, by its element).
        (Segment::Seq { .. }, node @ serde_json::Value::Array(_)) => {
            *node = serde_json::Value::Null;
            true
        }
        _ => false,
    }
}

/// A JSON response serialised straight from `T` with serde, skipping poem-openapi's intermediate
/// `serde_json::Value` tree (a measurable cost on list pages). `T`'s serde names must match its
/// OpenAPI schema; the unit tests of each wire type check that the two agree.
pub struct JsonOut<T>(pub T);

impl<T: Type> Payload for JsonOut<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: serde::Serialize + Send> poem::IntoResponse for JsonOut<T> {
    fn into_response(self) -> poem::Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => poem::Response::builder().content_type(Self::CONTENT_TYPE_STR).body(body),
            Err(error) => ApiError::unexpected(format!("serialising a response: {error}")).into_response(),
        }
    }
}

impl<T> JsonOut<T> {
    const CONTENT_TYPE_STR: &'static str = "application/json; charset=utf-8";
}

impl<T: Type + serde::Serialize + Send> poem_openapi::ApiResponse for JsonOut<T> {
    fn meta() -> poem_openapi::registry::MetaResponses {
        poem_openapi::registry::MetaResponses {
            responses: vec![poem_openapi::registry::MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![poem_openapi::registry::MetaMediaType {
                    content_type: <Self as Payload>::CONTENT_TYPE,
                    schema: T::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Input {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        given: String,
    }

    fn detail(err: &ApiError) -> (String, Option<String>) {
        let d = &err.body().details[0];
        (d.code.clone(), d.target.clone())
    }

    #[test]
    fn missing_field_names_the_target() {
        let err = parse_json::<Input>(br#"{}"#).unwrap_err();
        assert_eq!(detail(&err), ("REQUIRED_VALUE".into(), Some("name".into())));
        let err = parse_json::<Input>(br#"{"name":"a","inner":{}}"#).unwrap_err();
        assert_eq!(detail(&err), ("REQUIRED_VALUE".into(), Some("inner.given".into())));
    }

    #[test]
    fn wrong_type_names_the_target() {
        let err = parse_json::<Input>(br#"{"name":5}"#).unwrap_err();
        assert_eq!(detail(&err), ("INVALID_VALUE".into(), Some("name".into())));
        assert_eq!(err.body().code, "INVALID_DATA");
    }

    #[test]
    fn malformed_json_is_an_invalid_request() {
        let err = parse_json::<Input>(br#"{"name":"#).unwrap_err();
        assert_eq!(err.body().code, "INVALID_REQUEST");
        let err = parse_json::<Input>(b"  ").unwrap_err();
        assert_eq!(err.body().code, "INVALID_REQUEST");
        let err = parse_json::<Input>(br#"{"name":"a"} x"#).unwrap_err();
        assert_eq!(err.body().code, "INVALID_REQUEST");
        // A type error before the syntax error does not hide the syntax error.
        let err = parse_json::<Input>(br#"[1,2"#).expect_err("truncated array");
        assert_eq!(err.body().code, "INVALID_REQUEST");
        let err = parse_json::<Input>(br#"{"name":5,"#).expect_err("truncated object");
        assert_eq!(err.body().code, "INVALID_REQUEST");
    }
}
