//! What the services ask `qemu-img` to do with qcow2 files, without it:
//! - [`convert`], `qemu-img convert -O qcow2`: Cinder's `image_utils.upload_volume` before
//!   uploading a volume to an image of another disk format, and the libvirt driver's snapshot
//!   of a local disk (`snapshot_extract`). A qcow2 version 3 file (64 KiB clusters, 16-bit
//!   refcounts, no backing file, no compression) holding the non-zero clusters; zero clusters
//!   stay unallocated, as qemu-img leaves them.
//! - [`grow`], `qemu-img resize`: an instance disk grown to the flavor's root disk.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

const CLUSTER_BITS: u32 = 16;
const CLUSTER: u64 = 1 << CLUSTER_BITS;
/// L2 entries per table (8-byte entries in one cluster).
const L2_ENTRIES: u64 = CLUSTER / 8;
/// Refcount entries per block (16-bit refcounts in one cluster).
const REFCOUNTS_PER_BLOCK: u64 = CLUSTER / 2;
/// `QCOW_OFLAG_COPIED`: the cluster's refcount is exactly one.
const COPIED: u64 = 1 << 63;
const HEADER_LENGTH: u32 = 104;

/// Converts the raw image at `src` (of `virtual_size` bytes; shorter files read as zeros)
/// into a qcow2 file at `dst`.
pub fn convert(src: &Path, dst: &Path, virtual_size: u64) -> std::io::Result<()> {
    // Pass 1: which guest clusters hold data.
    let guest_clusters = virtual_size.div_ceil(CLUSTER);
    let mut data: Vec<u64> = Vec::new();
    let mut input = std::fs::File::open(src)?;
    let mut buf = vec![0u8; CLUSTER as usize];
    for index in 0..guest_clusters {
        let n = read_cluster(&mut input, &mut buf)?;
        if buf[..n].iter().any(|b| *b != 0) {
            data.push(index);
        }
        if n == 0 {
            break;
        }
    }
    // Layout: header, refcount table, L1, refcount blocks, L2 tables, data clusters.
    let l1_size = guest_clusters.div_ceil(L2_ENTRIES).max(1);
    let l1_clusters = (l1_size * 8).div_ceil(CLUSTER);
    let mut l2_tables: Vec<u64> = data.iter().map(|c| c / L2_ENTRIES).collect();
    l2_tables.dedup();
    let mut refcount_blocks = 1;
    let total = loop {
        let total = 2 + l1_clusters + refcount_blocks + l2_tables.len() as u64 + data.len() as u64;
        let needed = total.div_ceil(REFCOUNTS_PER_BLOCK);
        if needed <= refcount_blocks {
            break total;
        }
        refcount_blocks = needed;
    };
    let l1_offset = 2 * CLUSTER;
    let refblocks_offset = l1_offset + l1_clusters * CLUSTER;
    let l2_offset = refblocks_offset + refcount_blocks * CLUSTER;
    let data_offset = l2_offset + l2_tables.len() as u64 * CLUSTER;

    let mut out = std::fs::File::create(dst)?;
    out.set_len(total * CLUSTER)?;
    // Header.
    let mut header = Vec::with_capacity(HEADER_LENGTH as usize + 8);
    header.extend_from_slice(b"QFI\xfb");
    header.extend_from_slice(&3u32.to_be_bytes());
    header.extend_from_slice(&0u64.to_be_bytes()); // backing file offset
    header.extend_from_slice(&0u32.to_be_bytes()); // backing file size
    header.extend_from_slice(&CLUSTER_BITS.to_be_bytes());
    header.extend_from_slice(&virtual_size.to_be_bytes());
    header.extend_from_slice(&0u32.to_be_bytes()); // no encryption
    header.extend_from_slice(&(l1_size as u32).to_be_bytes());
    header.extend_from_slice(&l1_offset.to_be_bytes());
    header.extend_from_slice(&CLUSTER.to_be_bytes()); // refcount table at cluster 1
    header.extend_from_slice(&1u32.to_be_bytes()); // refcount table clusters
    header.extend_from_slice(&0u32.to_be_bytes()); // snapshots
    header.extend_from_slice(&0u64.to_be_bytes()); // snapshots offset
    header.extend_from_slice(&0u64.to_be_bytes()); // incompatible features
    header.extend_from_slice(&0u64.to_be_bytes()); // compatible features
    header.extend_from_slice(&0u64.to_be_bytes()); // autoclear features
    header.extend_from_slice(&4u32.to_be_bytes()); // refcount order: 16 bits
    header.extend_from_slice(&HEADER_LENGTH.to_be_bytes());
    header.extend_from_slice(&[0u8; 8]); // end of header extensions
    write_at(&mut out, 0, &header)?;
    // Refcount table and blocks: every cluster of the file is used once.
    let table: Vec<u8> = (0..refcount_blocks).flat_map(|i| (refblocks_offset + i * CLUSTER).to_be_bytes()).collect();
    write_at(&mut out, CLUSTER, &table)?;
    let refcounts: Vec<u8> = (0..total).flat_map(|_| 1u16.to_be_bytes()).collect();
    write_at(&mut out, refblocks_offset, &refcounts)?;
    // L1: one entry per L2 table.
    let mut l1 = vec![0u8; (l1_size * 8) as usize];
    for (i, table_index) in l2_tables.iter().enumerate() {
        let entry = (l2_offset + i as u64 * CLUSTER) | COPIED;
        l1[(*table_index * 8) as usize..(*table_index * 8 + 8) as usize].copy_from_slice(&entry.to_be_bytes());
    }
    write_at(&mut out, l1_offset, &l1)?;
    // L2 entries and the data itself.
    let mut l2 = vec![vec![0u8; CLUSTER as usize]; l2_tables.len()];
    for (i, guest) in data.iter().enumerate() {
        let host = data_offset + i as u64 * CLUSTER;
        let table = l2_tables.binary_search(&(guest / L2_ENTRIES)).unwrap_or_default();
        let slot = ((guest % L2_ENTRIES) * 8) as usize;
        l2[table][slot..slot + 8].copy_from_slice(&(host | COPIED).to_be_bytes());
        input.seek(SeekFrom::Start(guest * CLUSTER))?;
        let n = read_cluster(&mut input, &mut buf)?;
        buf[n..].fill(0);
        write_at(&mut out, host, &buf)?;
    }
    for (i, table) in l2.iter().enumerate() {
        write_at(&mut out, l2_offset + i as u64 * CLUSTER, table)?;
    }
    out.sync_all()
}

