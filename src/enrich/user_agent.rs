//! User-Agent parsing: maps woothee's result onto PingOne's `browser`, `operatingSystem` and
//! `device.type` fields.

use woothee::parser::{Parser, WootheeResult};
use woothee::woothee::VALUE_UNKNOWN;

use super::{ClientDevice, Software};

/// A common desktop User-Agent, parsed once at start-up to compile woothee's lazy regexes.
pub(super) const WARM_UP: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// Parses a User-Agent; missing, empty or unrecognised values give an empty [`ClientDevice`].
pub(super) fn device(parser: &Parser, user_agent: Option<&str>) -> ClientDevice {
    let Some(agent) = user_agent.map(str::trim).filter(|ua| !ua.is_empty()) else {
        return ClientDevice::default();
    };
    let Some(parsed) = parser.parse(agent) else {
        return ClientDevice::default();
    };
    ClientDevice {
        browser: browser(&parsed),
        operating_system: operating_system(&parsed),
        device_type: device_type(&parsed, agent).map(str::to_owned),
    }
}

/// woothee's "UNKNOWN" (and empty) as `None`.
fn known(value: &str) -> Option<&str> {
    (value != VALUE_UNKNOWN && !value.is_empty()).then_some(value)
}

fn browser(parsed: &WootheeResult<'_>) -> Option<Software> {
    // For crawlers, HTTP libraries and appliances woothee uses browser_type "full" and puts
    // other things in name/version (curl gives name "HTTP Library", version "curl"), so only
    // a real "browser" result becomes browser data.
    if parsed.browser_type != "browser" {
        return None;
    }
    Some(Software { name: known(parsed.name)?.to_owned(), version: known(parsed.version).map(str::to_owned) })
}

fn operating_system(parsed: &WootheeResult<'_>) -> Option<Software> {
    let os = known(parsed.os)?;
    let os_version = known(&parsed.os_version).filter(|v| looks_like_version(v));
    let (name, version) = match os {
        "Mac OSX" => ("Mac OS", os_version),
        "iPhone" | "iPad" | "iPod" | "iOS" => ("iOS", os_version),
        // woothee gives "x86_64 14541.0.0" (architecture, platform version).
        "ChromeOS" => (
            "Chrome OS",
            known(&parsed.os_version).and_then(|v| v.rsplit(' ').next()).filter(|v| looks_like_version(v)),
        ),
        "Windows Phone OS" => ("Windows Phone", os_version),
        "Windows CE" => ("Windows CE", None),
        "Windows UNKNOWN Ver" => ("Windows", None),
        // "Windows 10", "Windows 8.1", "Windows XP", "Windows NT 4.0"…: the version is in the
        // name (os_version is the NT kernel number, e.g. "NT 10.0", which people don't use).
        _ => match os.strip_prefix("Windows ") {
            Some(release) => ("Windows", Some(release)),
            None => (os, os_version),
        },
    };
    Some(Software { name: name.to_owned(), version: version.map(str::to_owned) })
}

/// Drops os_version values that are not versions, such as BSD's "amd64".
fn looks_like_version(value: &str) -> bool {
    value.starts_with(|c: char| c.is_ascii_digit())
}

fn device_type(parsed: &WootheeResult<'_>, agent: &str) -> Option<&'static str> {
    match parsed.category {
        "pc" => Some("desktop"),
        // woothee has no tablet category: iPads and Android tablets are "smartphone". Android
        // browsers mark phones with "Mobile"; tablets leave it out.
        "smartphone" if parsed.os == "iPad" => Some("tablet"),
        "smartphone" if parsed.os == "Android" && !agent.contains("Mobile") => Some("tablet"),
        "smartphone" | "mobilephone" => Some("mobile"),
        "crawler" => Some("bot"),
        "appliance" => Some("appliance"),
        _ => None,
    }
}
