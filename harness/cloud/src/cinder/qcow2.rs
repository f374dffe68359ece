//! `qemu-img convert -O qcow2`, as `image_utils.upload_volume` runs it before uploading a
//! volume to an image of another disk format: a qcow2 version 3 file (64 KiB clusters,
//! 16-bit refcounts, no backing file, no compression) holding the volume's non-zero clusters;
//! zero clusters stay unallocated, as qemu-img leaves them.

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
}
