//! GeoIP lookups: loads a GeoIP2-City-schema `.mmdb` once and maps its records to [`Location`].

use std::borrow::Cow;
use std::net::IpAddr;

use maxminddb::{Reader, geoip2};

use super::{GeoIpSource, Location, unmap};

/// The sample database that `build-geoip` (crate `assent-geoip`) builds from `geoip/cities.csv`.
pub(super) const BUNDLED: &[u8] = include_bytes!("../../geoip/assent-cities.mmdb");

/// A loaded database, or the reason there is none.
pub(super) struct Geo {
    // Cow so the bundled bytes are used in place and a file's bytes are owned.
    reader: Option<Reader<Cow<'static, [u8]>>>,
    description: String,
}

impl Geo {
    /// Loads `source`, logging once what was loaded or why nothing was.
    pub(super) fn load(source: &GeoIpSource) -> Geo {
        match source {
            GeoIpSource::Disabled => {
                tracing::info!("GeoIP disabled: consent records get no location");
                Geo::none("disabled".to_owned())
            }
            GeoIpSource::Bundled => Geo::open(
                "bundled sample assent-cities.mmdb (documentation networks only)".to_owned(),
                Cow::Borrowed(BUNDLED),
            ),
            GeoIpSource::File(path) => match std::fs::read(path) {
                Ok(bytes) => Geo::open(path.display().to_string(), Cow::Owned(bytes)),
                Err(err) => {
                    tracing::warn!(path = %path.display(), error = %err,
                        "cannot read GeoIP database; consent records get no location");
                    Geo::none(format!("none: cannot read {}: {err}", path.display()))
                }
            },
        }
    }

    fn open(label: String, bytes: Cow<'static, [u8]>) -> Geo {
        let reader = match Reader::from_source(bytes) {
            Ok(reader) => reader,
            Err(err) => {
                tracing::warn!(database = %label, error = %err,
                    "not a MaxMind DB; consent records get no location");
                return Geo::none(format!("none: {label} is not a MaxMind DB: {err}"));
            }
        };
        let meta = reader.metadata();
        let built = date(meta.build_epoch);
        let description = format!("{label}: {}, built {built}, {} nodes", meta.database_type, meta.node_count);
        if meta.database_type.contains("City") {
            tracing::info!(database = %label, database_type = %meta.database_type,
                build_date = %built, node_count = meta.node_count, "GeoIP database loaded");
        } else {
            // Country or flat-schema databases decode as a City with fields missing.
            tracing::warn!(database = %label, database_type = %meta.database_type,
                build_date = %built, node_count = meta.node_count,
                "GeoIP database is not a GeoIP2-City database; locations will be partial or empty");
        }
        Geo { reader: Some(reader), description }
    }

    fn none(description: String) -> Geo {
        Geo { reader: None, description }
    }

    /// What was loaded, for logs and health output.
    pub(super) fn description(&self) -> &str {
        &self.description
    }

    /// Looks `ip` up; anything but a hit leaves only `remote_ip` set.
    pub(super) fn locate(&self, ip: IpAddr) -> Location {
        let ip = unmap(ip);
        let mut location = Location { remote_ip: ip, city: None, state: None, region: None, country: None };
        let Some(reader) = &self.reader else {
            return location;
        };
        if !is_public(ip) {
            return location;
        }
        match reader.lookup(ip).and_then(|hit| hit.decode::<geoip2::City>()) {
            Ok(Some(city)) => {
                location.city = english(&city.city.names);
                location.state = city.subdivisions.first().and_then(|s| english(&s.names));
                // PingOne's `region` is sub-national; the continent is not a region of anything.
                location.region = city.subdivisions.get(1).and_then(|s| english(&s.names));
                location.country = english(&city.country.names);
            }
            Ok(None) => {}
            // A damaged record, or IPv6 against an IPv4-only database: no location, not an
            // error for the caller; debug only, as it would repeat on every request.
            Err(err) => tracing::debug!(%ip, error = %err, "GeoIP lookup failed"),
        }
        location
    }
}

fn english(names: &geoip2::Names<'_>) -> Option<String> {
    names.english.filter(|name| !name.is_empty()).map(str::to_owned)
}

/// False for private, loopback, link-local and similar addresses that no GeoIP database
/// places; documentation ranges stay public because the bundled sample uses them.
pub(super) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            let shared = a == 100 && (64..128).contains(&b); // 100.64.0.0/10, carrier NAT
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || shared)
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local())
        }
    }
}

/// Unix seconds as a UTC `YYYY-MM-DD` (Howard Hinnant's civil-from-days), to avoid a date
/// dependency for one log field.
pub(super) fn date(epoch_seconds: u64) -> String {
    let days = i64::try_from(epoch_seconds / 86_400).unwrap_or(0);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
