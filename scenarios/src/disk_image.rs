//! The image data the scenarios upload and sign: a small disk image the suite makes itself, in
//! the disk format the target declares (`image_format`), valid for what inspects it on a real
//! cloud (Glance's format inspector with `require_image_format_match`, Nova's and Cinder's
//! `qemu-img info` checks, the hypervisor).
//!
//! - `raw`: the N bytes, then zeros up to a whole 512-byte sector (a hypervisor sees whole
//!   sectors; `qemu-img info` rounds up); the pattern never looks like another format's
//!   header, an MBR boot signature or an ISO descriptor.
//! - `qcow2`: a qcow2 version 3 image (64 KiB clusters, 16-bit refcounts, no backing file, no
//!   extensions) whose guest disk holds the N bytes at offset 0, the rest of its virtual size
//!   (1 MiB, or N rounded up to a MiB) reading as zeros. Layout, one cluster each: header,
//!   refcount table, refcount block, L1 table, L2 table, then the data clusters; every cluster
//!   used has refcount 1 and every table entry the COPIED flag, so `qemu-img check` finds no
//!   error and no leak.
//!
//! Deterministic: the same (format, length, seed) always gives the same bytes.

/// Disk formats the suite can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFormat {
    Raw,
    Qcow2,
}

impl DiskFormat {
    /// Glance's `disk_format` value.
    pub fn name(self) -> &'static str {
        match self {
            DiskFormat::Raw => "raw",
            DiskFormat::Qcow2 => "qcow2",
        }
    }

    pub fn parse(text: &str) -> Option<DiskFormat> {
        match text {
            "raw" => Some(DiskFormat::Raw),
            "qcow2" => Some(DiskFormat::Qcow2),
            _ => None,
        }
    }
}

/// A disk image: its file bytes, and where changing one byte changes the guest's data (not
/// a header or a table), so a tampered copy is still a valid image that differs from the
/// signed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskImage {
    pub format: DiskFormat,
    pub bytes: Vec<u8>,
    /// A byte of guest data in the middle of the data.
    pub tamper_offset: usize,
    /// The size of the disk the guest sees.
    pub virtual_size: u64,
}

impl DiskImage {
    /// The file with the byte at [`DiskImage::tamper_offset`] changed.
    pub fn tampered(&self) -> Vec<u8> {
        let mut bytes = self.bytes.clone();
        if let Some(b) = bytes.get_mut(self.tamper_offset) {
            *b ^= 1;
        }
        bytes
    }
}

const SECTOR: usize = 512;
const CLUSTER_BITS: u32 = 16;
const CLUSTER: usize = 1 << CLUSTER_BITS;
/// Bit 63 of an L1 or L2 entry: the cluster's refcount is exactly 1.
const COPIED: u64 = 1 << 63;
const MIB: u64 = 1 << 20;
/// One L2 table maps this much guest data (8192 entries of 64 KiB).
const L2_COVERS: u64 = (CLUSTER as u64 / 8) * CLUSTER as u64;
/// Header, refcount table, refcount block, L1 table, L2 table.
const METADATA_CLUSTERS: usize = 5;

/// `len` bytes of guest data, deterministic in `seed`.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    let mut data: Vec<u8> = (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[i % 4] ^ seed).collect();
    // Never an MBR boot signature (a raw image must not look partitioned to an inspector)
    // nor a qcow2/vmdk/vhd magic at the start.
    if len >= 512 && data[510] == 0x55 && data[511] == 0xaa {
        data[511] = 0xab;
    }
    if let Some(first) = data.first_mut()
        && matches!(*first, b'Q' | b'K' | b'c' | b'v' | b'#')
    {
        *first = b'S';
    }
    data
}

/// The image of `len` bytes of guest data in `format`.
pub fn make(format: DiskFormat, len: usize, seed: u8) -> DiskImage {
    let data = pattern(len, seed);
    match format {
        DiskFormat::Raw => {
            let mut bytes = data;
            bytes.resize(len.div_ceil(SECTOR).max(1) * SECTOR, 0);
            DiskImage { format, tamper_offset: len / 2, virtual_size: bytes.len() as u64, bytes }
        }
        DiskFormat::Qcow2 => qcow2(&data),
    }
}

fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

fn put_u64(buf: &mut [u8], at: usize, v: u64) {
    buf[at..at + 8].copy_from_slice(&v.to_be_bytes());
}

