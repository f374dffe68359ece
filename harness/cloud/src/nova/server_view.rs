//! `views/servers.py`: a server as `GET /servers/{id}`, `GET /servers/detail`, `PUT` and
//! rebuild show it, by microversion. From 2.96 the availability zone the server is pinned to
//! (its request spec's), from 2.98 the image's properties as Nova keeps them in the
//! instance's system metadata, from 2.100 the scheduler hints it was created with.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::flavors::flavor;
use super::model::{Server, ServerImage, safe_truncate};
use crate::microversion::Microversion;

/// `ImageMetaProps`' fields and legacy names (Nova 34, `ImageMetaProps` 1.44): the image
/// properties 2.98 shows (`std_fields`), sorted.
#[rustfmt::skip]
const IMAGE_META_PROPS: [&str; 108] = [
    "architecture", "auto_disk_config", "bdm_v2", "bittorrent", "block_device_mapping", "cache_in_nova", "hw_architecture",
    "hw_auto_disk_config", "hw_boot_menu", "hw_cdrom_bus", "hw_cpu_cores", "hw_cpu_max_cores", "hw_cpu_max_sockets",
    "hw_cpu_max_threads", "hw_cpu_policy", "hw_cpu_realtime_mask", "hw_cpu_sockets", "hw_cpu_thread_policy", "hw_cpu_threads",
    "hw_device_id", "hw_disk_bus", "hw_disk_type", "hw_emulation_architecture", "hw_ephemeral_encryption",
    "hw_ephemeral_encryption_format", "hw_ephemeral_encryption_secret_uuid", "hw_firmware_stateless", "hw_firmware_type",
    "hw_floppy_bus", "hw_input_bus", "hw_ipxe_boot", "hw_locked_memory", "hw_machine_type", "hw_maxphysaddr_bits",
    "hw_maxphysaddr_mode", "hw_mem_encryption", "hw_mem_encryption_model", "hw_mem_page_size", "hw_numa_cpus", "hw_numa_mem",
    "hw_numa_nodes", "hw_pci_numa_affinity_policy", "hw_pmu", "hw_pointer_model", "hw_qemu_guest_agent",
    "hw_redirected_usb_ports", "hw_rescue_bus", "hw_rescue_device", "hw_rng_model", "hw_scsi_model", "hw_serial_port_count",
    "hw_sound_model", "hw_time_hpet", "hw_tpm_model", "hw_tpm_version", "hw_usb_model", "hw_video_model", "hw_video_ram",
    "hw_vif_model", "hw_vif_multiqueue_enabled", "hw_viommu_model", "hw_virtio_packed_ring", "hw_vm_mode", "hw_watchdog_action",
    "hypervisor_type", "hypervisor_version_requires", "img_bdm_v2", "img_bittorrent", "img_block_device_mapping",
    "img_cache_in_nova", "img_compression_level", "img_config_drive", "img_hide_hypervisor_id", "img_hv_requested_version",
    "img_hv_type", "img_linked_clone", "img_mappings", "img_owner_id", "img_root_device_name", "img_signature",
    "img_signature_certificate_uuid", "img_signature_hash_method", "img_signature_key_type", "img_use_agent", "img_version",
    "ipxe_boot", "mappings", "os_admin_user", "os_command_line", "os_distro", "os_require_quiesce", "os_secure_boot",
    "os_skip_agent_inject_files_at_boot", "os_skip_agent_inject_ssh", "os_type", "owner_id", "root_device_name",
    "traits_required", "vm_mode", "vmware_disktype", "vmware_image_version", "vmware_linked_clone", "vmware_ostype",
    "xenapi_device_id", "xenapi_image_compression_level", "xenapi_skip_agent_inject_files_at_boot",
    "xenapi_skip_agent_inject_ssh", "xenapi_use_agent",
];

/// `utils.SM_SKIP_KEYS`: image properties too large for system metadata, never stored.
const SM_SKIP_KEYS: [&str; 4] = ["mappings", "block_device_mapping", "img_mappings", "img_block_device_mapping"];

