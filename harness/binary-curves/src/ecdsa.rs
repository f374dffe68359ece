//! ECDSA verification and (test-only) signing with RFC 6979 nonces.

use digest::Digest;
use digest::block_api::BlockSizeUser;
use hmac::{KeyInit, Mac, SimpleHmac};

use crate::Error;
use crate::curve::{CurveParams, G_WINDOW};
use crate::field::Field;
use crate::mul::{Q_TABLE, Q_WINDOW, mul_multi, odd_multiples, wnaf};
use crate::point::Affine;
use crate::scalar::{Int, int_from_be_bytes, int_from_limbs, int_to_minimal_bytes};
use crate::sig::Signature;

/// The SHA-2 hashes cursive accepts (`HASH_METHODS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub const ALL: [HashAlg; 4] = [Self::Sha224, Self::Sha256, Self::Sha384, Self::Sha512];

    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// cursive's spelling ("SHA-256").
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha224 => "SHA-224",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }

    /// Exact, case-sensitive match on cursive's names ("sha256" is rejected, as in cursive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.name() == name)
    }

    /// Hash `data` with this algorithm.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// Parse r and s and check 1 <= r, s <= n-1.
fn decode_rs<F: Field>(curve: &CurveParams<F>, der: &[u8]) -> Result<(Int, Int), Error> {
    let sig = Signature::from_der(der)?;
    let order = &curve.order;
    let r = int_from_be_bytes(sig.r()).filter(|r| order.in_range(r)).ok_or(Error::ScalarRange("r"))?;
    let s = int_from_be_bytes(sig.s()).filter(|s| order.in_range(s)).ok_or(Error::ScalarRange("s"))?;
    Ok((r, s))
}

/// ECDSA verification (SEC 1 4.1.4) over a prehash of any length, truncated to the leftmost
/// qlen bits as FIPS 186-4 and OpenSSL do. `q` must already be a validated public key.
pub(crate) fn verify<F: Field>(curve: &CurveParams<F>, q: &Affine<F>, prehash: &[u8], der_signature: &[u8]) -> Result<(), Error> {
    let (r, s) = decode_rs(curve, der_signature)?;
    let order = &curve.order;
    let e = order.reduce(&order.bits2int(prehash));
    let w = order.invert(&s).ok_or(Error::ScalarRange("s"))?;
    let u1 = order.mul(&e, &w);
    let u2 = order.mul(&r, &w);
    // A validated key has prime order n > 2, so its odd multiples are always finite.
    let q_table = odd_multiples(curve, q, Q_TABLE).ok_or(Error::NotInSubgroup)?;
    let d1 = wnaf(&u1, G_WINDOW);
    let d2 = wnaf(&u2, Q_WINDOW);
    let sum = mul_multi(curve, &[(&d1, curve.g_table()), (&d2, &q_table)]);
    let Some(point) = curve.to_affine(&sum) else {
        return Err(Error::Verification);
    };
    let v = order.reduce(&int_from_limbs(point.x.limbs()));
    if v == r { Ok(()) } else { Err(Error::Verification) }
}

/// d*G.
pub(crate) fn mul_base<F: Field>(curve: &CurveParams<F>, d: &Int) -> Option<Affine<F>> {
    let digits = wnaf(d, G_WINDOW);
    curve.to_affine(&mul_multi(curve, &[(&digits, curve.g_table())]))
}

/// RFC 6979 3.2 HMAC_DRBG nonce generator.
struct Rfc6979<D: Digest + BlockSizeUser> {
    k: Vec<u8>,
    v: Vec<u8>,
    _d: core::marker::PhantomData<D>,
}

impl<D: Digest + BlockSizeUser> Rfc6979<D> {
    fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut mac = <SimpleHmac<D> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().to_vec()
    }

    /// Steps b–f: x is int2octets(d), h is bits2octets(H(m)).
    fn new(x: &[u8], h: &[u8]) -> Self {
        let hlen = <D as Digest>::output_size();
        let v = vec![0x01u8; hlen];
        let k = vec![0x00u8; hlen];
        let k = Self::hmac(&k, &[&v, &[0x00], x, h]);
        let v = Self::hmac(&k, &[&v]);
        let k = Self::hmac(&k, &[&v, &[0x01], x, h]);
        let v = Self::hmac(&k, &[&v]);
        Rfc6979 { k, v, _d: core::marker::PhantomData }
    }

    /// Step h: the next candidate T of at least qlen bits (the caller applies bits2int and
    /// the range check, then calls `reject` to step past an unusable candidate).
    fn candidate(&mut self, qbytes: usize) -> Vec<u8> {
        let mut t = Vec::with_capacity(qbytes + self.v.len());
        while t.len() < qbytes {
            self.v = Self::hmac(&self.k, &[&self.v]);
            t.extend_from_slice(&self.v);
        }
        t
    }

    fn reject(&mut self) {
        self.k = Self::hmac(&self.k, &[&self.v, &[0x00]]);
        self.v = Self::hmac(&self.k, &[&self.v]);
    }
}

/// ECDSA signing with a deterministic RFC 6979 nonce (HMAC with `hash`). Not constant time.
pub(crate) fn sign<F: Field>(curve: &CurveParams<F>, d: &Int, prehash: &[u8], hash: HashAlg) -> Result<Vec<u8>, Error> {
    if prehash.len() != hash.output_len() {
        return Err(Error::PrehashLength { hash: hash.name(), expected: hash.output_len(), got: prehash.len() });
    }
    match hash {
        HashAlg::Sha224 => sign_with::<F, sha2::Sha224>(curve, d, prehash),
        HashAlg::Sha256 => sign_with::<F, sha2::Sha256>(curve, d, prehash),
        HashAlg::Sha384 => sign_with::<F, sha2::Sha384>(curve, d, prehash),
        HashAlg::Sha512 => sign_with::<F, sha2::Sha512>(curve, d, prehash),
    }
}

fn sign_with<F: Field, D: Digest + BlockSizeUser>(curve: &CurveParams<F>, d: &Int, prehash: &[u8]) -> Result<Vec<u8>, Error> {
    let order = &curve.order;
    if !order.in_range(d) {
        return Err(Error::InvalidPrivateKey("scalar out of range"));
    }
    let e = order.reduce(&order.bits2int(prehash));
    let mut drbg = Rfc6979::<D>::new(&order.to_be_bytes(d), &order.to_be_bytes(&e));
    loop {
        let t = drbg.candidate(order.byte_len());
        let k = order.bits2int(&t);
        if !order.in_range(&k) {
            drbg.reject();
            continue;
        }
        let signature = mul_base(curve, &k).and_then(|point| {
            let r = order.reduce(&int_from_limbs(point.x.limbs()));
            let kinv = order.invert(&k)?;
            let s = order.mul(&kinv, &order.add(&e, &order.mul(&r, d)));
            let ok = !r.is_zero_vartime() && !s.is_zero_vartime();
            ok.then(|| Signature::from_scalars(&int_to_minimal_bytes(&r), &int_to_minimal_bytes(&s)))
        });
        match signature {
            Some(sig) => return Ok(sig.to_der()),
            None => drbg.reject(),
        }
    }
}
