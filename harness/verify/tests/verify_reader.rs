//! `Verifier::verify_reader`: the reading runs on a helper thread (a ring of buffers), so these
//! check the verdicts and that a failing or panicking reader ends in an error, not a hang.

mod common;

use std::io::{self, Read};

use common::*;
use sigstack_verify::{Error, HashMethod, KeyType, KeyTypeProfile, READ_AHEAD_CHUNK, SignatureProperties, Verifier};

/// Several ring buffers' worth, with a tail that does not fill the last one.
fn image() -> Vec<u8> {
    (0..(5 * READ_AHEAD_CHUNK + 12_345) as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect()
}

fn verifier(hash: HashMethod, data: &[u8]) -> Verifier {
    let sig = b64(&sign(&signing_key("rsa-2048"), KeyType::RsaPss, hash, data));
    let props = SignatureProperties {
        signature: Some(sig),
        hash_method: Some(hash.name().to_owned()),
        key_type: Some("RSA-PSS".to_owned()),
        certificate_uuid: Some("cert-uuid".to_owned()),
    };
    props.prepare(KeyTypeProfile::Current).expect("properties").verifier(&signing_cert("rsa-2048")).expect("verifier")
}

/// Hands out the data in uneven reads, then fails with `fail` instead of ending if set.
struct Uneven<'a> {
    data: &'a [u8],
    at: usize,
    reads: usize,
    fail: Option<io::ErrorKind>,
}

impl Read for Uneven<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.data.len() {
            return match self.fail {
                Some(kind) => Err(io::Error::new(kind, "connection reset by the test")),
                None => Ok(0),
            };
        }
        self.reads += 1;
        let n = buf.len().min(1 + self.reads * 7919 % 100_000).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn uneven(data: &[u8], fail: Option<io::ErrorKind>) -> Uneven<'_> {
    Uneven { data, at: 0, reads: 0, fail }
}

#[test]
fn good_data_verifies_for_every_hash() {
    let data = image();
    for hash in HashMethod::ALL {
        assert_eq!(verifier(hash, &data).verify_reader(uneven(&data, None)).expect("reads"), Ok(()), "{hash}");
        assert_eq!(verifier(hash, &data).verify_reader(&data[..]).expect("reads"), Ok(()), "{hash} from a slice");
    }
    // An empty image, and one smaller than a buffer.
    for len in [0, 1, 1000] {
        let small = &data[..len];
        assert_eq!(verifier(HashMethod::Sha256, small).verify_reader(small).expect("reads"), Ok(()), "{len} bytes");
    }
}

#[test]
fn tampered_data_is_invalid() {
    let data = image();
    let verdict = |bytes: &[u8]| verifier(HashMethod::Sha256, &data).verify_reader(uneven(bytes, None)).expect("reads");
    for at in [0, READ_AHEAD_CHUNK - 1, READ_AHEAD_CHUNK, data.len() - 1] {
        let mut tampered = data.clone();
        tampered[at] ^= 0x01;
        assert_eq!(verdict(&tampered), Err(Error::InvalidSignature), "byte {at}");
    }
    // Data cut short, or with a byte more, does not verify either.
    assert_eq!(verdict(&data[..data.len() - 1]), Err(Error::InvalidSignature));
    let mut longer = data.clone();
    longer.push(0);
    assert_eq!(verdict(&longer), Err(Error::InvalidSignature));
}

#[test]
fn a_read_error_is_reported_not_a_verdict() {
    let data = image();
    let err =
        verifier(HashMethod::Sha512, &data).verify_reader(uneven(&data, Some(io::ErrorKind::ConnectionReset))).expect_err("read error");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    assert_eq!(err.to_string(), "connection reset by the test");
}

#[test]
fn a_panicking_reader_is_reported_not_a_hang() {
    struct Breaks(usize);
    impl Read for Breaks {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            assert!(self.0 > 0, "reader failure (expected by the test)");
            self.0 -= 1;
            let n = buf.len().min(1000);
            buf[..n].fill(3);
            Ok(n)
        }
    }
    let data = image();
    let err = verifier(HashMethod::Sha256, &data).verify_reader(Breaks(600)).expect_err("panic becomes an error");
    assert!(err.to_string().contains("panicked"), "{err}");
}
