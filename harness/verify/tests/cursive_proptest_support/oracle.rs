//! The oracle (one long-lived Python process per profile, fed whole batches), the key manager
//! both sides see, and the parts of an answer that are compared.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout};

use serde_json::{Value, json};
use sigstack_verify::{Certificate, Error};

use crate::common::spawn_cursive_oracle;

pub struct Oracle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Oracle {
    pub fn start(profile: &str) -> Oracle {
        let (child, stdin, stdout) = spawn_cursive_oracle(profile);
        Oracle { child, stdin, stdout }
    }

    /// Writes every request at once (from a second thread, so neither pipe can fill up while
    /// the other waits) and reads the answers, which come back in order.
    pub fn batch(&mut self, requests: &[Value]) -> Vec<Value> {
        let Oracle { stdin, stdout, .. } = self;
        std::thread::scope(|s| {
            s.spawn(move || {
                let mut w = BufWriter::new(stdin);
                for r in requests {
                    writeln!(w, "{r}").expect("writing to the cursive oracle");
                }
                w.flush().expect("writing to the cursive oracle");
            });
            requests.iter().map(|r| read_answer(stdout, r)).collect()
        })
    }

    pub fn ask(&mut self, request: &Value) -> Value {
        self.batch(std::slice::from_ref(request)).pop().unwrap()
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_answer(stdout: &mut BufReader<ChildStdout>, request: &Value) -> Value {
    let mut line = String::new();
    let n = stdout.read_line(&mut line).expect("reading from the cursive oracle");
    assert!(n > 0, "the cursive oracle exited before answering {request}");
    let answer: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("oracle said {line:?}: {e}"));
    assert_eq!(answer["id"], request["id"], "oracle answers out of order");
    assert_ne!(answer["outcome"], "oracle_error", "bad case {request}: {answer}");
    answer
}

/// What our engine says, in the oracle's terms.
pub fn ours(result: Result<(), Error>) -> Value {
    match result {
        Ok(()) => json!({"outcome": "verified"}),
        Err(Error::InvalidSignature) => json!({"outcome": "invalid_signature"}),
        Err(e) => {
            json!({"outcome": "error", "exception": e.cursive_exception(), "message": e.to_string()})
        }
    }
}

/// The parts of an answer we compare. Escaped `ValueError`s carry cryptography's Rust parser
/// text, which is not ours to match; their class is.
pub fn verdict(answer: &Value) -> Value {
    let mut v = json!({"outcome": answer["outcome"]});
    if answer["outcome"] == "error" {
        v["exception"] = answer["exception"].clone();
        if answer["exception"] != "ValueError" {
            v["message"] = answer["message"].clone();
        }
    }
    v
}

// ---------------------------------------------------------------------------------------------
// The key manager both sides see.
// ---------------------------------------------------------------------------------------------

/// A key-manager entry: a file handed over as an X.509 certificate, a secret of another
/// format, or a castellan error.
#[derive(Clone, Debug)]
pub enum Secret {
    File(PathBuf),
    Format(&'static str),
    NotFound,
    KeyManagerError,
}

impl Secret {
    fn json(&self) -> Value {
        match self {
            Secret::File(p) => json!({"path": p}),
            Secret::Format(f) => json!({"format": f}),
            Secret::NotFound => json!({"error": "not_found"}),
            Secret::KeyManagerError => json!({"error": "key_manager_error"}),
        }
    }

    /// cursive's `get_certificate` as castellan's Barbican backend feeds it.
    fn fetch(&self, uuid: &str) -> Result<Certificate, Error> {
        match self {
            Secret::NotFound => Err(Error::CertificateNotFound(uuid.to_owned())),
            Secret::KeyManagerError => Err(Error::CertificateRetrieval(uuid.to_owned())),
            Secret::Format(f) => Err(Error::InvalidCertificateFormat((*f).to_owned())),
            Secret::File(p) => Certificate::from_pem_or_der(&std::fs::read(p).unwrap()),
        }
    }
}

pub type Secrets = Vec<(String, Secret)>;

pub fn secrets_json(secrets: &Secrets) -> Value {
    Value::Object(secrets.iter().map(|(u, s)| (u.clone(), s.json())).collect())
}

/// Unknown uuids are "not found", as castellan reports them.
pub fn fetch_from(secrets: &Secrets, uuid: &str) -> Result<Certificate, Error> {
    secrets.iter().find(|(u, _)| u == uuid).map_or(Secret::NotFound, |(_, s)| s.clone()).fetch(uuid)
}
