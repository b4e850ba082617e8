//! Hashing round trips, token formats, digests.

use super::*;

#[tokio::test]
async fn hash_verifies_only_the_right_password() {
    let policy = PasswordPolicy::fast_for_tests();
    let hash = policy.hash("correct horse").await.expect("hash");
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert!(verify("correct horse", &hash).await.expect("verify"));
    assert!(!verify("wrong horse", &hash).await.expect("verify"));
    // Same password, new salt: a different string.
    assert_ne!(hash, policy.hash("correct horse").await.expect("hash"));
}

#[tokio::test]
async fn default_policy_is_owasp_argon2id() {
    let hash = PasswordPolicy::default().hash("x").await.expect("hash");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
}

#[tokio::test]
async fn corrupt_hash_is_an_error_not_a_mismatch() {
    assert!(verify("x", "not a hash").await.is_err());
}

#[test]
fn random_values_have_their_formats() {
    let a = random_hex256().expect("random");
    assert_eq!(a.len(), 64);
    assert_ne!(a, random_hex256().expect("random"));
    let t = new_api_token().expect("token");
    assert!(t.starts_with(TOKEN_PREFIX) && t.len() == TOKEN_PREFIX.len() + 64);
    let p = random_password().expect("password");
    assert_eq!(p.chars().count(), 20);
    assert!(p.bytes().all(|b| PASSWORD_ALPHABET.contains(&b)));
}

#[test]
fn token_digest_is_sha256_hex() {
    assert_eq!(
        token_digest("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn secrets_compare() {
    assert!(secrets_equal("abc", "abc"));
    assert!(!secrets_equal("abc", "abd"));
    assert!(!secrets_equal("abc", "ab"));
}
