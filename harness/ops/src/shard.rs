//! Splitting the images of a cloud into `N` shards, so that `N` runs (on one machine or as the
//! pods of a Kubernetes Indexed Job) share the work. An image belongs to shard
//! `SHA-256(id)[0..8] (big-endian) mod N`: it depends on the id alone, so the shards are
//! disjoint and together complete whatever Glance lists, every run with the same `N` agrees,
//! and new images never move the existing ones.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;

use sigstack_verify::HashMethod;

/// Shard `index` of `count` (`0 <= index < count`), written `I/N`. Kubernetes'
/// `JOB_COMPLETION_INDEX` is 0-based, so it can be passed as `I` directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why `I/N` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("expected I/N (shard I of N, 0 <= I < N), e.g. 0/4")]
    Syntax,
    #[error("the shard count N must be at least 1")]
    ZeroCount,
    #[error("the shard index must be below the count: 0 <= I < N (the first shard is 0/N)")]
    IndexTooLarge,
}

impl Shard {
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        if count == 0 {
            return Err(ShardError::ZeroCount);
        }
        if index >= count {
            return Err(ShardError::IndexTooLarge);
        }
        Ok(Shard { index, count })
    }

    pub fn index(self) -> u32 {
        self.index
    }

    pub fn count(self) -> u32 {
        self.count
    }

    /// The shard (of `count`) an image id belongs to.
    pub fn of(id: &str, count: u32) -> u32 {
        let digest = HashMethod::Sha256.digest(id.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        (u64::from_be_bytes(first) % u64::from(count.max(1))) as u32
    }

    /// Whether the image with this id is this shard's.
    pub fn contains(self, id: &str) -> bool {
        Shard::of(id, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let (index, count) = s.split_once('/').ok_or(ShardError::Syntax)?;
        // Digits only: no sign, no spaces, no `+`.
        let number = |t: &str| if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) { t.parse::<u32>().ok() } else { None };
        let (index, count) = (number(index).ok_or(ShardError::Syntax)?, number(count).ok_or(ShardError::Syntax)?);
        Shard::new(index, count)
    }
}

/// How a run shares out its work: how many images at once, and which part of the cloud's
/// images it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fanout {
    /// Images worked on at once (downloads, and the hashing of their data on as many threads).
    /// Memory grows with it: about `jobs` x 4 chunks of a download.
    pub jobs: NonZeroUsize,
    /// Only this shard's images; `None`: all of them.
    pub shard: Option<Shard>,
}

impl Default for Fanout {
    /// One image at a time, every image.
    fn default() -> Fanout {
        Fanout { jobs: NonZeroUsize::MIN, shard: None }
    }
}

impl Fanout {
    /// Whether the image with this id is this run's.
    pub fn selects(&self, id: &str) -> bool {
        self.shard.is_none_or(|s| s.contains(id))
    }
}

/// Why a set of shard reports is not one complete run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardSetError {
    #[error("no shard reports given")]
    Empty,
    #[error("{second} is shard {shard} of {count} but {first} is a shard of {first_count}: all must be made with the same N")]
    Counts { first: String, first_count: u32, second: String, shard: Shard, count: u32 },
    #[error("shard {shard} is given twice: {first} and {second}")]
    Duplicate { shard: Shard, first: String, second: String },
    /// `missing`: the first few missing indices; `more`: how many others are missing.
    #[error("shard(s) {} missing (every shard 0..{} must be given once)", listed(missing, *more), count - 1)]
    Missing { missing: Vec<u32>, more: u64, count: u32 },
}

/// `1, 2` or `1, 2 and 7 more`.
fn listed(missing: &[u32], more: u64) -> String {
    let list = missing.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    if more > 0 { format!("{list} and {more} more") } else { list }
}

