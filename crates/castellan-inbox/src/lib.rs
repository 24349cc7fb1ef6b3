//! Castellan's inbox: the inbound side of managed email addresses and phone numbers.
//!
//! - [`smtp`]: an RFC 5321 receiver on tokio ([`serve_smtp`]). Command lines are parsed by
//!   `smtp-proto`; the session state machine, limits and STARTTLS (RFC 3207) are ours. Accepted
//!   messages go to a [`MailSink`] that the store implements.
//! - [`mime`]: [`parse_mail`] turns a raw RFC 5322 message into a [`ParsedMail`] (best plain
//!   text, HTML, links), with `mail-parser` doing MIME (RFC 2045) and encoded words (RFC 2047),
//!   structural limits against hostile input, and a repair step for mislabeled charsets.
//! - [`mod@extract`]: finds the one-time code or the verification / magic link in a message or an
//!   SMS ([`extract()`], [`extract_sms`]), with per-app [`Hints`] taking precedence.
//! - [`sms`]: the Twilio-compatible inbound SMS webhook: form parsing, E.164 numbers and the
//!   `X-Twilio-Signature` check.
//!
//! Nothing here logs message bodies, codes or addresses: logs carry sizes, counts and ids.
#![forbid(unsafe_code)]

pub mod extract;
pub mod mime;
pub mod sms;
pub mod smtp;
pub mod tls;

pub use extract::{extract, extract_sms, Extraction, Hints};
pub use mime::{parse_mail, MimeError, ParsedMail};
pub use sms::{
    normalize_e164, parse_sms_form, twilio_signature, verify_twilio_signature, InboundSms, SmsError,
};
pub use smtp::{serve_smtp, serve_smtp_stream, InboundMail, MailSink, SinkError, SmtpConfig};
pub use tls::{tls_config_from_pem, TlsError};
