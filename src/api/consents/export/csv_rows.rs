//! CSV rows of the audit export: one row per record, its fields flattened under their JSON names.
//!
//! Quoting is the `csv` crate's (RFC 4180: a field with a comma, quote or line break is quoted and
//! its quotes doubled). Values are written exactly as stored: a spreadsheet may read a cell that
//! starts with `=`, `+`, `-` or `@` as a formula, so open exports as text or import them.

use super::super::{ApplicationType, ConsentOut, SourceOut, StatusOut};
use crate::api::types::Timestamp;
use crate::error::ApiError;

/// The header row: the JSON path of each column.
pub(super) const HEADER: [&str; 25] = [
    "id",
    "consentedAt",
    "updatedAt",
    "expiresAt",
    "status",
    "revokedAt",
    "revokedBy.type",
    "revokedBy.id",
    "source",
    "user.id",
    "application.id",
    "applicationName",
    "applicationType",
    "scope",
    "browser.name",
    "browser.version",
    "operatingSystem.name",
    "operatingSystem.version",
    "device.type",
    "location.remoteIp",
    "location.city",
    "location.state",
    "location.region",
    "location.country",
    "environment.id",
];

/// One record's row; fields in the order of [`HEADER`] (a test checks the two agree).
#[derive(serde::Serialize)]
struct Row<'a> {
    id: &'a str,
    #[serde(rename = "consentedAt")]
    consented_at: &'a Timestamp,
    #[serde(rename = "updatedAt")]
    updated_at: &'a Timestamp,
    #[serde(rename = "expiresAt")]
    expires_at: Option<&'a Timestamp>,
    status: StatusOut,
    #[serde(rename = "revokedAt")]
    revoked_at: Option<&'a Timestamp>,
    #[serde(rename = "revokedBy.type")]
    revoked_by_type: Option<super::super::RevokedByType>,
    #[serde(rename = "revokedBy.id")]
    revoked_by_id: Option<&'a str>,
    source: SourceOut,
    #[serde(rename = "user.id")]
    user_id: &'a str,
    #[serde(rename = "application.id")]
    application_id: &'a str,
    #[serde(rename = "applicationName")]
    application_name: &'a str,
    #[serde(rename = "applicationType")]
    application_type: ApplicationType,
    /// Scopes joined by spaces (a scope never contains one).
    scope: String,
    #[serde(rename = "browser.name")]
    browser_name: Option<&'a str>,
    #[serde(rename = "browser.version")]
    browser_version: Option<&'a str>,
    #[serde(rename = "operatingSystem.name")]
    os_name: Option<&'a str>,
    #[serde(rename = "operatingSystem.version")]
    os_version: Option<&'a str>,
    #[serde(rename = "device.type")]
    device_type: Option<&'a str>,
    #[serde(rename = "location.remoteIp")]
    remote_ip: &'a str,
    #[serde(rename = "location.city")]
    city: Option<&'a str>,
    #[serde(rename = "location.state")]
    state: Option<&'a str>,
    #[serde(rename = "location.region")]
    region: Option<&'a str>,
    #[serde(rename = "location.country")]
    country: Option<&'a str>,
    #[serde(rename = "environment.id")]
    environment_id: &'a str,
}