/// The `image_*` system metadata Nova keeps of the server's image
/// (`get_system_metadata_from_image`: every property but [`SM_SKIP_KEYS`], as a string cut at
/// 255 bytes), plus the `image_hw_*` defaults the libvirt driver registered once the guest ran;
/// 2.98 shows those `ImageMetaProps` knows. A 2048-bit RSA `img_signature` (344 base64
/// characters) is thus shown cut to its first 255.
fn image_properties(image: &ServerImage, system_metadata: &BTreeMap<String, String>) -> Map<String, Value> {
    let registered = system_metadata.iter().filter_map(|(k, v)| Some((k.strip_prefix("image_")?, v)));
    image
        .properties
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .filter(|(k, _)| !SM_SKIP_KEYS.contains(k))
        .chain(registered)
        .filter(|(k, _)| IMAGE_META_PROPS.binary_search(k).is_ok())
        .map(|(k, v)| (k.to_owned(), Value::String(safe_truncate(v, 255))))
        .collect()
}

/// `_get_image`: the image's id and bookmark (`""` for a volume-backed server), from 2.98
/// with its properties.
fn image_view(base: &str, image: Option<&ServerImage>, system_metadata: &BTreeMap<String, String>, v: Microversion) -> Value {
    let Some(i) = image else { return Value::String(String::new()) };
    let mut view = json!({"id": i.id, "links": [{"rel": "bookmark", "href": format!("{base}/images/{}", i.id)}]});
    if v >= Microversion(2, 98) {
        view["properties"] = Value::Object(image_properties(i, system_metadata));
    }
    view
}

pub fn server_links(base: &str, id: &str) -> Value {
    json!([{"rel": "self", "href": format!("{base}/v2.1/servers/{id}")}, {"rel": "bookmark", "href": format!("{base}/servers/{id}")}])
}

/// `ViewBuilder.show`: the full server at microversion `v`; `admin` adds the extended
/// attributes and a fault's `details`.
pub fn server_view(base: &str, s: &Server, v: Microversion, admin: bool) -> Value {
    let image = image_view(base, s.image.as_ref(), &s.system_metadata, v);
    let flavor_value = match flavor(&s.flavor_id) {
        // 2.47 embeds the flavor's values instead of linking to it.
        Some((_, name, ram, vcpus, disk)) if v >= Microversion(2, 47) => {
            json!({"vcpus": vcpus, "ram": ram, "disk": disk, "ephemeral": 0, "swap": 0, "original_name": name, "extra_specs": {}})
        }
        _ => json!({"id": s.flavor_id, "links": [{"rel": "bookmark", "href": format!("{base}/flavors/{}", s.flavor_id)}]}),
    };
    let mut view = json!({
        "id": s.id, "name": s.name, "status": s.status(), "tenant_id": s.project_id, "user_id": s.user_id,
        "metadata": s.metadata, "hostId": s.host.as_ref().map(|h| host_id(&s.project_id, h)).unwrap_or_default(),
        "image": image, "flavor": flavor_value, "created": s.created, "updated": s.updated,
        "addresses": s.addresses, "accessIPv4": "", "accessIPv6": "", "links": server_links(base, &s.id),
        "OS-DCF:diskConfig": "MANUAL", "OS-EXT-AZ:availability_zone": availability_zone(s), "config_drive": "",
        "key_name": null, "OS-SRV-USG:launched_at": s.launched_at.as_deref().map(usage_time),
        "OS-SRV-USG:terminated_at": null, "OS-EXT-STS:task_state": s.task_state,
        "OS-EXT-STS:vm_state": s.vm_state, "OS-EXT-STS:power_state": s.power_state,
        "os-extended-volumes:volumes_attached": volumes_attached(s, v),
    });
    if PROGRESS_STATUSES.contains(&s.status()) {
        view["progress"] = 0.into();
    }
    // `_add_security_grps`: the groups of the server's ports (the simulated Neutron puts every
    // port in `default`); a server without ports shows none.
    if !s.addresses.is_empty() {
        view["security_groups"] = json!([{"name": "default"}]);
    }
    if v >= Microversion(2, 9) {
        view["locked"] = false.into();
    }
    if v >= Microversion(2, 19) {
        view["description"] = Value::Null;
    }
    if v >= Microversion(2, 26) {
        view["tags"] = json!([]);
    }
    if v >= Microversion(2, 63) {
        view["trusted_image_certificates"] = json!(s.trusted_certs);
    }
    // Shown by `GET /servers/{id}`, `PUT` and rebuild, not by the detailed list (which
    // removes it).
    if v >= Microversion(2, 71) {
        view["server_groups"] = json!([]);
    }
    if v >= Microversion(2, 73) {
        view["locked_reason"] = Value::Null;
    }
    if v >= Microversion(2, 90) && !admin {
        view["OS-EXT-SRV-ATTR:hostname"] = json!(hostname(&s.name));
    }
    // The request spec's availability zone (`show_AZ`, which PUT and rebuild turn on from 2.75).
    if v >= Microversion(2, 96) {
        view["pinned_availability_zone"] = json!(s.pinned_availability_zone);
    }
    if v >= Microversion(2, 100) {
        view["scheduler_hints"] = json!(s.scheduler_hints);
    }
    if admin {
        view["OS-EXT-SRV-ATTR:host"] = json!(s.host);
        view["OS-EXT-SRV-ATTR:hypervisor_hostname"] = json!(s.host);
        view["OS-EXT-SRV-ATTR:instance_name"] = json!(format!("instance-{}", &s.id[..8.min(s.id.len())]));
        if v >= Microversion(2, 3) {
            let reservation = s.id.replace('-', "");
            let reached_a_host = s.host.is_some()
                || s.launched_at.is_some()
                || s.fault.as_ref().is_some_and(|f| !f.message.starts_with("No valid host was found."));
            view["OS-EXT-SRV-ATTR:hostname"] = json!(hostname(&s.name));
            view["OS-EXT-SRV-ATTR:kernel_id"] = "".into();
            view["OS-EXT-SRV-ATTR:launch_index"] = 0.into();
            view["OS-EXT-SRV-ATTR:ramdisk_id"] = "".into();
            // `r-` and 8 characters: the server's own, from its id.
            view["OS-EXT-SRV-ATTR:reservation_id"] = json!(format!("r-{}", &reservation[reservation.len().saturating_sub(8)..]));
            // `_default_block_device_names` names the root device on the compute host.
            view["OS-EXT-SRV-ATTR:root_device_name"] = json!(reached_a_host.then_some("/dev/vda"));
            view["OS-EXT-SRV-ATTR:user_data"] = json!(s.user_data);
        }
        // `get_instance_host_status`: the host's service state; no host, no status. A host
        // down is `UNKNOWN` (its service stopped reporting); [`host_down`] marks it.
        if v >= Microversion(2, 16) {
            view["host_status"] = json!(if s.host.is_some() { "UP" } else { "" });
        }
    }
    if let (Some(fault), "ERROR") = (&s.fault, s.status()) {
        let mut f = json!({"code": fault.code, "created": fault.created, "message": fault.message});
        if admin || fault.code != 500 {
            f["details"] = fault.details.clone().into();
        }
        view["fault"] = f;
    }
    view
}

