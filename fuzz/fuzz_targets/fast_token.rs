//! Fast: the Authorization header and token decoding, without a request.
//!
//! Input: a flags byte, then bytes. The bytes are the header value (bytes a header value cannot
//! hold dropped). Flags bit 0 set: the bytes are instead split on `\n` into header, payload and
//! signature, each base64url-encoded (bit 1: `=` appended to each, bit 2: the last character
//! of the signature bumped, so trailing-bit rules are reached) into a token.
//!
//! Checked: `header_token` on the text and `header_token_bytes` on the raw bytes agree (Latin-1),
//! and both agree with the `split(' ')` model of `parseAuthorizationHeader`; `decode` agrees
//! with the reference model (split on `.`, base64url without padding, no dangling bits,
//! TextDecoder, JSON) field by field; `is_jwt_format` agrees with Clerk's regex.
#![no_main]

use actix_clerk::fuzzing as f;
use actix_clerk_fuzz::header_value;
use actix_clerk_fuzz::reference as model;
use libfuzzer_sys::fuzz_target;

fn check_decode(token: &str) {
    let got = f::decode(token);
    let want = model::decode(token);
    match (&got, &want) {
        (Ok(d), Ok((h, p, text, signed, sig))) => {
            assert_eq!(&d.header, h);
            assert_eq!(&d.payload, p);
            assert_eq!(&d.payload_text, text);
            assert_eq!(&d.signed_part, signed);
            assert_eq!(&d.signature, sig);
        }
        (Err(f::DecodeFailure::Parts), Err(true)) | (Err(f::DecodeFailure::Decode), Err(false)) => {
        }
        _ => panic!("decode {token:?}: crate {got:?}, model {want:?}"),
    }
    assert_eq!(
        f::is_jwt_format(token),
        model::is_jwt_format(token),
        "{token:?}"
    );
    for part in token.split('.') {
        assert_eq!(f::b64url_decode(part), model::b64url(part), "{part:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    if flags & 1 == 0 {
        let value = header_value(rest);
        let text = f::header_text(&value);
        // Latin-1: one char per byte.
        assert_eq!(text.chars().count(), value.as_bytes().len());
        let trimmed = f::trim_sp_tab(&text);
        let trimmed_bytes = f::trim_sp_tab_bytes(value.as_bytes());
        let from_text = f::header_token(trimmed);
        assert_eq!(from_text, model::header_token(trimmed), "{trimmed:?}");
        let latin1 = from_text.map(|t| t.chars().map(|c| c as u32 as u8).collect::<Vec<u8>>());
        assert_eq!(
            f::header_token_bytes(trimmed_bytes).map(<[u8]>::to_vec),
            latin1,
            "bytes and text disagree on {trimmed:?}"
        );
        if let Some(token) = from_text {
            check_decode(token);
        }
    } else {
        let mut parts = rest.splitn(3, |&b| b == b'\n');
        let mut seg = || model::b64url_encode(parts.next().unwrap_or_default());
        let (h, p, mut s) = (seg(), seg(), seg());
        if flags & 4 != 0 {
            if let Some(last) = s.pop() {
                let bumped = match last {
                    'z' => '0',
                    '9' => '-',
                    '-' => '_',
                    '_' => 'A',
                    'Z' => 'a',
                    c => char::from(c as u8 + 1),
                };
                s.push(bumped);
            }
        }
        let pad = if flags & 2 != 0 { "=" } else { "" };
        check_decode(&format!("{h}{pad}.{p}{pad}.{s}{pad}"));
    }
});