impl<'a> Row<'a> {
    fn of(record: &'a ConsentOut) -> Self {
        let software = |s: Option<&'a super::super::SoftwareIo>| {
            (s.and_then(|s| s.name.as_deref()), s.and_then(|s| s.version.as_deref()))
        };
        let (browser_name, browser_version) = software(record.browser.as_ref());
        let (os_name, os_version) = software(record.operating_system.as_ref());
        let location = &record.location;
        Self {
            id: &record.id,
            consented_at: &record.consented_at,
            updated_at: &record.updated_at,
            expires_at: record.expires_at.as_ref(),
            status: record.status,
            revoked_at: record.revoked_at.as_ref(),
            revoked_by_type: record.revoked_by.as_ref().map(|by| by.kind),
            revoked_by_id: record.revoked_by.as_ref().and_then(|by| by.id.as_deref()),
            source: record.source,
            user_id: &record.user.id,
            application_id: &record.application.id,
            application_name: &record.application_name,
            application_type: record.application_type,
            scope: record.scope.join(" "),
            browser_name,
            browser_version,
            os_name,
            os_version,
            device_type: record.device.as_ref().and_then(|d| d.device_type.as_deref()),
            remote_ip: &location.remote_ip,
            city: location.city.as_deref(),
            state: location.state.as_deref(),
            region: location.region.as_deref(),
            country: location.country.as_deref(),
            environment_id: &record.environment.id,
        }
    }
}

/// The CSV of `records`, preceded by the header row when `header`.
pub(super) fn write(header: bool, records: impl Iterator<Item = ConsentOut>) -> Result<Vec<u8>, ApiError> {
    let failed = |e: csv::Error| ApiError::unexpected(format!("writing an exported record as CSV: {e}"));
    let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    if header {
        writer.write_record(HEADER).map_err(failed)?;
    }
    for record in records {
        writer.serialize(Row::of(&record)).map_err(failed)?;
    }
    writer.into_inner().map_err(|e| ApiError::unexpected(format!("finishing a CSV chunk: {e}")))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::consents::{ApplicationKind, Consent, ConsentSource, ConsentStatus};
    use crate::domain::ids::{ApplicationId, ConsentId, EnvironmentId, UserId};
    use crate::enrich::Location;

    fn record(name: &str) -> ConsentOut {
        let now = Utc::now();
        let consent = Consent {
            id: ConsentId::new(),
            environment_id: EnvironmentId::new(),
            user_id: UserId::new(),
            application_id: ApplicationId::new(),
            application_name: name.into(),
            application_kind: ApplicationKind::External,
            scopes: vec!["openid".into(), "email".into()],
            status: ConsentStatus::Accepted,
            browser: None,
            operating_system: None,
            device_type: Some("desktop".into()),
            location: Location {
                remote_ip: "2001:db8::1".parse().expect("ip"),
                city: None,
                state: None,
                region: None,
                country: Some("Ireland".into()),
            },
            consented_at: now,
            updated_at: now,
            expires_at: None,
            source: ConsentSource::Api,
            remembered: true,
            revocation: None,
            scope_texts: None,
        };
        ConsentOut::from_parts("http://x/v1/environments/e", super::super::LinkRights::ALL, consent, now)
    }

    #[test]
    fn the_header_names_the_fields_in_their_order() {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.serialize(Row::of(&record("a"))).expect("row");
        let text = String::from_utf8(writer.into_inner().expect("bytes")).expect("utf-8");
        assert_eq!(text.lines().next(), Some(HEADER.join(",").as_str()));
    }

    #[test]
    fn fields_are_quoted_as_rfc_4180_asks_and_read_back_unchanged() {
        let name = "Printer, \"Pro\"\nline two";
        let bytes = write(true, [record(name)].into_iter()).expect("csv");
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("parses");
        assert_eq!(rows.len(), 1);
        let column = |name: &str| HEADER.iter().position(|h| *h == name).expect("a column of the header");
        assert_eq!(&rows[0][column("applicationName")], name);
        assert_eq!(&rows[0][column("status")], "ACCEPTED");
        assert_eq!(&rows[0][column("applicationType")], "EXTERNAL");
        assert_eq!(&rows[0][column("scope")], "openid email");
        assert_eq!(&rows[0][column("expiresAt")], "", "an absent expiry is an empty field");
        assert_eq!(&rows[0][column("revokedAt")], "", "an unrevoked record has no revocation");
        assert!(String::from_utf8_lossy(&bytes).contains("\"Printer, \"\"Pro\"\"\nline two\""));
    }
}