/// Checks that `reports` (a label, e.g. the file name, and its shard) are every shard
/// `0..N-1` of one `N`, each exactly once.
pub fn check_complete(reports: &[(String, Shard)]) -> Result<(), ShardSetError> {
    /// How many missing indices the error lists.
    const LISTED: usize = 10;
    let (first, first_shard) = reports.first().ok_or(ShardSetError::Empty)?;
    let count = first_shard.count;
    // By index, not a vector of N entries: N comes from the reports and may be huge.
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    for (label, shard) in reports {
        if shard.count != count {
            return Err(ShardSetError::Counts {
                first: first.clone(),
                first_count: count,
                second: label.clone(),
                shard: *shard,
                count: shard.count,
            });
        }
        if let Some(earlier) = seen.insert(shard.index, label) {
            return Err(ShardSetError::Duplicate { shard: *shard, first: earlier.to_owned(), second: label.clone() });
        }
    }
    let absent = u64::from(count) - seen.len() as u64;
    if absent == 0 {
        return Ok(());
    }
    // The first few gaps between the indices given.
    let mut missing = Vec::new();
    let mut next = 0u64;
    for index in seen.keys().map(|i| u64::from(*i)).chain([u64::from(count)]) {
        while next < index && missing.len() < LISTED {
            missing.push(next as u32);
            next += 1;
        }
        next = index + 1;
    }
    Err(ShardSetError::Missing { more: absent - missing.len() as u64, missing, count })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn ids(n: usize, salt: &str) -> Vec<String> {
        // UUID-shaped like Glance's, different per salt.
        (0..n)
            .map(|i| {
                let d = HashMethod::Sha256.digest(format!("{salt}{i}").as_bytes());
                let h: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
                format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
            })
            .collect()
    }

    fn shards(count: u32) -> Vec<Shard> {
        (0..count).map(|i| Shard::new(i, count).unwrap()).collect()
    }

    #[test]
    fn shards_are_disjoint_and_complete() {
        let images = ids(2_000, "a");
        for count in [1, 2, 3, 7, 16] {
            let mut union = BTreeSet::new();
            for shard in shards(count) {
                for id in images.iter().filter(|id| shard.contains(id)) {
                    assert!(union.insert(id.clone()), "{id} in two shards of {count}");
                }
            }
            assert_eq!(union.len(), images.len(), "shards of {count} miss images");
        }
    }

    #[test]
    fn shards_are_roughly_even() {
        let images = ids(4_000, "b");
        for shard in shards(4) {
            let n = images.iter().filter(|id| shard.contains(id)).count();
            assert!((850..=1150).contains(&n), "shard {shard}: {n} of 4000");
        }
    }

    #[test]
    fn new_images_never_move_existing_ones() {
        let before = ids(500, "c");
        let assigned: Vec<u32> = before.iter().map(|id| Shard::of(id, 5)).collect();
        // A cloud that grew: new ids interleaved; the old ones keep their shard.
        let mut after = ids(300, "d");
        after.extend(before.iter().cloned());
        after.sort();
        for (id, shard) in before.iter().zip(&assigned) {
            assert!(after.contains(id));
            assert_eq!(Shard::of(id, 5), *shard, "{id} moved");
        }
    }

    #[test]
    fn assignment_is_fixed_by_the_id() {
        // The documented rule, computed by hand: SHA-256("abc") starts ba7816bf8f01cfea.
        assert_eq!(Shard::of("abc", 1000), (0xba78_16bf_8f01_cfeau64 % 1000) as u32);
        assert!(Shard::new(Shard::of("abc", 7), 7).unwrap().contains("abc"));
    }

    #[test]
    fn parse_and_display() {
        assert_eq!("0/1".parse::<Shard>(), Shard::new(0, 1));
        assert_eq!("2/3".parse::<Shard>().unwrap().to_string(), "2/3");
        assert_eq!("3/3".parse::<Shard>(), Err(ShardError::IndexTooLarge));
        assert_eq!("0/0".parse::<Shard>(), Err(ShardError::ZeroCount));
        for bad in ["a/b", "1", "", "/", "1/", "/3", "-1/3", "+1/3", " 1/3", "1/3 ", "1/3/5", "99999999999/3"] {
            assert_eq!(bad.parse::<Shard>(), Err(ShardError::Syntax), "{bad:?}");
        }
    }

    #[test]
    fn complete_sets_are_checked() {
        let r = |label: &str, s: &str| (label.to_owned(), s.parse::<Shard>().unwrap());
        assert_eq!(check_complete(&[r("b", "1/2"), r("a", "0/2")]), Ok(()));
        assert_eq!(check_complete(&[]), Err(ShardSetError::Empty));
        assert_eq!(check_complete(&[r("a", "0/3"), r("c", "2/3")]), Err(ShardSetError::Missing { missing: vec![1], more: 0, count: 3 }));
        let err = check_complete(&[r("a", "0/2"), r("b", "0/2"), r("c", "1/2")]).unwrap_err();
        assert_eq!(err.to_string(), "shard 0/2 is given twice: a and b");
        let err = check_complete(&[r("a", "0/2"), r("b", "1/3")]).unwrap_err();
        assert!(matches!(err, ShardSetError::Counts { .. }), "{err}");
        assert_eq!(
            check_complete(&[r("a", "0/3")]).unwrap_err().to_string(),
            "shard(s) 1, 2 missing (every shard 0..2 must be given once)"
        );
        // A huge N from a report is listed, not allocated.
        assert_eq!(
            check_complete(&[r("a", "1/4294967295"), r("b", "3/4294967295")]).unwrap_err().to_string(),
            "shard(s) 0, 2, 4, 5, 6, 7, 8, 9, 10, 11 and 4294967283 more missing (every shard 0..4294967294 must be given once)"
        );
        assert_eq!(
            check_complete(&[r("z", "4294967294/4294967295")]).unwrap_err().to_string().split(" and ").nth(1),
            Some("4294967284 more missing (every shard 0..4294967294 must be given once)")
        );
    }
}