/// `src`, a qcow2 file, copied to `dst` with its virtual size grown to `size` bytes, as
/// `qemu-img resize` grows an instance disk to the flavor's root disk: the header's size, and
/// the L1 table's length within the clusters it already has (the new entries unallocated).
/// `false` (nothing written) when the file is not that simple a qcow2, is already as large,
/// or its L1 table has no room.
pub fn grow(src: &std::path::Path, dst: &std::path::Path, size: u64) -> std::io::Result<bool> {
    let mut file = std::fs::File::open(src)?;
    let mut header = [0u8; 48];
    if file.read_exact(&mut header).is_err() || &header[0..4] != b"QFI\xfb" {
        return Ok(false);
    }
    let be32 = |at: usize| u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
    let be64 = |at: usize| (u64::from(be32(at)) << 32) | u64::from(be32(at + 4));
    let (cluster_bits, current, l1_size, l1_offset) = (be32(20), be64(24), u64::from(be32(36)), be64(40));
    if !(9..=21).contains(&cluster_bits) || current >= size {
        return Ok(false);
    }
    let cluster = 1u64 << cluster_bits;
    let needed = size.div_ceil((cluster / 8) * cluster).max(l1_size);
    let room = (l1_size * 8).div_ceil(cluster).max(1) * cluster / 8;
    if needed > room {
        return Ok(false);
    }
    // The entries the table grows into must be unused (zero) in the file.
    let mut grown = vec![0u8; ((needed - l1_size) * 8) as usize];
    file.seek(SeekFrom::Start(l1_offset + l1_size * 8))?;
    if file.read_exact(&mut grown).is_err() || grown.iter().any(|b| *b != 0) {
        return Ok(false);
    }
    std::fs::copy(src, dst)?;
    let mut out = std::fs::OpenOptions::new().write(true).open(dst)?;
    out.seek(SeekFrom::Start(24))?;
    out.write_all(&size.to_be_bytes())?;
    out.seek(SeekFrom::Start(36))?;
    out.write_all(&(needed as u32).to_be_bytes())?;
    Ok(true)
}

