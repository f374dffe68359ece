//! Microversions, for Nova, Cinder and Barbican: the `X.Y` a request asks for with
//! `OpenStack-API-Version: <service type> X.Y` (or a service's legacy header), `latest`, and
//! the range a service speaks. What a service answers for a version it refuses, and its range,
//! stay with the service (`nova/fault.rs`, `cinder/views.rs`, `barbican/http.rs`).

use axum::http::HeaderMap;

/// The standard header (`OpenStack-API-Version: compute 2.63`), in requests and answers.
pub const HEADER: &str = "OpenStack-API-Version";

/// `<major>.<minor>`, ordered as `APIVersionRequest` orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Microversion(pub u32, pub u32);

impl Microversion {
    /// `APIVersionRequest`'s format, `^([1-9]\d*)\.([1-9]\d*|0)$` (a number past `u32` is
    /// refused as well).
    pub fn parse(text: &str) -> Option<Microversion> {
        let (major, minor) = text.split_once('.')?;
        let number = |p: &str, zero_ok: bool| -> Option<u32> {
            let ok = !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (p == "0" && zero_ok || !p.starts_with('0'));
            if ok { p.parse().ok() } else { None }
        };
        Some(Microversion(number(major, false)?, number(minor, true)?))
    }
}

impl std::fmt::Display for Microversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// Why a requested version is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The text is not `X.Y` (nor `latest`).
    Malformed(String),
    /// A version outside the service's range.
    Unsupported(Microversion),
}

/// The microversions a service speaks and how its requests name them.
#[derive(Debug, Clone, Copy)]
pub struct Microversions {
    /// The service type in [`HEADER`]: `compute`, `volume`, `key-manager`.
    pub service_type: &'static str,
    /// A header naming the version alone, read when [`HEADER`] names none for the service
    /// (Nova's `X-OpenStack-Nova-API-Version`).
    pub legacy_header: Option<&'static str>,
    /// The version of a request that names none.
    pub min: Microversion,
    /// The newest, which `latest` names.
    pub max: Microversion,
    /// Whether `latest` is recognised in any case (`LATEST`), as this simulation reads Nova's
    /// and Cinder's header; Barbican's `microversion_parse` compares it exactly.
    pub latest_in_any_case: bool,
}

