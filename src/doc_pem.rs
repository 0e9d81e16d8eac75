//! A fixed RSA public key for unit tests (not a key of any real instance; the same as
//! `tests/fixtures/doc_key.pem`, which documentation examples read).

pub(crate) const DOC_PEM: &str = include_str!("../tests/fixtures/doc_key.pem");
