//! A minimal cookie jar for apps driven through their web pages (RFC 6265): names and values
//! only, for one host.

use std::collections::BTreeMap;

use secrecy::SecretString;

/// The cookies an app set during one connector call. Values are session secrets: the jar has
/// no `Debug` that shows them.
#[derive(Default, Clone)]
pub struct CookieJar {
    cookies: BTreeMap<String, String>,
}

impl std::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.cookies.keys()).finish()
    }
}

impl CookieJar {
    /// Whether the jar holds no cookie.
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// The value of cookie `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// How many cookies the jar holds.
    pub fn len(&self) -> usize {
        self.cookies.len()
    }

    /// Records one `Set-Cookie` header value (RFC 6265 §4.1): name and value; attributes are not
    /// kept (one host). An empty value or an expiry in the past (`Max-Age` ≤ 0, a 1970 date)
    /// deletes the cookie; a header without `name=` is ignored.
    pub fn store(&mut self, header: &str) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            return;
        }
        let expired = parts.any(|a| {
            let a = a.trim().to_ascii_lowercase();
            a == "max-age=0" || a.starts_with("max-age=-") || a.contains("1970")
        });
        if value.is_empty() || expired {
            self.cookies.remove(name);
        } else {
            self.cookies.insert(name.to_owned(), value.to_owned());
        }
    }

    /// Records every `Set-Cookie` header of a reply.
    pub fn store_all<'a>(&mut self, headers: impl IntoIterator<Item = &'a String>) {
        for h in headers {
            self.store(h);
        }
    }

    /// The `Cookie` request header (RFC 6265 §5.4): `a=1; b=2`.
    pub fn header(&self) -> SecretString {
        SecretString::from(
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn cookies_are_kept_and_dropped() {
        let mut jar = CookieJar::default();
        jar.store("Redmine=abc%3D--12; path=/; HttpOnly");
        jar.store("other=1; path=/");
        assert_eq!(jar.get("Redmine"), Some("abc%3D--12"));
        jar.store("Redmine=def; path=/; HttpOnly");
        assert_eq!(jar.get("Redmine"), Some("def"));
        assert_eq!(jar.header().expose_secret(), "Redmine=def; other=1");
        jar.store("autologin=; path=/; max-age=0; expires=Thu, 01 Jan 1970 00:00:00 GMT");
        jar.store("other=x; Max-Age=0");
        assert_eq!(jar.len(), 1);
        jar.store("garbage");
        assert_eq!(jar.len(), 1);
        assert!(!format!("{jar:?}").contains("def"));
    }
}
