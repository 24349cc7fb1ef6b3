//! Words the extractor looks for, in many languages, and matching that respects word edges.
//!
//! Lists are matched case-insensitively on text whose digits were already normalized. Short
//! Latin-script words that occur inside unrelated words (`pin` in "shopping", `tan` in
//! "important", `id` in "identity") are "whole" words: they match only between non-letters.
//! Compounds are matched inside words on purpose: German "Bestätigungscode", Dutch
//! "verificatiecode". CJK, Japanese, Korean, Arabic and Hindi words have no spaces around them
//! and are matched as substrings.

use std::sync::LazyLock;

use regex::Regex;

/// Words that announce a one-time code.
#[rustfmt::skip]
pub(super) const CODE_WORDS: &[&str] = &[
    // English
    "verification code", "security code", "confirmation code", "login code", "sign-in code",
    "access code", "authentication code", "one-time", "one time", "passcode", "verification",
    "verify", "code", "two-factor", "2-step", "password",
    // German
    "bestätigungscode", "sicherheitscode", "verifizierungscode", "anmeldecode", "einmalcode",
    "einmalpasswort", "bestätigung",
    // French
    "code de vérification", "code de sécurité", "code de confirmation", "vérification",
    // Spanish, Portuguese
    "código de verificación", "código de verificação", "código de seguridad", "código",
    "verificación", "verificação", "clave", "contraseña", "senha", "mot de passe", "passwort",
    "wachtwoord", "hasło",
    // Italian
    "codice di verifica", "codice", "verifica",
    // Dutch
    "verificatiecode", "beveiligingscode", "inlogcode",
    // Polish, Czech, Turkish, Nordic
    "kod weryfikacyjny", "kod jednorazowy", "kod bezpieczeństwa", "kód", "doğrulama", "kode",
    "verifieringskod", "bekræftelseskode", "engangskode",
    // Russian, Ukrainian, Greek, Hebrew
    "код подтверждения", "код", "пароль", "κωδικός", "קוד",
    // Chinese
    "验证码", "驗證碼", "校验码", "动态码", "动态密码", "确认码", "安全码",
    // Japanese
    "認証コード", "確認コード", "ワンタイムパスワード", "パスコード", "セキュリティコード", "認証番号", "確認番号", "コード",
    // Korean
    "인증번호", "인증 번호", "인증코드", "인증 코드", "확인 코드", "보안 코드", "인증", "코드",
    // Arabic
    "رمز التحقق", "رمز", "الرمز", "كود",
    // Hindi, Thai, Vietnamese, Indonesian
    "सत्यापन कोड", "कोड", "ओटीपी", "รหัส", "mã xác minh", "mã", "kode verifikasi",
];

/// Code words matched only as whole words.
#[rustfmt::skip]
pub(super) const CODE_WORDS_WHOLE: &[&str] = &["otp", "pin", "tan", "kod", "2fa", "mfa", "totp"];

/// Words that, right before a number, make it something other than a code.
#[rustfmt::skip]
pub(super) const NOT_CODE_WORDS: &[&str] = &[
    // orders, invoices, tickets, accounts, references
    "order", "invoice", "ticket", "booking", "reservation", "reference", "account", "customer",
    "tracking", "shipment", "membership", "member", "transaction", "receipt", "confirmation number",
    "case", "bestellung", "bestellnummer", "rechnung", "kundennummer", "auftrag", "buchung",
    "commande", "facture", "réservation", "pedido", "factura", "reserva", "fatura", "ordine",
    "fattura", "prenotazione", "bestelling", "factuur", "zamówieni", "faktur", "заказ", "счет",
    "счёт", "订单", "單號", "注文", "予約", "주문", "رقم الطلب", "الطلب", "ऑर्डर",
    // promotions
    "promo", "coupon", "discount", "voucher", "gutschein", "rabatt", "cupón", "cupom", "sconto",
    // phones
    "phone", "call", "telefon", "téléphone", "teléfono", "telefone", "telefono", "телефон", "電話",
    "电话", "전화", "هاتف",
    // addresses
    "zip", "postal", "postleitzahl",
    // SMS short codes ("Reply STOP to 89203")
    "reply", "unsubscribe", "abmelden", "répondez", "responde",
];

/// Not-code words matched only as whole words.
#[rustfmt::skip]
pub(super) const NOT_CODE_WORDS_WHOLE: &[&str] = &[
    "no", "nr", "nº", "ref", "tel", "fax", "sku", "plz", "gate", "seat", "room", "flight", "model",
    "version", "acct", "stop", "text", "sms",
];

/// Words of street addresses: a 4 or 5 digit number on such a line is likely a postal code.
#[rustfmt::skip]
pub(super) const ADDRESS_WORDS: &[&str] = &[
    "street", "avenue", "suite", "boulevard", "blvd", "floor", "straße", "strasse", "str.", "platz",
    "rue ", "calle", "avenida", "rua ", "via ", "piazza", "straat", "laan", "ul.", "улица", "ул.",
    "p.o. box", "po box", "inc.", "ltd", "gmbh", "llc", " s.a.", "b.v.", "〒", "road", " rd.",
    " st.", " ave",
];