/// Reads up to one cluster; the byte count (less at the end of the file).
fn read_cluster(input: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn write_at(out: &mut std::fs::File, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
    out.seek(SeekFrom::Start(offset))?;
    out.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u64_at(bytes: &[u8], at: usize) -> u64 {
        u64::from_be_bytes(bytes[at..at + 8].try_into().unwrap())
    }

    /// Reads guest offset `at` back through the L1 and L2 tables.
    fn read_guest(image: &[u8], at: u64) -> Option<u8> {
        let l1 = u64_at(image, 40) as usize;
        let l1_entry = u64_at(image, l1 + (at / (CLUSTER * L2_ENTRIES)) as usize * 8) & !COPIED;
        if l1_entry == 0 {
            return None;
        }
        let l2_entry = u64_at(image, l1_entry as usize + ((at / CLUSTER) % L2_ENTRIES) as usize * 8) & !COPIED;
        if l2_entry == 0 {
            return None;
        }
        Some(image[(l2_entry + at % CLUSTER) as usize])
    }

    #[test]
    fn data_clusters_are_mapped_and_zero_clusters_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("raw"), dir.path().join("qcow2"));
        let size = 3 * CLUSTER * L2_ENTRIES / 2; // 768 MiB: two L2 tables
        let file = std::fs::File::create(&src).unwrap();
        file.set_len(size).unwrap();
        drop(file);
        let mut f = std::fs::OpenOptions::new().write(true).open(&src).unwrap();
        write_at(&mut f, 5, b"\x07").unwrap();
        write_at(&mut f, CLUSTER * L2_ENTRIES + 3 * CLUSTER + 9, b"\x2a").unwrap();
        drop(f);
        convert(&src, &dst, size).unwrap();
        let image = std::fs::read(&dst).unwrap();
        assert_eq!(&image[..4], b"QFI\xfb");
        assert_eq!(u32::from_be_bytes(image[4..8].try_into().unwrap()), 3);
        assert_eq!(u64_at(&image, 24), size);
        assert_eq!(read_guest(&image, 5), Some(7));
        assert_eq!(read_guest(&image, 6), Some(0));
        assert_eq!(read_guest(&image, CLUSTER * L2_ENTRIES + 3 * CLUSTER + 9), Some(42));
        assert_eq!(read_guest(&image, 7 * CLUSTER), None, "a zero cluster is not allocated");
        // header, refcount table, L1, one refcount block, two L2 tables, two data clusters.
        assert_eq!(image.len() as u64, 8 * CLUSTER);
    }

    /// A qcow2 v3 header (64 KiB clusters, 1 MiB, one L1 entry at cluster 3) and 4 clusters.
    fn small_qcow2() -> Vec<u8> {
        let mut file = vec![0u8; 4 << 16];
        file[0..4].copy_from_slice(b"QFI\xfb");
        file[4..8].copy_from_slice(&3u32.to_be_bytes());
        file[20..24].copy_from_slice(&16u32.to_be_bytes());
        file[24..32].copy_from_slice(&(1u64 << 20).to_be_bytes());
        file[36..40].copy_from_slice(&1u32.to_be_bytes());
        file[40..48].copy_from_slice(&(3u64 << 16).to_be_bytes());
        file[3 << 16..(3 << 16) + 8].copy_from_slice(&((4u64 << 16) | 1 << 63).to_be_bytes());
        file
    }

    #[test]
    fn a_qcow2_grows_to_the_root_disk_and_nothing_else_does() {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
        std::fs::write(&src, small_qcow2()).unwrap();
        assert!(grow(&src, &dst, 1 << 30).unwrap());
        let grown = std::fs::read(&dst).unwrap();
        assert_eq!(u64::from_be_bytes(grown[24..32].try_into().unwrap()), 1 << 30);
        assert_eq!(u32::from_be_bytes(grown[36..40].try_into().unwrap()), 2, "512 MiB per L1 entry");
        assert_eq!(grown[40..], small_qcow2()[40..], "only the size and the L1 length change");
        // Not larger, not a qcow2, or an L1 table without room: left alone.
        assert!(!grow(&src, &dst, 1 << 20).unwrap());
        std::fs::write(&src, vec![7u8; 1 << 16]).unwrap();
        assert!(!grow(&src, &dst, 1 << 30).unwrap());
        let mut crowded = small_qcow2();
        crowded[(3 << 16) + 8] = 1;
        std::fs::write(&src, crowded).unwrap();
        assert!(!grow(&src, &dst, 1 << 30).unwrap());
    }
}
