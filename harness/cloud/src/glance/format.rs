//! A small disk-format inspector (A3 step 7): which format the first bytes of an image say it
//! is, and its virtual size where the header gives one. Glance runs this only for
//! `container_format=bare` and, with `require_image_format_match` (the default since 2025.1),
//! refuses data that does not match `disk_format`, after the signature check.

/// Bytes the inspector needs: the ISO 9660 volume descriptor sits at 32 KiB + 1.
pub const HEAD_LEN: usize = 0x8001 + 5;

/// Formats the inspector can tell apart; anything unrecognised is `raw`.
const INSPECTED: [&str; 7] = ["raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso"];

/// The format the data looks like.
pub fn detect(head: &[u8]) -> &'static str {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    if at(0, b"QFI\xfb") {
        "qcow2"
    } else if at(0, b"KDMV") || at(0, b"# Disk DescriptorFile") {
        "vmdk"
    } else if at(0, b"vhdxfile") {
        "vhdx"
    } else if at(0, b"conectix") {
        "vhd"
    } else if at(0x40, &[0x7f, 0x10, 0xda, 0xbe]) {
        "vdi"
    } else if at(0x8001, b"CD001") {
        "iso"
    } else {
        "raw"
    }
}

/// `Image disk_format <x> does not match stream data <y>`, when the check applies.
pub fn mismatch(container_format: Option<&str>, disk_format: Option<&str>, head: &[u8]) -> Option<String> {
    let declared = disk_format?;
    if container_format != Some("bare") || !INSPECTED.contains(&declared) {
        return None;
    }
    let found = detect(head);
    (found != declared).then(|| format!("Image disk_format {declared} does not match stream data {found}"))
}

/// The virtual size the inspector reports: the data size for raw, the header's for qcow2.
pub fn virtual_size(disk_format: Option<&str>, head: &[u8], size: u64) -> Option<u64> {
    match (disk_format?, detect(head)) {
        ("raw", "raw") => Some(size),
        ("qcow2", "qcow2") => head.get(24..32).map(|b| u64::from_be_bytes(b.try_into().unwrap_or([0; 8]))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_and_checks() {
        let mut qcow = b"QFI\xfb\0\0\0\x03".to_vec();
        qcow.resize(32, 0);
        qcow[24..32].copy_from_slice(&(1u64 << 30).to_be_bytes());
        assert_eq!(detect(&qcow), "qcow2");
        assert_eq!(virtual_size(Some("qcow2"), &qcow, 100), Some(1 << 30));
        assert_eq!(detect(b"hello"), "raw");
        assert_eq!(mismatch(Some("bare"), Some("raw"), &qcow).unwrap(), "Image disk_format raw does not match stream data qcow2");
        assert_eq!(mismatch(Some("ovf"), Some("raw"), &qcow), None);
        assert_eq!(mismatch(Some("bare"), Some("ami"), &qcow), None);
        assert_eq!(mismatch(Some("bare"), Some("qcow2"), &qcow), None);
        assert_eq!(virtual_size(Some("raw"), b"abc", 3), Some(3));
    }
}
