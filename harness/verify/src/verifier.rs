//! The streaming verifier: image data is hashed once as it passes, then the signature is
//! checked over the digest (cursive's `verifiers.py`: hash, then `Prehashed` verify).

use std::io;

use crate::Error;
use crate::algorithms::{HashMethod, Hasher};
use crate::public_key::{PublicKey, RsaPadding, SignatureHash};

/// Chunk size for streaming image data on one thread: 64 KiB stays in the CPU's L2 cache, so
/// the kernel's copy and the hash both run hot (measured: 256 KiB and 1 MiB buffers were 35%
/// slower when one thread does both). glance_store writes in 64 KiB chunks too. With a reader
/// thread, [`read_ahead`](crate::read_ahead) uses its own buffers.
pub const READ_BUFFER: usize = 64 * 1024;

/// Verifies one image's data against its signature, in bounded memory.
///
/// `finish` consumes the verifier, so cursive's `AlreadyFinalized` cannot happen.
pub struct Verifier {
    hash_method: HashMethod,
    hasher: Hasher,
    key: PublicKey,
    signature: Vec<u8>,
    bytes: u64,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("hash_method", &self.hash_method)
            .field("key", &self.key.describe())
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl Verifier {
    /// A verifier for `signature` (raw bytes: the PSS block, or DER for DSA/ECDSA) by `key`.
    pub fn new(hash_method: HashMethod, key: PublicKey, signature: Vec<u8>) -> Result<Self, Error> {
        if signature.is_empty() {
            return Err(Error::VerifierCreation);
        }
        Ok(Verifier { hash_method, hasher: hash_method.hasher(), key, signature, bytes: 0 })
    }

    /// Feeds the next chunk of image data; any chunking gives the same result.
    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
    }

    /// How many bytes have been fed so far.
    pub fn bytes_processed(&self) -> u64 {
        self.bytes
    }

    pub fn hash_method(&self) -> HashMethod {
        self.hash_method
    }

    /// Checks the signature over everything fed. `Err(Error::InvalidSignature)` when the data
    /// or the signature was altered.
    pub fn finish(self) -> Result<(), Error> {
        let digest = self.hasher.finalize();
        self.key.verify_digest(SignatureHash::Sha2(self.hash_method), &digest, &self.signature, RsaPadding::PssAnySalt)
    }

    /// Checks the signature over a digest the caller computed with [`Verifier::hash_method`]
    /// over all the data; anything fed through `update` is ignored. (Glance already computes
    /// SHA-512 for `os_hash_value`; hashing the data twice would halve its upload speed.) A
    /// digest of the wrong length is a mismatch, never a panic.
    pub fn finish_with_digest(self, digest: &[u8]) -> Result<(), Error> {
        if digest.len() != self.hash_method.output_len() {
            return Err(Error::InvalidSignature);
        }
        self.key.verify_digest(SignatureHash::Sha2(self.hash_method), digest, &self.signature, RsaPadding::PssAnySalt)
    }

    /// Streams a reader through the verifier, then finishes. The reading runs on a helper
    /// thread that fills a small ring of buffers while this thread hashes
    /// ([`read_ahead`](crate::read_ahead)), so the copy out of the kernel overlaps the hash;
    /// memory stays bounded by the ring. The outer error is the reader's; the inner result is
    /// the verdict.
    pub fn verify_reader<R: io::Read + Send>(mut self, reader: R) -> Result<Result<(), Error>, io::Error> {
        crate::read_ahead::read_ahead(reader, |chunk| self.update(chunk))?;
        Ok(self.finish())
    }
}

/// Lets image data be copied straight in with `std::io::copy`.
impl io::Write for Verifier {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