/// Words of a link that signs in, verifies or confirms something.
#[rustfmt::skip]
pub(super) const LINK_GOOD: &[&str] = &[
    "verify", "verification", "confirm", "magic", "sign in", "sign-in", "signin", "log in",
    "log-in", "login", "activate", "activation", "reset", "validate", "passwordless", "approve",
    "authenticate", "bestätig", "verifizier", "anmelden", "aktivier", "zurücksetzen", "einloggen",
    "confirmer", "vérifier", "connexion", "se connecter", "activer", "réinitialiser", "valider",
    "confirmar", "verificar", "iniciar sesión", "activar", "restablecer", "acceder", "entrar",
    "ativar", "redefinir", "acessar", "conferma", "verifica", "accedi", "attiva", "reimposta",
    "bevestig", "verifiëren", "inloggen", "activeren", "potwierd", "zweryfikuj", "zaloguj",
    "aktywuj", "подтверд", "войти", "вход", "активир", "сброс", "确认", "验证", "登录", "激活", "重置", "確認",
    "驗證", "登入", "認証", "ログイン", "有効化", "再設定", "확인", "인증", "로그인", "활성화", "재설정", "تأكيد", "تحقق",
    "تسجيل الدخول", "تفعيل", "सत्यापित", "पुष्टि", "लॉग इन", "token", "auth",
];

/// Words of a link that is never the one wanted.
#[rustfmt::skip]
pub(super) const LINK_BAD: &[&str] = &[
    "unsubscribe", "opt-out", "optout", "opt out", "privacy", "help", "support", "terms",
    "preferences", "view in browser", "view online", "webversion", "abmelden", "abbestellen",
    "datenschutz", "hilfe", "désinscri", "désabonner", "confidentialité", "aide", "darse de baja",
    "cancelar suscripción", "privacidad", "ayuda", "descadastr", "privacidade", "ajuda",
    "annulla iscrizione", "disiscriviti", "aiuto", "uitschrijven", "afmelden", "wypisz", "prywatno",
    "отписат", "конфиденциальн", "退订", "取消订阅", "隐私", "配信停止", "プライバシー", "수신거부", "개인정보",
    "إلغاء الاشتراك", "الخصوصية", "सदस्यता समाप्त", "facebook.com", "twitter.com", "instagram.com",
    "linkedin.com", "youtube.com", "apps.apple.com", "play.google.com", "not you", "wasn't you",
    "didn't request", "report", "security-alert",
];

/// A case-insensitive matcher for a list of words.
#[derive(Debug)]
pub(super) struct WordSet {
    anywhere: Regex,
    whole: Option<Regex>,
}

impl WordSet {
    pub(super) fn new(anywhere: &[&str], whole: &[&str]) -> Self {
        let build = |words: &[&str]| {
            let mut words: Vec<&str> = words.to_vec();
            // Longest first, so that phrases win over the words inside them.
            words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
            let alternation: Vec<String> = words.iter().map(|w| regex::escape(w)).collect();
            Regex::new(&format!("(?i)(?:{})", alternation.join("|"))).expect("valid word list")
        };
        Self {
            anywhere: build(anywhere),
            whole: (!whole.is_empty()).then(|| build(whole)),
        }
    }

    /// Byte ranges of the matches in `text`, in order.
    pub(super) fn find(&self, text: &str) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = self
            .anywhere
            .find_iter(text)
            .map(|m| (m.start(), m.end()))
            .collect();
        if let Some(whole) = &self.whole {
            out.extend(
                whole
                    .find_iter(text)
                    .filter(|m| is_word_edge(text, m.start(), m.end()))
                    .map(|m| (m.start(), m.end())),
            );
            out.sort_unstable();
        }
        out
    }

    /// Whether any word occurs in `text`.
    pub(super) fn any(&self, text: &str) -> bool {
        !self.find(text).is_empty()
    }
}

/// Whether `text[start..end]` has no letter or digit right outside it on either side.
pub(super) fn is_word_edge(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

pub(super) static CODE: LazyLock<WordSet> =
    LazyLock::new(|| WordSet::new(CODE_WORDS, CODE_WORDS_WHOLE));
pub(super) static NOT_CODE: LazyLock<WordSet> =
    LazyLock::new(|| WordSet::new(NOT_CODE_WORDS, NOT_CODE_WORDS_WHOLE));
pub(super) static ADDRESS: LazyLock<WordSet> = LazyLock::new(|| WordSet::new(ADDRESS_WORDS, &[]));
pub(super) static GOOD_LINK: LazyLock<WordSet> = LazyLock::new(|| WordSet::new(LINK_GOOD, &[]));
pub(super) static BAD_LINK: LazyLock<WordSet> = LazyLock::new(|| WordSet::new(LINK_BAD, &[]));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_respect_edges() {
        assert!(CODE.any("Your PIN: 1234"));
        assert!(!CODE
            .find("shopping")
            .iter()
            .any(|(s, e)| &"shopping"[*s..*e] == "pin"));
        assert!(NOT_CODE.any("Order ID 12345"));
        assert!(!NOT_CODE.any("identity"));
        assert!(!NOT_CODE.any("Apple ID"));
        assert!(CODE.any("Ihr Bestätigungscode"));
        assert!(CODE.any("您的验证码是"));
    }
}
