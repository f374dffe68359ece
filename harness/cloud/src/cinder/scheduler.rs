//! cinder-scheduler's `CapabilitiesFilter` (no HTTP): what each simulated back end reports
//! (`get_volume_stats`) and whether a volume type's extra specs are satisfied by it
//! (`extra_specs_ops.match`). A type no back end satisfies leaves a new volume in `error` with
//! the scheduler's user message.

use serde_json::{Value, json};

use crate::deployment::{VolumeBackendSpec, VolumeDriver};

/// `Action.SCHEDULE_ALLOCATE_VOLUME` with `Detail.NO_BACKEND_AVAILABLE`.
pub const NO_BACKEND_EVENT_ID: &str = "VOLUME_VOLUME_001_003";
pub const NO_BACKEND_USER_MESSAGE: &str = "schedule allocate volume:Could not find any available weighted backend.";

/// The storage protocol a driver reports.
pub fn storage_protocol(driver: VolumeDriver) -> &'static str {
    match driver {
        VolumeDriver::Rbd => "ceph",
        VolumeDriver::Lvm => "iSCSI",
    }
}

/// A back end's reported capabilities (the LVM and RBD drivers' keys).
pub fn capabilities(backend: &VolumeBackendSpec) -> Value {
    json!({
        "volume_backend_name": backend.name,
        "vendor_name": "Open Source",
        "driver_version": "3.0.0",
        "storage_protocol": storage_protocol(backend.driver),
        "total_capacity_gb": 1000.0,
        "free_capacity_gb": 1000.0,
        "reserved_percentage": 0,
        "QoS_support": false,
        "thin_provisioning_support": true,
        "thick_provisioning_support": false,
        "multiattach": true,
        "online_extend_support": true,
        "sparse_copy_volume": true,
    })
}

fn bool_from_string(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "t" | "on" | "y" | "yes")
}

/// Python's `str()` of a reported capability.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

/// `extra_specs_ops.match`.
fn matches(value: &Value, req: &str) -> bool {
    let words: Vec<&str> = req.split_whitespace().collect();
    let Some((op, rest)) = words.split_first() else { return text(value) == req };
    let number = |s: &str| s.parse::<f64>().ok();
    let cap = text(value);
    let first = rest.first().copied();
    match *op {
        "<or>" => rest.iter().step_by(2).any(|w| *w == cap),
        "<is>" => first.is_some_and(|w| bool_from_string(&cap) == bool_from_string(w)),
        "<in>" => first.is_some_and(|w| cap.contains(w)),
        "=" | ">=" => matches!((number(&cap), first.and_then(number)), (Some(a), Some(b)) if a >= b),
        "<=" => matches!((number(&cap), first.and_then(number)), (Some(a), Some(b)) if a <= b),
        "==" => matches!((number(&cap), first.and_then(number)), (Some(a), Some(b)) if a == b),
        "!=" => matches!((number(&cap), first.and_then(number)), (Some(a), Some(b)) if a != b),
        "s==" => first.is_some_and(|w| cap == w),
        "s!=" => first.is_some_and(|w| cap != w),
        "s<" => first.is_some_and(|w| cap.as_str() < w),
        "s<=" => first.is_some_and(|w| cap.as_str() <= w),
        "s>" => first.is_some_and(|w| cap.as_str() > w),
        "s>=" => first.is_some_and(|w| cap.as_str() >= w),
        _ => cap == req,
    }
}

/// `CapabilitiesFilter._satisfies_extra_specs`: scoped keys other than `capabilities:` are
/// ignored; a capability the back end does not report fails.
pub fn satisfies<'a>(backend: &VolumeBackendSpec, extra_specs: impl IntoIterator<Item = (&'a String, &'a String)>) -> bool {
    let caps = capabilities(backend);
    extra_specs.into_iter().all(|(key, req)| {
        let mut scope: Vec<&str> = key.split(':').collect();
        if scope.len() > 1 && scope[0] != "capabilities" {
            return true;
        }
        if scope[0] == "capabilities" {
            scope.remove(0);
        }
        let mut cap = &caps;
        for part in scope {
            match cap.get(part) {
                Some(next) => cap = next,
                None => return false,
            }
        }
        matches(cap, req)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_specs_ops() {
        let lvm = VolumeBackendSpec { name: "lvmdriver-1".into(), driver: VolumeDriver::Lvm };
        let spec = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        let ok = |s: Vec<(String, String)>| satisfies(&lvm, s.iter().map(|(k, v)| (k, v)));
        assert!(ok(spec("volume_backend_name", "lvmdriver-1")));
        assert!(ok(spec("storage_protocol", "iSCSI")));
        assert!(!ok(spec("storage_protocol", "fc")));
        assert!(!ok(spec("spec1", "val1")));
        assert!(ok(spec("RESKEY:availability_zones", "x")));
        assert!(ok(spec("capabilities:multiattach", "<is> True")));
        assert!(ok(spec("multiattach", "<is> True")));
        assert!(ok(spec("free_capacity_gb", ">= 10")));
        assert!(!ok(spec("free_capacity_gb", "<= 10")));
        assert!(ok(spec("storage_protocol", "<or> fc <or> iSCSI")));
        assert!(ok(spec("vendor_name", "<in> Open")));
    }
}
