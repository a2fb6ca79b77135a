//! Password hashing with argon2id (the crate's defaults: 19 MiB, two passes, the OWASP
//! minimum), always on a blocking thread, and the generated passwords the CLI and the
//! demo hand out.

use crate::app::error::AppError;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::Rng;
use std::sync::OnceLock;

/// Shortest password a person may choose.
pub const MIN_LENGTH: usize = 12;
/// Longest password accepted: argon2 takes any length, but a megabyte form field is an
/// attack, not a password.
pub const MAX_LENGTH: usize = 256;

/// The PHC string (`$argon2id$v=19$…`) of `password`, hashed off the async threads.
pub async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(format!("the hashing thread failed: {e}")))?
}

/// Whether `password` matches `phc`, checked off the async threads. A missing user is
/// checked against a hash of a random secret nobody knows, so a wrong username costs what a wrong password
/// does and the answer's timing does not tell which usernames exist.
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let stored = match phc {
            Some(p) => p,
            None => decoy().to_owned(),
        };
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| AppError::Internal(format!("a stored password hash: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| AppError::Internal(format!("the hashing thread failed: {e}")))?
}

fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        Argon2::default()
            .hash_password(generate().as_bytes())
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// A new password: 20 characters from an alphabet without look-alikes (about 115
/// bits), easy to read aloud or type from a printout.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let phc = hash("correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(
            verify("correct horse battery".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("correct horse batterz".into(), Some(phc))
                .await
                .unwrap()
        );
        assert!(
            !verify(String::new(), None).await.unwrap(),
            "no user, no match"
        );
    }

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let (a, b) = (generate(), generate());
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() && !"0O1lI".contains(c))
        );
    }
}
