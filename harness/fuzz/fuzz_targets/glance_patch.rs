//! Glance's `PATCH /v2/images/{id}` body, as any image owner sends it: the Content-Type check,
//! the JSON-patch dialects (v2.0 draft-4 and v2.1), JSON pointers, the schema checks, then
//! every change applied to an image as its owner and as an admin.
//!
//! Input: the first line is the Content-Type, the rest the JSON body.
//! Properties: never a panic; a recognised Content-Type is exactly one of the two patch media
//! types; a parsed change has the pointer depth glance allows, a value unless it is a
//! `remove`, and a path that is neither read-only nor reserved; a custom property that an
//! `add` or `replace` set holds the value it was given.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use sigstack_cloud::glance::patch::{self, Op, V20, V21};
use sigstack_cloud::glance::schema::READONLY;
use sigstack_cloud::glance::{Image, Status};
use sigstack_cloud::wire::AuthContext;

fn image() -> Image {
    Image {
        id: "6a3b3d0c-0d5f-4c36-9a0b-2f3a1b8f6b7e".into(),
        name: Some("cirros".into()),
        status: Status::Active,
        visibility: "shared".into(),
        protected: false,
        os_hidden: false,
        checksum: None,
        os_hash_algo: None,
        os_hash_value: None,
        size: None,
        virtual_size: None,
        container_format: Some("bare".into()),
        disk_format: Some("qcow2".into()),
        min_disk: 0,
        min_ram: 0,
        owner: Some("demo-project".into()),
        tags: vec!["signed".into()],
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
        properties: BTreeMap::from([
            ("img_signature".to_owned(), "c2lnbmF0dXJl".to_owned()),
            ("img_signature_hash_method".to_owned(), "SHA-256".to_owned()),
        ]),
    }
}

fn caller(admin: bool) -> AuthContext {
    AuthContext {
        token: "fuzz-token".into(),
        user_id: "demo-user".into(),
        user_name: "demo".into(),
        project_id: "demo-project".into(),
        project_name: "demo".into(),
        roles: if admin { vec!["admin".into(), "member".into()] } else { vec!["member".into()] },
        expires_at: "2099-01-01T00:00:00Z".into(),
        catalog: Vec::new(),
        system_scope: false,
    }
}

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (String::from_utf8_lossy(&data[..i]).into_owned(), &data[i + 1..]),
        None => (String::new(), data),
    };
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let header = (!content_type.is_empty()).then_some(content_type.as_str());
    let draft4 = match patch::check_content_type(header) {
        Ok(draft4) => {
            assert_eq!(media, if draft4 { V20 } else { V21 });
            draft4
        }
        Err(_) => {
            assert!(media != V20 && media != V21);
            // Parse anyway: the dialect only changes how operations are spelled.
            body.first().is_some_and(|b| b & 1 == 1)
        }
    };
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let Ok(changes) = patch::parse(&json, draft4) else {
        return;
    };
    for change in &changes {
        let root = change.path[0].as_str();
        let depth = if root == "locations" && change.op != Op::Replace { 2 } else { 1 };
        assert_eq!(change.path.len(), depth, "{change:?}");
        assert_eq!(change.value.is_none(), change.op == Op::Remove, "{change:?}");
        assert_eq!(change.draft4, draft4);
        assert!(!READONLY.contains(&root) && !root.starts_with("os_glance"), "{change:?}");
        assert!(!matches!(root, "location" | "deleted" | "deleted_at"), "{change:?}");
    }
    for admin in [false, true] {
        let ctx = caller(admin);
        let mut img = image();
        for change in &changes {
            let root = change.path[0].clone();
            if patch::apply(&mut img, change, &ctx).is_ok()
                && change.op != Op::Remove
                && root != "locations"
                && !Image::has_attribute(&root)
            {
                let value = change.value.as_ref().expect("checked above");
                assert_eq!(img.properties.get(&root).map(String::as_str), Some(value.as_str().unwrap_or_default()), "{change:?}");
            }
        }
    }
});
