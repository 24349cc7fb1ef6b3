//! Builders of hostile MIME messages, shared by the parser and SMTP tests.

const HEAD: &str = "From: attacker@evil.example\r\nTo: a@mail.castellan.test\r\nSubject: hi\r\nMIME-Version: 1.0\r\n";

/// `depth` nested multiparts; the innermost holds a code. With `close`, every level ends.
pub fn deep_nesting(depth: usize, close: bool) -> Vec<u8> {
    let mut out = String::from(HEAD);
    for level in 0..depth {
        out.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n--b{level}\r\n"
        ));
    }
    out.push_str("Content-Type: text/plain\r\n\r\nYour verification code is 918273\r\n");
    if close {
        for level in (0..depth).rev() {
            out.push_str(&format!("--b{level}--\r\n"));
        }
    }
    out.into_bytes()
}

/// A message whose top-level header is `bytes` long: one line, or folded into 78-byte lines.
pub fn huge_header(bytes: usize, folded: bool) -> Vec<u8> {
    let mut out = String::from(HEAD);
    out.push_str("X-Junk: ");
    let mut line = 0;
    for i in 0..bytes {
        out.push(char::from(b'a' + (i % 26) as u8));
        line += 1;
        if folded && line == 76 {
            out.push_str("\r\n ");
            line = 0;
        }
    }
    out.push_str("\r\n\r\nYour code is 555111\r\n");
    out.into_bytes()
}

/// A multipart whose one part carries `bytes` of folded headers.
pub fn huge_part_headers(bytes: usize) -> Vec<u8> {
    let mut out = String::from(HEAD);
    out.push_str("Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n--p\r\n");
    for i in 0..bytes / 80 {
        out.push_str(&format!("X-Part-Junk-{i}: {}\r\n", "z".repeat(60)));
    }
    out.push_str("Content-Type: text/plain\r\n\r\ncode 123456\r\n--p--\r\n");
    out.into_bytes()
}

/// A multipart whose closing delimiter never comes.
pub fn endless_boundary() -> Vec<u8> {
    let mut out = String::from(HEAD);
    out.push_str("Content-Type: multipart/alternative; boundary=\"never-ends\"\r\n\r\n");
    out.push_str("--never-ends\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
    out.push_str("Your login code: 246135\r\n\r\n");
    out.push_str("--never-ends\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Your login code: <b>246135</b></p>\r\n");
    for _ in 0..2000 {
        out.push_str("<p>still going, no closing delimiter</p>\r\n");
    }
    out.into_bytes()
}

/// A multipart with `count` empty parts.
pub fn many_parts(count: usize) -> Vec<u8> {
    let mut out = String::from(HEAD);
    out.push_str("Content-Type: multipart/mixed; boundary=\"e\"\r\n\r\n");
    for _ in 0..count {
        out.push_str("--e\r\n\r\n");
    }
    out.push_str("--e--\r\n");
    out.into_bytes()
}