impl Microversions {
    /// The version text a request names: the first `<service type> <version>` entry for this
    /// service (the type in any case) among [`HEADER`]'s comma-separated entries, all its
    /// lines read; else the legacy header, trimmed. An entry without a version names none.
    pub fn requested(&self, headers: &HeaderMap) -> Option<String> {
        let standard = headers.get_all(HEADER).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).find_map(|entry| {
            let mut words = entry.split_whitespace();
            match (words.next(), words.next()) {
                (Some(service), Some(version)) if service.eq_ignore_ascii_case(self.service_type) => Some(version.to_owned()),
                _ => None,
            }
        });
        let legacy = || self.legacy_header.and_then(|h| headers.get(h)).and_then(|v| v.to_str().ok()).map(|v| v.trim().to_owned());
        standard.or_else(legacy)
    }

    /// The version a request asks for: [`Microversions::min`] when it names none,
    /// [`Microversions::max`] for `latest`, else a version in the range.
    pub fn negotiate(&self, headers: &HeaderMap) -> Result<Microversion, Refused> {
        let Some(text) = self.requested(headers) else { return Ok(self.min) };
        if text == "latest" || (self.latest_in_any_case && text.eq_ignore_ascii_case("latest")) {
            return Ok(self.max);
        }
        let version = Microversion::parse(&text).ok_or(Refused::Malformed(text))?;
        if self.supports(version) { Ok(version) } else { Err(Refused::Unsupported(version)) }
    }

    pub fn supports(&self, version: Microversion) -> bool {
        (self.min..=self.max).contains(&version)
    }

    /// [`HEADER`]'s value naming `version` in an answer: `compute 2.63`.
    pub fn header_value(&self, version: Microversion) -> String {
        format!("{} {version}", self.service_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// As Nova 34 reads its microversions: 2.1 to 2.104, a legacy header, `latest` in any case.
    fn compute() -> Microversions {
        Microversions {
            service_type: "compute",
            legacy_header: Some("X-OpenStack-Nova-API-Version"),
            min: Microversion(2, 1),
            max: Microversion(2, 104),
            latest_in_any_case: true,
        }
    }

    /// As Barbican does: 1.0 to 1.2, `latest` exactly.
    fn key_manager() -> Microversions {
        let range = Microversions { min: Microversion(1, 0), max: Microversion(1, 2), ..compute() };
        Microversions { service_type: "key-manager", legacy_header: None, latest_in_any_case: false, ..range }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_str(value).unwrap());
        }
        h
    }

    #[test]
    fn parses_the_api_version_request_format() {
        assert_eq!(Microversion::parse("2.63"), Some(Microversion(2, 63)));
        assert_eq!(Microversion::parse("3.0"), Some(Microversion(3, 0)));
        assert_eq!(Microversion::parse("10.100"), Some(Microversion(10, 100)));
        for bad in
            ["", "2", "2.", ".1", "2.01", "02.1", "0.1", "2.1.1", "2.x", "two", "+2.1", "2.-1", " 2.1", "2.1 ", "2.99999999999", "latest"]
        {
            assert_eq!(Microversion::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Microversion(3, 71).to_string(), "3.71");
        assert_eq!(Microversion::parse(&Microversion(2, 0).to_string()), Some(Microversion(2, 0)));
    }

    #[test]
    fn orders_by_major_then_minor() {
        assert!(Microversion(2, 9) < Microversion(2, 10));
        assert!(Microversion(2, 96) < Microversion(3, 0));
        assert!(Microversion(3, 0) > Microversion(2, 100));
        assert!(compute().supports(Microversion(2, 1)) && compute().supports(Microversion(2, 104)));
        assert!(
            !compute().supports(Microversion(2, 0)) && !compute().supports(Microversion(2, 105)) && !compute().supports(Microversion(3, 1))
        );
    }

    #[test]
    fn reads_the_service_entry_or_the_legacy_header() {
        assert_eq!(compute().negotiate(&HeaderMap::new()), Ok(Microversion(2, 1)));
        assert_eq!(compute().negotiate(&headers(&[(HEADER, "compute 2.63")])), Ok(Microversion(2, 63)));
        assert_eq!(compute().negotiate(&headers(&[(HEADER, "volume 3.5, COMPUTE 2.10")])), Ok(Microversion(2, 10)));
        // Every line of the header is read; another service's entry names nothing here.
        assert_eq!(compute().negotiate(&headers(&[(HEADER, "volume 3.5"), (HEADER, "compute 2.7")])), Ok(Microversion(2, 7)));
        assert_eq!(compute().negotiate(&headers(&[(HEADER, "volume 3.5")])), Ok(Microversion(2, 1)));
        assert_eq!(compute().negotiate(&headers(&[(HEADER, "compute")])), Ok(Microversion(2, 1)));
        // The standard header wins over the legacy one, which is trimmed.
        let both = headers(&[("X-OpenStack-Nova-API-Version", "2.5"), (HEADER, "compute 2.6")]);
        assert_eq!(compute().negotiate(&both), Ok(Microversion(2, 6)));
        assert_eq!(compute().negotiate(&headers(&[("X-OpenStack-Nova-API-Version", " 2.5 ")])), Ok(Microversion(2, 5)));
        assert_eq!(key_manager().negotiate(&headers(&[("X-OpenStack-Nova-API-Version", "1.1")])), Ok(Microversion(1, 0)));
    }

    #[test]
    fn latest_and_refusals() {
        assert_eq!(compute().negotiate(&headers(&[(HEADER, "compute latest")])), Ok(Microversion(2, 104)));
        assert_eq!(compute().negotiate(&headers(&[(HEADER, "compute LATEST")])), Ok(Microversion(2, 104)));
        assert_eq!(key_manager().negotiate(&headers(&[(HEADER, "key-manager latest")])), Ok(Microversion(1, 2)));
        assert_eq!(key_manager().negotiate(&headers(&[(HEADER, "key-manager Latest")])), Err(Refused::Malformed("Latest".into())));
        assert_eq!(compute().negotiate(&headers(&[(HEADER, "compute two")])), Err(Refused::Malformed("two".into())));
        assert_eq!(compute().negotiate(&headers(&[(HEADER, "compute 2.105")])), Err(Refused::Unsupported(Microversion(2, 105))));
        assert_eq!(compute().negotiate(&headers(&[(HEADER, "compute 2.0")])), Err(Refused::Unsupported(Microversion(2, 0))));
        assert_eq!(key_manager().negotiate(&headers(&[(HEADER, "key-manager 2.0")])), Err(Refused::Unsupported(Microversion(2, 0))));
        assert_eq!(compute().header_value(Microversion(2, 63)), "compute 2.63");
    }
}
