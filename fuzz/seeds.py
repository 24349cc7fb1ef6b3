#!/usr/bin/env python3
"""Writes seed inputs for the fuzz targets into fuzz/seeds/<target>/ (not committed): the
project's own test data (otpauth URIs, Google Authenticator exports, the email and SMS corpus)
and hand-written SMTP sessions and API bodies. `cargo fuzz run TARGET corpus-new/TARGET
seeds/TARGET` starts from them; `cargo fuzz cmin` then keeps the inputs that add coverage
(docs/fuzzing.md). Standard library only."""
import base64
import hashlib
import json
import pathlib
import re
import sys
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "seeds"


def write(target, items):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    n = 0
    for data in items:
        if isinstance(data, str):
            data = data.encode()
        (d / hashlib.sha1(data).hexdigest()).write_bytes(data)
        n += 1
    print(f"{target}: {n} seeds")


def otp_uris():
    uris = set()
    for f in (ROOT / "crates/castellan-otp/tests").iterdir():
        text = f.read_text(encoding="utf-8")
        uris.update(re.findall(r'"(otpauth://[^"\\]*(?:\\.[^"\\]*)*)"', text))
        uris.update(re.findall(r"'(otpauth://[^']*)'", text))
    secrets = re.findall(r'^secret = "([^"]*)"', (ROOT / "crates/castellan-otp/tests/uri_suite.toml").read_text(), re.M)
    return sorted(uris), secrets


def migration_uris():
    text = (ROOT / "crates/castellan-otp/tests/migration.rs").read_text(encoding="utf-8")
    return sorted(set(re.findall(r'"(otpauth-migration://[^"]*)"', text)))


def migration_payload(uri):
    query = urllib.parse.urlsplit(uri).query
    data = urllib.parse.parse_qs(query).get("data", [""])[0]
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4))
    except Exception:
        return None


def emails():
    corpus = ROOT / "crates/castellan-inbox/tests/corpus"
    return [p.read_bytes() for p in sorted(corpus.glob("*.eml"))]


def sms_texts():
    corpus = ROOT / "crates/castellan-inbox/tests/corpus/sms"
    texts = [p.read_bytes() for p in sorted(corpus.glob("*.txt"))]
    cases = (ROOT / "crates/castellan-inbox/tests/extract_cases.rs").read_text(encoding="utf-8")
    texts += [t.encode() for t in re.findall(r'^\s*\("((?:[^"\\]|\\.)*)", (?:Some|None)', cases, re.M)]
    return texts


HEAD = "From: GitHub <noreply@github.com>\r\nTo: github-k3x9q2@mail.castellan.test\r\nSubject: [GitHub] Please verify your device\r\n"
MSG = HEAD + "\r\nVerification code: 83921047\r\n..leading dot\r\n"


def smtp_sessions():
    t = "mail.castellan.test"
    hello = "EHLO client.example\r\n"
    tx = f"MAIL FROM:<noreply@github.com> SIZE=400 BODY=8BITMIME\r\nRCPT TO:<GitHub-K3X9Q2@{t}>\r\n"
    sessions = [
        hello + "VRFY someone\r\nNOOP\r\nHELP\r\n" + tx + "DATA\r\n" + MSG + ".\r\nQUIT\r\n",
        "HELO x\r\n" + tx + f"RCPT TO:<a@{t}>\r\nRCPT TO:<b@{t}>\r\nRCPT TO:<c@{t}>\r\nRCPT TO:<nobody@elsewhere.example>\r\nDATA\r\n" + MSG + ".\r\nRSET\r\nQUIT\r\n",
        hello + "MAIL FROM:<>\r\n" + f"RCPT TO:<a@{t}>\r\nDATA\r\n" + HEAD + "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\ncode 123456\r\n--b--\r\n.\r\n",
        hello + "MAIL FROM:<x@y> SIZE=99999999\r\nSTARTTLS\r\nAUTH PLAIN AGJvYgBzZWNyZXQ=\r\nBDAT 10 LAST\r\nEXPN list\r\nETRN x\r\nDATA\r\nRCPT TO:<a@" + t + ">\r\n",
        hello + tx + "DATA\r\n" + "x" * 1200 + "\r\n.\r\nQUIT\r\n",
        hello + tx + "DATA\r\nSubject: smuggle\r\n\r\nhi\n.\r\nMAIL FROM:<evil@x>\r\n.\r\nQUIT\r\n",
        "garbage\r\n" * 11,
        hello + "MAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\nRCPT TO:<>\r\nRCPT TO:<@route:a@" + t + ">\r\n",
    ]
    out = []
    for s in sessions:
        for mode in (0, 1, 2, 3, 4 * 7, 4 * 63 + 1):
            out.append(bytes([mode]) + s.encode())
    return out


