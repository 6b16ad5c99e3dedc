//! Turns the readable `cities.csv` into the GeoIP2-City `.mmdb` bytes that Assent bundles.
//!
//! The CSV is deliberately simple (no quoting, one network a line) so that a reviewer can read
//! every record; the output is byte-for-byte reproducible so the checked-in database can be
//! compared with a fresh build in tests.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result, bail, ensure};
use ipnet::IpNet;
use mmdb_writer::{IpVersion, Writer};
use serde::Serialize;

/// The header line `cities.csv` must start with; it fixes the column order.
pub const HEADER: &str = "network,city,subdivision,subdivision_iso,country,country_iso,continent,continent_code,latitude,longitude,accuracy_radius,time_zone";

/// `database_type` written to the metadata, so readers treat the file as a GeoIP2 City database.
pub const DATABASE_TYPE: &str = "GeoIP2-City";

/// English description stored in the metadata.
pub const DESCRIPTION: &str =
    "Assent bundled sample: documentation networks only (RFC 5737, RFC 3849), built from cities.csv";

/// Pinned build time (2026-11-01T00:00:00Z): the writer would otherwise stamp "now" and every
/// rebuild would differ. Bump it by hand when the data changes meaningfully.
pub const BUILD_EPOCH_SECS: u64 = 1_793_491_200;

const FIELD_COUNT: usize = 12;

/// A first-level subdivision (state, province, country of the UK…).
#[derive(Clone, Debug, PartialEq)]
pub struct Subdivision {
    /// English name, e.g. "Washington".
    pub name: String,
    /// ISO 3166-2 code without the country prefix, e.g. "WA".
    pub iso_code: String,
}

/// One data line of `cities.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct CityRow {
    /// 1-based line number in the source, for error messages.
    pub line: usize,
    /// The network the record covers (host bits must be zero).
    pub network: IpNet,
    /// English city name, if the record is city-level.
    pub city: Option<String>,
    /// First subdivision, if known.
    pub subdivision: Option<Subdivision>,
    /// English country name.
    pub country: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country_iso: String,
    /// English continent name.
    pub continent: String,
    /// Two-letter continent code as GeoIP2 uses it (NA, EU, AS…).
    pub continent_code: String,
    /// Latitude and longitude in degrees, if known.
    pub coordinates: Option<(f64, f64)>,
    /// Accuracy radius in kilometres; GeoIP2 readers require it to be a u16.
    pub accuracy_radius: Option<u16>,
    /// IANA time zone name, e.g. "America/Los_Angeles".
    pub time_zone: Option<String>,
}

/// Parses `cities.csv`; every error names the offending line.
pub fn parse_cities(text: &str) -> Result<Vec<CityRow>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows: Vec<CityRow> = Vec::new();
    let mut seen_header = false;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        if !seen_header {
            ensure!(trimmed == HEADER, "line {line}: expected the header `{HEADER}`, found `{trimmed}`");
            seen_header = true;
            continue;
        }
        let row = parse_row(line, trimmed).with_context(|| format!("line {line}: `{trimmed}`"))?;
        if let Some(other) = rows.iter().find(|r| r.network.contains(&row.network) || row.network.contains(&r.network))
        {
            // Overlaps would make the result depend on line order (the writer is
            // last-write-wins), so they are rejected instead.
            bail!("line {line}: network {} overlaps {} from line {}", row.network, other.network, other.line);
        }
        rows.push(row);
    }
    ensure!(seen_header, "empty input: expected the header `{HEADER}`");
    ensure!(!rows.is_empty(), "no networks after the header");
    Ok(rows)
}

fn parse_row(line: usize, text: &str) -> Result<CityRow> {
    ensure!(!text.contains('"'), "quoted fields are not supported (fields cannot contain commas)");
    let fields: Vec<&str> = text.split(',').map(str::trim).collect();
    let [
        network,
        city,
        subdivision,
        subdivision_iso,
        country,
        country_iso,
        continent,
        continent_code,
        latitude,
        longitude,
        accuracy_radius,
        time_zone,
    ] = fields[..]
    else {
        bail!("expected {FIELD_COUNT} comma-separated fields, found {}", fields.len());
    };

    let network: IpNet =
        network.parse().with_context(|| format!("network {network:?} is not a CIDR like 203.0.113.0/24"))?;
    ensure!(network == network.trunc(), "network {network} has host bits set; did you mean {}?", network.trunc());
    let subdivision = match (optional(subdivision), optional(subdivision_iso)) {
        (None, None) => None,
        (Some(name), Some(iso_code)) => Some(Subdivision { name, iso_code }),
        _ => bail!("subdivision and subdivision_iso must both be set or both be empty"),
    };
    let country = required("country", country)?;
    let country_iso = code("country_iso", country_iso)?;
    let continent = required("continent", continent)?;
    let continent_code = code("continent_code", continent_code)?;
    let coordinates = match (optional(latitude), optional(longitude)) {
        (None, None) => None,
        (Some(lat), Some(lon)) => Some((degrees("latitude", &lat, 90.0)?, degrees("longitude", &lon, 180.0)?)),
        _ => bail!("latitude and longitude must both be set or both be empty"),
    };
    let accuracy_radius = optional(accuracy_radius)
        .map(|r| r.parse::<u16>().with_context(|| format!("accuracy_radius {r:?} is not a whole number 0-65535")))
        .transpose()?;
    Ok(CityRow {
        line,
        network,
        city: optional(city),
        subdivision,
        country,
        country_iso,
        continent,
        continent_code,
        coordinates,
        accuracy_radius,
        time_zone: optional(time_zone),
    })
}

