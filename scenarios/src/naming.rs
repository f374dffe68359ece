//! The run id: every resource a run creates is named `<run id>-...` (a scenario's
//! `<run id>-scn-<12 hex>-...`), so `sigstack conformance cleanup` finds what an interrupted
//! run left behind, all of the suite's or one run's. A run id is
//! `sigstack-<YYYYMMDD>-<HHMMSS>-<4 hex>` (UTC), e.g. `sigstack-20250131-142501-9f3a`.

use std::sync::Mutex;

/// What every run id, so every name the suite gives, starts with.
pub const PREFIX: &str = "sigstack-";

static RUN_ID: Mutex<Option<String>> = Mutex::new(None);

/// A fresh run id.
pub fn new_run_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let stamp =
        format!("{:04}{:02}{:02}-{:02}{:02}{:02}", now.year(), u8::from(now.month()), now.day(), now.hour(), now.minute(), now.second());
    format!("{PREFIX}{stamp}-{}", &uuid::Uuid::new_v4().simple().to_string()[..4])
}

/// The run id of this process's runs: the one [`set_run_id`] gave, else one made on first use.
pub fn run_id() -> String {
    RUN_ID.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(new_run_id).clone()
}

/// Names the runs that follow (`sigstack conformance` prints it before it starts).
pub fn set_run_id(id: &str) {
    *RUN_ID.lock().unwrap_or_else(|e| e.into_inner()) = Some(id.to_owned());
}

/// Whether `id` has the shape of a run id.
pub fn is_run_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix(PREFIX) else { return false };
    let b = rest.as_bytes();
    b.len() == 20
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'-'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'-'
        && b[16..].iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// The run id a resource name starts with, if the suite gave it.
pub fn run_of(name: &str) -> Option<&str> {
    let id = name.get(..PREFIX.len() + 20)?;
    (is_run_id(id) && matches!(name.as_bytes().get(id.len()), None | Some(b'-'))).then_some(id)
}

/// Whether a resource name is the suite's, and of `run` when one is given.
pub fn matches(name: &str, run: Option<&str>) -> bool {
    match (run_of(name), run) {
        (Some(found), Some(wanted)) => found == wanted,
        (found, None) => found.is_some(),
        (None, Some(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_and_names() {
        let id = new_run_id();
        assert!(is_run_id(&id), "{id}");
        assert_eq!(run_of(&format!("{id}-scn-0123456789ab-demo")), Some(id.as_str()));
        assert_eq!(run_of(&id), Some(id.as_str()));
        assert_eq!(run_of("sigstack-admin"), None);
        assert_eq!(run_of("sigstack-20250131-142501-9f3ax"), None);
        assert_eq!(run_of("sigstack-20250131-142501-9F3A-x"), None);
        assert!(matches("sigstack-20250131-142501-9f3a-scn-1-vm", Some("sigstack-20250131-142501-9f3a")));
        assert!(!matches("sigstack-20250131-142501-9f3a-scn-1-vm", Some("sigstack-20250131-142501-0000")));
        assert!(matches("sigstack-20250131-142501-9f3a-scn-1-vm", None));
        assert!(!matches("cirros", None));
        // Keystone's project names hold 64 characters.
        assert!(format!("{id}-scn-0123456789ab-alt_demo").len() <= 64);
    }
}