/// A qcow2 v3 image holding `data` at guest offset 0 (see the module documentation).
pub fn qcow2(data: &[u8]) -> DiskImage {
    let virtual_size = (data.len() as u64).div_ceil(MIB).max(1) * MIB;
    assert!(virtual_size <= L2_COVERS, "the suite's qcow2 images map at most {L2_COVERS} bytes with one L2 table");
    let data_clusters = data.len().div_ceil(CLUSTER);
    let clusters = METADATA_CLUSTERS + data_clusters;
    // One refcount block of 16-bit entries covers CLUSTER / 2 clusters.
    assert!(clusters <= CLUSTER / 2);
    let (refcount_table, refcount_block, l1, l2, first_data) = (1, 2, 3, 4, METADATA_CLUSTERS);
    let offset = |cluster: usize| (cluster * CLUSTER) as u64;
    let mut file = vec![0u8; clusters * CLUSTER];

    let header = &mut file[..CLUSTER];
    header[0..4].copy_from_slice(b"QFI\xfb");
    put_u32(header, 4, 3); // version
    // 8: backing_file_offset 0, 16: backing_file_size 0
    put_u32(header, 20, CLUSTER_BITS);
    put_u64(header, 24, virtual_size);
    // 32: crypt_method 0 (none)
    put_u32(header, 36, virtual_size.div_ceil(L2_COVERS) as u32); // l1_size
    put_u64(header, 40, offset(l1));
    put_u64(header, 48, offset(refcount_table));
    put_u32(header, 56, 1); // refcount_table_clusters
    // 60: nb_snapshots 0, 64: snapshots_offset 0, 72..96: no feature bits
    put_u32(header, 96, 4); // refcount_order: 16-bit refcounts
    put_u32(header, 100, 104); // header_length; what follows is the end-of-extensions marker (zeros)

    put_u64(&mut file, CLUSTER, offset(refcount_block));
    for cluster in 0..clusters {
        let at = offset(refcount_block) as usize + cluster * 2;
        file[at..at + 2].copy_from_slice(&1u16.to_be_bytes());
    }
    if data_clusters > 0 {
        put_u64(&mut file, offset(l1) as usize, offset(l2) | COPIED);
        for i in 0..data_clusters {
            put_u64(&mut file, offset(l2) as usize + i * 8, offset(first_data + i) | COPIED);
        }
    }
    let start = offset(first_data) as usize;
    file[start..start + data.len()].copy_from_slice(data);
    DiskImage { format: DiskFormat::Qcow2, bytes: file, tamper_offset: start + data.len() / 2, virtual_size }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qcow2_layout() {
        let image = make(DiskFormat::Qcow2, 100_000, 7);
        assert_eq!(image.bytes.len(), 7 * CLUSTER);
        assert_eq!(&image.bytes[..8], b"QFI\xfb\0\0\0\x03");
        assert_eq!(image.virtual_size, MIB);
        assert_eq!(&image.bytes[5 * CLUSTER..5 * CLUSTER + 100_000], pattern(100_000, 7).as_slice());
        assert_ne!(image.tampered(), image.bytes);
        assert!(image.tamper_offset >= 5 * CLUSTER && image.tamper_offset < 5 * CLUSTER + 100_000);
        // Deterministic.
        assert_eq!(make(DiskFormat::Qcow2, 100_000, 7), image);
        assert_ne!(make(DiskFormat::Qcow2, 100_000, 8).bytes, image.bytes);
    }

    #[test]
    fn raw_is_the_data_and_never_looks_like_another_format() {
        for seed in 0..=255u8 {
            let image = make(DiskFormat::Raw, 1000, seed);
            assert_eq!(image.bytes.len(), 1024);
            assert_eq!(&image.bytes[..1000], pattern(1000, seed).as_slice());
            assert!(image.bytes[1000..].iter().all(|b| *b == 0));
            assert!(!matches!(image.bytes[0], b'Q' | b'K' | b'c' | b'v' | b'#'));
            assert!(!(image.bytes[510] == 0x55 && image.bytes[511] == 0xaa));
        }
        let image = make(DiskFormat::Raw, 1000, 1);
        assert_eq!(image.tamper_offset, 500);
        assert_eq!(image.tampered().iter().zip(&image.bytes).filter(|(a, b)| a != b).count(), 1);
    }
}