# Valid bodies per endpoint of fuzz_targets/api_router.rs (same order as ENDPOINTS).
API = [
    ("POST accounts", {"label": "Slack admin", "app": "slack", "username": "a@example.com", "password": "pw-1234567890",
                       "notes": "n", "custom_fields": [{"name": "pin", "value": "1234", "secret": True}], "backup_codes": ["a1", "b2"], "setup": "shared"}),
    ("PATCH account", {"version": 1, "label": "Renamed", "username": "", "password": "new-password-123"}),
    ("reveal", {"fields": ["password", "notes", "custom:pin"]}),
    ("account access", {"role": "collaborator"}),
    ("totp", {"uri": "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example", "secret": "JBSWY3DPEHPK3PXP", "algorithm": "SHA256", "digits": 8, "period": 60}),
    ("totp verify", {"code": "123456"}),
    ("import migration", {"uri": "otpauth-migration://offline?data=CigKEPqlBekzoNEukL7qlsjBCDYSDnBpQHJhc3BiZXJyeXBpIAEoATACCjUKEPqlBekzoNEukL7qlsjBCDYSDnBpQHJhc3BiZXJyeXBpGgtyYXNwYmVycnlwaSABKAEwAhABGAEgACiQ7OOa%2Bf%2F%2F%2F%2F8B"}),
    ("email", {"use_as_username": True}),
    ("phone numbers", {"numbers": ["+14155550100", "+44 20 7946 0958"]}),
    ("apps", {"id": "my-app", "name": "My App", "login_urls": ["https://my.example/login"], "domains": ["my.example"],
              "password_rules": {"min_length": 12, "max_length": 64, "symbols": "!@#", "require": ["lower", "digit"]}, "inbox_hints": {"senders": ["@my.example"], "code_pattern": "code (\\d{6})"}}),
    ("generate", {"mode": "passphrase", "length": 20, "lower": True, "upper": True, "digits": True, "symbols": False, "symbol_set": "!#", "exclude_lookalikes": True, "words": 5, "separator": "-", "capitalize": True, "include_number": True, "app": "zoom"}),
    ("vaults", {"name": "Finance", "description": "money", "kind": "cloud"}),
    ("vault access", {"role": "manager"}),
    ("people", {"email": "bob@example.com", "name": "Bob", "role": "guest"}),
    ("PATCH person", {"name": "Ann B", "role": "admin", "status": "active"}),
    ("tokens", {"name": "ci", "expires_in_days": 30}),
    ("hubs", {"app": "matrix-synapse", "label": "Matrix 2", "base_url": "http://127.0.0.1:9", "placeholder": {"username": "bot2"},
              "safeguard_threshold": 0.5, "sync_interval_secs": 3600, "login_method": "password_totp", "user_management": "api"}),
    ("PATCH hub", {"label": "Matrix B", "safeguard_threshold": 0.3, "sync_interval_secs": 600}),
    ("sync", {"confirm": True}),
    ("member action", {"action": "exempt", "reason": "service account"}),
    ("hub grants", {"hub_role": "collaborator", "app_role": "user"}),
    ("hub revoke", {"person_ids": ["00000000-0000-7000-8000-000000000000"], "keep_seat": True}),
    ("claim", {"setup_token": "cst_setup_x", "email": "o@example.com", "name": "O", "password": "correct horse battery staple"}),
    ("accept invitation", {"email": "ann@example.com", "invitation_token": "cst_inv_x", "password": "correct horse battery staple"}),
    ("sms", "From=%2B14155550100&To=%2B14155550199&Body=Your+code+is+482913&MessageSid=SM1"),
    ("GET accounts", "q=slack&vault_id=00000000-0000-7000-8000-000000000000&app=slack"),
    ("GET inbox", "app=slack&kind=email&since=2024-05-01T00:00:00Z&until=2025-01-01T00:00:00%2B02:00&limit=10"),
    ("GET activity", "action=account.reveal&actor_id=x&target_id=y&since=2024-05-01T00:00:00Z&until=2030-01-01T00:00:00Z&before_seq=9&limit=5"),
    ("GET activity csv", "limit=5"),
    ("GET jobs", "hub_id=00000000-0000-7000-8000-000000000000&state=queued&limit=3"),
]


def api_router():
    out = []
    for i, (_, body) in enumerate(API):
        data = body if isinstance(body, str) else json.dumps(body)
        out.append(bytes([i]) + data.encode())
        if not isinstance(body, str):
            out.append(bytes([i]) + b"{}")
    return out


def main():
    uris, secrets = otp_uris()
    write("otp_uri", uris + secrets)
    mig = migration_uris()
    payloads = [p for p in map(migration_payload, mig) if p]
    write("otp_migration", [b"\x01" + u.encode() for u in mig] + [b"\x00" + p for p in payloads])
    mails = emails()
    write("mime_parse", mails)
    sms = sms_texts()
    forms = [b"From=%2B14155550100&To=%2B14155550199&Body=" + urllib.parse.quote_plus(t).encode() for t in sms[:10]]
    write("extract", sms + forms + [m.split(b"\r\n\r\n", 1)[-1] for m in mails[:20]])
    write("smtp_session", smtp_sessions())
    write("api_bodies", [json.dumps(b) for _, b in API if not isinstance(b, str)])
    write("api_router", api_router())


if __name__ == "__main__":
    sys.exit(main())
