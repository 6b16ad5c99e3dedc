//! Content negotiation of the audit list (RFC 9110 §12.5.1): a JSON page, NDJSON or CSV.

use mime::Mime;

use super::ExportFormat;
use crate::error::{ApiError, ErrorCode};

/// What the audit list answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::api::consents) enum Representation {
    /// A page of JSON (the default).
    Page,
    /// Every matching record, in this format.
    Export(ExportFormat),
}

/// The media types offered, in the server's order of preference (which breaks ties of `q`).
const OFFERED: [(&str, &str, Representation); 3] = [
    ("application", "json", Representation::Page),
    ("application", "x-ndjson", Representation::Export(ExportFormat::Ndjson)),
    ("text", "csv", Representation::Export(ExportFormat::Csv)),
];

/// A media range of `Accept` and its weight in thousandths.
struct Range {
    mime: Mime,
    weight: u16,
}

/// The ranges of an `Accept` value; a range that does not parse, or whose `q` is not a number from
/// 0 to 1, is left out.
fn ranges(accept: &str) -> Vec<Range> {
    accept
        .split(',')
        .filter_map(|item| {
            let mime: Mime = item.trim().parse().ok()?;
            let weight = match mime.get_param("q") {
                None => 1000,
                Some(q) => {
                    let q: f64 = q.as_str().parse().ok()?;
                    (0.0..=1.0).contains(&q).then(|| (q * 1000.0).round() as u16)?
                }
            };
            Some(Range { mime, weight })
        })
        .collect()
}

/// How specifically `range` names `kind/subtype` (2 exactly, 1 as `kind/*`, 0 as `*/*`), if it does.
fn specificity(range: &Mime, kind: &str, subtype: &str) -> Option<u8> {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match (range.type_().as_str(), range.subtype().as_str()) {
        ("*", "*") => Some(0),
        (t, "*") if same(t, kind) => Some(1),
        (t, s) if same(t, kind) && same(s, subtype) => Some(2),
        _ => None,
    }
}

/// Picks the representation `accept` weighs most, each weighed by its most specific range; no
/// header, or none that parses, means the JSON page.
pub(in crate::api::consents) fn negotiate(accept: &str) -> Result<Representation, ApiError> {
    let ranges = ranges(accept);
    if ranges.is_empty() {
        return Ok(Representation::Page);
    }
    let mut best: Option<(u16, Representation)> = None;
    for (kind, subtype, representation) in OFFERED {
        let weight = ranges
            .iter()
            .filter_map(|range| specificity(&range.mime, kind, subtype).map(|s| (s, range.weight)))
            .max_by_key(|(specific, _)| *specific)
            .map_or(0, |(_, weight)| weight);
        if weight > 0 && best.is_none_or(|(most, _)| weight > most) {
            best = Some((weight, representation));
        }
    }
    best.map(|(_, representation)| representation).ok_or_else(|| {
        ApiError::new(ErrorCode::NotAcceptable).with_detail(
            "INVALID_VALUE",
            Some("Accept"),
            "This list is answered as application/json, application/x-ndjson or text/csv.",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picked(accept: &str) -> Option<Representation> {
        negotiate(accept).ok()
    }

    const NDJSON: Option<Representation> = Some(Representation::Export(ExportFormat::Ndjson));
    const CSV: Option<Representation> = Some(Representation::Export(ExportFormat::Csv));
    const PAGE: Option<Representation> = Some(Representation::Page);

    #[test]
    fn json_is_the_default_and_wins_ties() {
        assert_eq!(picked(""), PAGE);
        assert_eq!(picked("*/*"), PAGE);
        assert_eq!(picked("application/json"), PAGE);
        assert_eq!(picked("application/*"), PAGE);
        assert_eq!(picked("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), PAGE);
        assert_eq!(picked("text/csv, application/json"), PAGE);
    }

    #[test]
    fn the_export_types_are_picked_by_name_and_weight() {
        assert_eq!(picked("application/x-ndjson"), NDJSON);
        assert_eq!(picked("Application/X-NDJSON"), NDJSON);
        assert_eq!(picked("text/csv"), CSV);
        assert_eq!(picked("text/*"), CSV);
        assert_eq!(picked("text/csv; charset=utf-8"), CSV);
        assert_eq!(picked("application/json;q=0.5, text/csv"), CSV);
        assert_eq!(picked("text/csv;q=0.5, application/x-ndjson;q=0.9"), NDJSON);
        // The most specific range decides: JSON is excluded, so `*/*` falls to the next offer.
        assert_eq!(picked("application/json;q=0, */*"), NDJSON);
    }

    #[test]
    fn nothing_acceptable_is_a_406_and_garbage_is_ignored() {
        let error = negotiate("application/xml").expect_err("406");
        assert_eq!(error.status().as_u16(), 406);
        assert_eq!(picked("text/csv;q=0, application/json;q=0, application/x-ndjson;q=0"), None);
        assert_eq!(picked("application/xml, not a media type"), None);
        assert_eq!(picked("not a media type"), PAGE);
        assert_eq!(picked("text/csv;q=2"), PAGE);
    }
}