/// The server as `PUT /servers/{id}` and rebuild answer it: before 2.75 without the extended
/// attributes (`_action_rebuild` and `update` call `show` with them turned off and the
/// addresses not extended); from 2.75 the whole view, like `GET`.
pub fn changed_server_view(base: &str, s: &Server, v: Microversion, admin: bool) -> Value {
    let mut view = server_view(base, s, v, admin);
    if v >= Microversion(2, 75) {
        return view;
    }
    if let Some(map) = view.as_object_mut() {
        let extended = |k: &str| {
            k.starts_with("OS-EXT-")
                || k.starts_with("OS-SRV-USG:")
                || k.starts_with("os-extended-volumes:")
                || ["config_drive", "security_groups", "host_status"].contains(&k)
        };
        map.retain(|k, _| !extended(k) && (k != "key_name" || v >= Microversion(2, 54)));
        if let Some(networks) = map.get_mut("addresses").and_then(Value::as_object_mut) {
            for address in networks.values_mut().filter_map(Value::as_array_mut).flatten().filter_map(Value::as_object_mut) {
                address.retain(|k, _| !k.starts_with("OS-EXT-IPS"));
            }
        }
    }
    view
}

/// `_progress_statuses`: the statuses that show a `progress`.
const PROGRESS_STATUSES: [&str; 6] = ["ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"];

/// `get_instance_availability_zone`: the host's zone (every host is in the default zone
/// `nova`), or without a host the instance's own (the create's, gone once a compute host gave
/// the build up), Python's `None` shown as `""`.
fn availability_zone(s: &Server) -> String {
    match &s.host {
        Some(_) => "nova".to_owned(),
        None => s.availability_zone.clone().unwrap_or_default(),
    }
}

/// `OS-SRV-USG:launched_at`: a naive `datetime` as oslo's JSON serializer writes it
/// (`%Y-%m-%dT%H:%M:%S.%f`; the database keeps whole seconds).
fn usage_time(stored: &str) -> String {
    let seconds = stored.trim_end_matches('Z');
    let seconds = seconds.split('.').next().unwrap_or(seconds);
    format!("{seconds}.000000")
}

