//! "Expires in 10 minutes", in many languages.
//!
//! A number followed by a time unit ("10 minutes", "15 Minuten", "10分钟", "5분", "10 دقائق")
//! counts when an expiry word ("expires", "valid", "gültig", "有效", "유효", "صالح"...) stands
//! within 60 characters before it or 20 after it ("10分钟内有效"). English "an hour" / "one day"
//! count as 1. The first such phrase wins; durations over 30 days are ignored.

use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;

use super::lexicon::WordSet;

#[rustfmt::skip]
const EXPIRY_WORDS: &[&str] = &[
    "expire", "expiry", "expiration", "valid", "only for", "within", "in the next", "lasts",
    "gültig", "läuft", "verfällt", "valable", "expir", "caduca", "válid", "vence", "validade",
    "scade", "valido", "validità", "verloopt", "geldig", "ważn", "wygaś", "действ", "истека", "有效",
    "有効", "期限", "유효", "만료", "صالح", "تنتهي", "مدة", "मान्य", "समाप्त", "geçerli", "platí", "gyldig",
    "giltig", "以内", "以內", "内", "內",
];

#[rustfmt::skip]
const SECOND_WORDS: &[&str] = &[
    "seconds", "second", "secs", "sec", "sekunden", "secondes", "segundos", "secondi", "seconden",
    "sekund", "секунд", "秒", "초", "ثانية", "ثوان", "सेकंड",
];

#[rustfmt::skip]
const MINUTE_WORDS: &[&str] = &[
    "minutes", "minute", "mins", "min", "minuten", "minuti", "minuto", "minutos", "minut", "minuty",
    "minutę", "минут", "минуты", "минуту", "мин", "分钟", "分鐘", "分間", "分", "분", "دقائق", "دقيقة",
    "دقيقه", "मिनट", "dakika", "perc", "minutter", "minuter",
];

#[rustfmt::skip]
const HOUR_WORDS: &[&str] = &[
    "hours", "hour", "hrs", "hr", "stunden", "stunde", "heures", "heure", "horas", "hora", "ore",
    "uur", "godzin", "godziny", "godzinę", "часов", "часа", "час", "小时", "小時", "時間", "시간", "ساعات",
    "ساعة", "घंटे", "घंटा", "saat", "timer", "timmar", "h",
];

#[rustfmt::skip]
const DAY_WORDS: &[&str] = &[
    "days", "day", "tagen", "tage", "tag", "jours", "jour", "días", "dias", "día", "dia", "giorni",
    "giorno", "dagen", "dag", "dni", "dzień", "дней", "дня", "день", "天", "日", "일", "أيام", "يوم",
    "दिन",
];

/// (unit words, seconds per unit)
const UNITS: &[(&[&str], u64)] = &[
    (SECOND_WORDS, 1),
    (MINUTE_WORDS, 60),
    (HOUR_WORDS, 3600),
    (DAY_WORDS, 86_400),
];

static EXPIRY: LazyLock<WordSet> = LazyLock::new(|| WordSet::new(EXPIRY_WORDS, &[]));

static AMOUNT: LazyLock<(Regex, Vec<u64>)> = LazyLock::new(|| {
    let mut alternatives = Vec::new();
    let mut seconds = Vec::new();
    for (words, secs) in UNITS {
        let mut words = words.to_vec();
        words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
        let list: Vec<String> = words.iter().map(|w| regex::escape(w)).collect();
        alternatives.push(format!("({})", list.join("|")));
        seconds.push(*secs);
    }
    let pattern = format!(
        r"(?i)(?:([0-9]{{1,4}})|\b(an?|one)\b)\s?(?:{})",
        alternatives.join("|")
    );
    (Regex::new(&pattern).expect("valid"), seconds)
});

/// The validity period stated in `text`, if any.
pub(super) fn parse_expiry(text: &str) -> Option<Duration> {
    let (re, seconds) = &*AMOUNT;
    let keywords = EXPIRY.find(text);
    for caps in re.captures_iter(text) {
        let whole = caps.get(0)?;
        // A unit glued to a following letter is another word ("10 minutes" yes, "10 mint" no).
        let after = text[whole.end()..].chars().next();
        let unit = (0..seconds.len()).find(|i| caps.get(i + 3).is_some())?;
        let unit_text = caps.get(unit + 3)?.as_str();
        let latin_unit = unit_text.chars().all(|c| c.is_ascii_alphabetic());
        if latin_unit && after.is_some_and(char::is_alphabetic) {
            continue;
        }
        let count: u64 = match caps.get(1) {
            Some(n) => n.as_str().parse().ok()?,
            None => 1,
        };
        let (start, end) = (whole.start(), whole.end());
        let near = keywords.iter().any(|&(ks, ke)| {
            (ke <= start && text[ke..start].chars().count() <= 60)
                || (ks >= end && text[end..ks].chars().count() <= 20)
                || (ks < end && ke > start)
        });
        let secs = count.saturating_mul(seconds[unit]);
        if near && secs > 0 && secs <= 30 * 86_400 {
            return Some(Duration::from_secs(secs));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mins(text: &str) -> Option<u64> {
        parse_expiry(text).map(|d| d.as_secs() / 60)
    }

    #[test]
    fn languages() {
        assert_eq!(mins("This code expires in 10 minutes."), Some(10));
        assert_eq!(mins("Der Code ist 15 Minuten gültig."), Some(15));
        assert_eq!(mins("Ce code expire dans 5 minutes."), Some(5));
        assert_eq!(mins("El código caduca en 30 minutos."), Some(30));
        assert_eq!(mins("验证码10分钟内有效"), Some(10));
        assert_eq!(mins("有効期限は30分です"), Some(30));
        assert_eq!(mins("인증번호는 3분간 유효합니다"), Some(3));
        assert_eq!(mins("The link is valid for 24 hours"), Some(1440));
        assert_eq!(mins("This link expires in an hour"), Some(60));
        assert_eq!(mins("Код действителен 10 минут"), Some(10));
        assert_eq!(mins("We shipped 10 minutes ago"), None);
    }
}
