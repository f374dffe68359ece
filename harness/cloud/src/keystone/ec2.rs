//! OS-EC2 credentials (`keystone/api/users.py`): a credential of type `ec2` whose blob holds an
//! access key and a secret, its id the SHA-256 of the access key (`utils.hash_access_key`).
//! Keystone encrypts credential blobs at rest (`credential_provider`, Fernet); here the blob is
//! sealed with a keystream from the token-signing key, so the state dump never shows a secret.

use hmac::{KeyInit, Mac};
use rusqlite::params;
use sha2::Digest;

use super::model::Identity;
use crate::store::StoreError;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS keystone_credentials (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, project_id TEXT, type TEXT NOT NULL, encrypted_blob BLOB NOT NULL);
";

/// One EC2 credential as Keystone's `_convert_v3_to_ec2_credential` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Credential {
    pub user_id: String,
    pub tenant_id: Option<String>,
    pub access: String,
    pub secret: String,
}

/// `utils.hash_access_key`.
pub fn hash_access_key(access: &str) -> String {
    sha2::Sha256::digest(access.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

impl Identity {
    fn seal(&self, id: &str, data: &[u8]) -> Vec<u8> {
        data.chunks(32)
            .enumerate()
            .flat_map(|(block, chunk)| {
                let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.secret).expect("HMAC accepts any key length");
                mac.update(format!("credential:{id}:{block}").as_bytes());
                let stream = mac.finalize().into_bytes();
                chunk.iter().zip(stream).map(|(b, k)| b ^ k).collect::<Vec<u8>>()
            })
            .collect()
    }

    fn open_ec2(&self, id: &str, user_id: String, project_id: Option<String>, sealed: &[u8]) -> Option<Ec2Credential> {
        let blob: serde_json::Value = serde_json::from_slice(&self.seal(id, sealed)).ok()?;
        Some(Ec2Credential {
            user_id,
            tenant_id: project_id,
            access: blob["access"].as_str()?.to_owned(),
            secret: blob["secret"].as_str()?.to_owned(),
        })
    }

    /// `POST /v3/users/{user_id}/credentials/OS-EC2`: new random access key and secret.
    pub fn create_ec2(&self, user_id: &str, project_id: &str) -> Result<Ec2Credential, StoreError> {
        let access = uuid::Uuid::new_v4().simple().to_string();
        let secret = uuid::Uuid::new_v4().simple().to_string();
        let id = hash_access_key(&access);
        let blob = serde_json::json!({"access": access, "secret": secret, "trust_id": null}).to_string();
        let sealed = self.seal(&id, blob.as_bytes());
        self.store.with(|c| {
            c.execute(
                "INSERT INTO keystone_credentials (id, user_id, project_id, type, encrypted_blob) VALUES (?1, ?2, ?3, 'ec2', ?4)",
                params![id, user_id, project_id, sealed],
            )
        })?;
        Ok(Ec2Credential { user_id: user_id.to_owned(), tenant_id: Some(project_id.to_owned()), access, secret })
    }

    /// The user's EC2 credentials.
    pub fn ec2_credentials(&self, user_id: &str) -> Result<Vec<Ec2Credential>, StoreError> {
        let rows: Vec<(String, String, Option<String>, Vec<u8>)> = self.store.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, user_id, project_id, encrypted_blob FROM keystone_credentials WHERE user_id = ?1 AND type = 'ec2' ORDER BY rowid",
            )?;
            let rows = stmt.query_map(params![user_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect()
        })?;
        Ok(rows.into_iter().filter_map(|(id, user, project, sealed)| self.open_ec2(&id, user, project, &sealed)).collect())
    }

    /// An EC2 credential by its access key (any user's: Keystone looks it up by id alone).
    pub fn ec2_credential(&self, access: &str) -> Result<Option<Ec2Credential>, StoreError> {
        let id = hash_access_key(access);
        let row: Option<(String, Option<String>, Vec<u8>)> = self.store.with(|c| {
            rusqlite::OptionalExtension::optional(c.query_row(
                "SELECT user_id, project_id, encrypted_blob FROM keystone_credentials WHERE id = ?1 AND type = 'ec2'",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            ))
        })?;
        Ok(row.and_then(|(user, project, sealed)| self.open_ec2(&id, user, project, &sealed)))
    }

    /// `DELETE .../OS-EC2/{access}`.
    pub fn delete_ec2(&self, access: &str) -> Result<bool, StoreError> {
        let id = hash_access_key(access);
        self.store.with(|c| c.execute("DELETE FROM keystone_credentials WHERE id = ?1", params![id]).map(|n| n > 0))
    }
}

/// `(id, user_id, project_id, type, sealed blob)` as stored.
type CredentialRow = (String, String, Option<String>, String, Vec<u8>);

/// A row of `/v3/credentials`: the blob is returned as stored (a string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: String,
    pub user_id: String,
    pub project_id: Option<String>,
    pub kind: String,
    pub blob: String,
}

impl Identity {
    fn credential_rows(&self, id: Option<&str>, user_id: Option<&str>, kind: Option<&str>) -> Result<Vec<Credential>, StoreError> {
        let rows: Vec<CredentialRow> = self.store.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, user_id, project_id, type, encrypted_blob FROM keystone_credentials
                 WHERE (?1 IS NULL OR id = ?1) AND (?2 IS NULL OR user_id = ?2) AND (?3 IS NULL OR type = ?3) ORDER BY rowid",
            )?;
            let rows = stmt.query_map(params![id, user_id, kind], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
            rows.collect()
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, user_id, project_id, kind, sealed)| {
                let blob = String::from_utf8_lossy(&self.seal(&id, &sealed)).into_owned();
                Credential { id, user_id, project_id, kind, blob }
            })
            .collect())
    }

    /// `GET /v3/credentials`, by user and type.
    pub fn credentials(&self, user_id: Option<&str>, kind: Option<&str>) -> Result<Vec<Credential>, StoreError> {
        self.credential_rows(None, user_id, kind)
    }

    pub fn credential(&self, id: &str) -> Result<Option<Credential>, StoreError> {
        Ok(self.credential_rows(Some(id), None, None)?.into_iter().next())
    }

    /// `POST /v3/credentials`; false when the id is taken.
    pub fn create_credential(&self, c: &Credential) -> Result<bool, StoreError> {
        let sealed = self.seal(&c.id, c.blob.as_bytes());
        self.store.with(|conn| {
            conn.execute(
                "INSERT OR IGNORE INTO keystone_credentials (id, user_id, project_id, type, encrypted_blob) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![c.id, c.user_id, c.project_id, c.kind, sealed],
            )
            .map(|n| n > 0)
        })
    }

    /// `PATCH /v3/credentials/{id}`: the new values (the id stays).
    pub fn update_credential(&self, c: &Credential) -> Result<(), StoreError> {
        let sealed = self.seal(&c.id, c.blob.as_bytes());
        self.store.with(|conn| {
            conn.execute(
                "UPDATE keystone_credentials SET user_id = ?2, project_id = ?3, type = ?4, encrypted_blob = ?5 WHERE id = ?1",
                params![c.id, c.user_id, c.project_id, c.kind, sealed],
            )
            .map(|_| ())
        })
    }

    pub fn delete_credential(&self, id: &str) -> Result<bool, StoreError> {
        self.store.with(|c| c.execute("DELETE FROM keystone_credentials WHERE id = ?1", params![id]).map(|n| n > 0))
    }
}