/// `utils.sanitize_hostname` of the display name: at most 63 characters, spaces, `_` and `.`
/// as `-`, other non-word characters dropped, lowercase, no leading or trailing `-` or `.`.
fn hostname(name: &str) -> String {
    let cut: String = name.chars().filter(|c| (*c as u32) < 256).take(63).collect();
    let dashed: String = cut.chars().map(|c| if matches!(c, ' ' | '_' | '.') { '-' } else { c }).collect();
    let kept: String = dashed.chars().filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.')).collect();
    kept.to_lowercase().trim_matches(|c| c == '.' || c == '-').to_owned()
}

/// A host whose compute service is down: an admin's `host_status` is `UNKNOWN` (2.16).
pub fn host_down(view: &mut Value) {
    if let Some(status) = view.get_mut("host_status").filter(|s| *s == "UP") {
        *status = json!("UNKNOWN");
    }
}

/// `os-extended-volumes:volumes_attached`: every mapping with a volume, attached or being
/// attached; `delete_on_termination` from 2.3.
fn volumes_attached(s: &Server, v: Microversion) -> Vec<Value> {
    s.block_devices
        .iter()
        .filter_map(|b| b.volume_id.as_ref().map(|id| (id, b.delete_on_termination)))
        .map(|(id, delete)| if v >= Microversion(2, 3) { json!({"id": id, "delete_on_termination": delete}) } else { json!({"id": id}) })
        .collect()
}

/// `hostId`: sha224(project + host) in Nova; a stable digest of both here.
fn host_id(project: &str, host: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha224::digest(format!("{project}{host}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_are_sanitized_display_names() {
        assert_eq!(hostname("parity-trusted"), "parity-trusted");
        assert_eq!(hostname("My Server_1.example"), "my-server-1-example");
        assert_eq!(hostname("-.é!x?-"), "éx");
        assert_eq!(hostname(&"a".repeat(70)).len(), 63);
    }

    #[test]
    fn launched_at_is_a_naive_datetime_with_microseconds() {
        assert_eq!(usage_time("2026-12-04T22:34:05Z"), "2026-12-04T22:34:05.000000");
        assert_eq!(usage_time("2026-12-04T22:34:05.123Z"), "2026-12-04T22:34:05.000000");
    }

    #[test]
    fn image_properties_are_the_known_ones_as_system_metadata_keeps_them() {
        let mut sorted = IMAGE_META_PROPS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, IMAGE_META_PROPS, "binary_search needs the list sorted");
        let signature = "A".repeat(344);
        let properties = [
            ("img_signature", signature.as_str()),
            ("img_signature_hash_method", "SHA-256"),
            ("hw_disk_bus", "virtio"),
            ("os_distro", "cirros"),
            ("owner_id", "legacy name, kept"),
            ("img_mappings", "skipped when stored"),
            ("my_custom", "unknown to ImageMetaProps"),
            ("base_image_ref", "not an image property"),
        ];
        let image = ServerImage {
            id: "i".into(),
            disk_format: Some("raw".into()),
            container_format: Some("bare".into()),
            properties: properties.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        };
        // Before the guest ran: the image's own properties only.
        let booting = BTreeMap::from([("owner_user_name".to_owned(), "demo".to_owned())]);
        assert_eq!(
            Value::Object(image_properties(&image, &booting)),
            json!({"img_signature": "A".repeat(255), "img_signature_hash_method": "SHA-256", "hw_disk_bus": "virtio",
                   "os_distro": "cirros", "owner_id": "legacy name, kept"})
        );
        // Once it ran, the libvirt driver's registered defaults too (`owner_user_name` is
        // system metadata but not an image property; the image's own value is kept).
        let mut ran = booting.clone();
        ran.insert("image_hw_machine_type".into(), "pc".into());
        ran.insert("image_hw_video_model".into(), "virtio".into());
        let shown = image_properties(&image, &ran);
        assert_eq!((shown["hw_disk_bus"].as_str(), shown["hw_machine_type"].as_str()), (Some("virtio"), Some("pc")));
        assert_eq!(shown.len(), 5 + 2);
        assert!(image_view("http://n", Some(&image), &ran, Microversion(2, 97)).get("properties").is_none());
        assert_eq!(image_view("http://n", None, &ran, Microversion(2, 98)), json!(""));
    }
}