fn optional(field: &str) -> Option<String> {
    (!field.is_empty()).then(|| field.to_owned())
}

fn required(name: &str, field: &str) -> Result<String> {
    optional(field).with_context(|| format!("{name} must not be empty"))
}

/// Two upper-case ASCII letters, as GeoIP2 country and continent codes are.
fn code(name: &str, field: &str) -> Result<String> {
    ensure!(
        field.len() == 2 && field.bytes().all(|b| b.is_ascii_uppercase()),
        "{name} {field:?} must be two upper-case letters"
    );
    Ok(field.to_owned())
}

fn degrees(name: &str, field: &str, limit: f64) -> Result<f64> {
    let value: f64 = field.parse().with_context(|| format!("{name} {field:?} is not a number"))?;
    ensure!(value.is_finite() && value.abs() <= limit, "{name} {field} is outside -{limit}..={limit}");
    Ok(value)
}

/// Serializes rows into a GeoIP2-City database (IPv6 tree, IPv4 reachable via aliases).
pub fn build_database(rows: &[CityRow]) -> Result<Vec<u8>> {
    let mut writer = Writer::builder(DATABASE_TYPE)
        .languages(["en"])
        .description(&[("en", DESCRIPTION)])
        .ip_version(IpVersion::V6)
        .build_epoch(UNIX_EPOCH + Duration::from_secs(BUILD_EPOCH_SECS))
        .build();
    for row in rows {
        writer
            .insert(row.network, &Record::from(row))
            .with_context(|| format!("line {}: cannot insert {}", row.line, row.network))?;
    }
    writer.to_bytes().context("cannot serialize the database")
}

/// Parses `cities.csv` text and builds the database bytes in one go.
pub fn build_from_csv(text: &str) -> Result<Vec<u8>> {
    build_database(&parse_cities(text)?)
}

// The structs below mirror the subset of the GeoIP2-City schema that Assent reads; field names
// are the schema's, so `maxminddb::geoip2::City` decodes them.

type Names<'a> = BTreeMap<&'static str, &'a str>;

fn english(name: &str) -> Names<'_> {
    BTreeMap::from([("en", name)])
}

#[derive(Serialize)]
struct Record<'a> {
    city: Option<Named<'a>>,
    continent: Coded<'a>,
    country: IsoNamed<'a>,
    location: Location<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subdivisions: Vec<IsoNamed<'a>>,
}

#[derive(Serialize)]
struct Named<'a> {
    names: Names<'a>,
}

#[derive(Serialize)]
struct Coded<'a> {
    code: &'a str,
    names: Names<'a>,
}

#[derive(Serialize)]
struct IsoNamed<'a> {
    iso_code: &'a str,
    names: Names<'a>,
}

#[derive(Serialize)]
struct Location<'a> {
    // u16, not u32: maxminddb's geoip2::City refuses other widths.
    accuracy_radius: Option<u16>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    time_zone: Option<&'a str>,
}

impl<'a> From<&'a CityRow> for Record<'a> {
    fn from(row: &'a CityRow) -> Self {
        Record {
            city: row.city.as_deref().map(|name| Named { names: english(name) }),
            continent: Coded { code: &row.continent_code, names: english(&row.continent) },
            country: IsoNamed { iso_code: &row.country_iso, names: english(&row.country) },
            location: Location {
                accuracy_radius: row.accuracy_radius,
                latitude: row.coordinates.map(|(lat, _)| lat),
                longitude: row.coordinates.map(|(_, lon)| lon),
                time_zone: row.time_zone.as_deref(),
            },
            subdivisions: row
                .subdivision
                .iter()
                .map(|s| IsoNamed { iso_code: &s.iso_code, names: english(&s.name) })
                .collect(),
        }
    }
}
