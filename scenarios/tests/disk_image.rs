//! The image data the scenarios sign and upload is a disk image that the tools real clouds use
//! accept: `qemu-img info` (format probing, as Nova's and Cinder's image checks run it) says
//! qcow2 or raw with the virtual size we set and no backing file, `qemu-img check` finds no
//! error and no leak, and `qemu-img compare` shows the guest sees exactly the data. A
//! tampered copy (one byte of guest data changed) is still a valid image, with other data.
//!
//! Needs `qemu-img` (Debian/Ubuntu: `apt-get install qemu-utils`; `.ci/run` installs it).

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use sigstack_scenarios::disk_image::{self, DiskFormat};

/// The byte counts the features ask for ("N bytes of image data").
const SIZES: [usize; 6] = [1000, 5000, 20000, 50000, 100000, 200000];

fn qemu_img(args: &[&str]) -> std::process::Output {
    match Command::new("qemu-img").args(args).output() {
        Ok(out) => out,
        Err(e) => panic!("qemu-img cannot run ({e}): install qemu-utils (apt-get install qemu-utils) to check the suite's disk images"),
    }
}

fn info(path: &Path) -> Value {
    let out = qemu_img(&["info", "--output=json", path.to_str().unwrap()]);
    assert!(out.status.success(), "qemu-img info {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("qemu-img info JSON")
}

/// `qemu-img compare` of the image with a raw file of `expected` padded to the virtual size:
/// 0 identical, 1 different.
fn compare(path: &Path, format: &str, expected: &[u8], virtual_size: u64, scratch: &Path) -> i32 {
    let mut raw = expected.to_vec();
    raw.resize(virtual_size as usize, 0);
    std::fs::write(scratch, &raw).unwrap();
    let out = qemu_img(&["compare", "-f", format, "-F", "raw", path.to_str().unwrap(), scratch.to_str().unwrap()]);
    out.status.code().expect("qemu-img compare exits")
}

#[test]
fn qcow2_images_are_valid_and_hold_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.qcow2");
    let scratch = dir.path().join("expected.raw");
    for len in SIZES {
        let image = disk_image::make(DiskFormat::Qcow2, len, (len % 251) as u8);
        std::fs::write(&path, &image.bytes).unwrap();

        let info = info(&path);
        assert_eq!(info["format"], "qcow2", "{len}: {info}");
        assert_eq!(info["virtual-size"].as_u64(), Some(image.virtual_size), "{len}: {info}");
        assert_eq!(info["cluster-size"].as_u64(), Some(65536), "{len}: {info}");
        assert!(info.get("backing-filename").is_none() && info.get("full-backing-filename").is_none(), "{len}: {info}");
        assert_eq!(info["format-specific"]["data"]["compat"], "1.1", "qcow2 version 3: {info}");
        assert_eq!(info["format-specific"]["data"]["corrupt"], false, "{info}");
        assert!(info["format-specific"]["data"].get("data-file").is_none(), "{info}");

        let out = qemu_img(&["check", "--output=json", "-f", "qcow2", path.to_str().unwrap()]);
        let check: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        assert!(out.status.success(), "{len}: qemu-img check: {check} {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!((check["check-errors"].as_u64(), check.get("leaks"), check.get("corruptions")), (Some(0), None, None), "{len}: {check}");
        assert_eq!(check["image-end-offset"].as_u64(), Some(image.bytes.len() as u64), "{len}: {check}");

        assert_eq!(
            compare(&path, "qcow2", &disk_image::pattern(len, (len % 251) as u8), image.virtual_size, &scratch),
            0,
            "{len}: the guest sees the data"
        );

        // Tampered: one byte of the guest's data differs, the image is as valid as before.
        let tampered = image.tampered();
        assert_eq!(tampered.iter().zip(&image.bytes).filter(|(a, b)| a != b).count(), 1);
        std::fs::write(&path, &tampered).unwrap();
        let out = qemu_img(&["check", "-f", "qcow2", path.to_str().unwrap()]);
        assert!(out.status.success(), "{len}: tampered: {}", String::from_utf8_lossy(&out.stdout));
        assert_eq!(
            compare(&path, "qcow2", &disk_image::pattern(len, (len % 251) as u8), image.virtual_size, &scratch),
            1,
            "{len}: tampered data differs"
        );
    }
}

#[test]
fn raw_images_are_the_data_and_probe_as_raw() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.raw");
    for len in SIZES {
        let image = disk_image::make(DiskFormat::Raw, len, 3);
        assert_eq!(&image.bytes[..len], disk_image::pattern(len, 3).as_slice());
        assert_eq!((image.bytes.len() % 512, image.virtual_size), (0, image.bytes.len() as u64), "whole sectors");
        std::fs::write(&path, &image.bytes).unwrap();
        let info = info(&path);
        assert_eq!(info["format"], "raw", "{len}: {info}");
        assert_eq!(info["virtual-size"].as_u64(), Some(image.virtual_size), "{len}: {info}");
    }
}
