//! Invitation records, for apps that show nobody's email address, not even to administrators
//! (MediaWiki). Before each invitation the connector records `<address> <username>` where the
//! app lets the automation account keep private values of its own (MediaWiki: its user
//! options), under a key made of a prefix and the address's SHA-256 ([`key`]), and reads the
//! records back with every listing ([`Records`]). So a member Castellan invited shows the
//! address it was invited with and is found by it, a retry finds the account its first try
//! made, and a derived username never takes an account Castellan did not make. A member made
//! any other way (or by another automation account) has no address: the connector cannot know
//! it. An app's connector says where it keeps them with a [`RecordStore`], which reads them once
//! per call and writes none it holds already.

use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use castellan_core::connector::ConnectorError;
use sha2::{Digest, Sha256};

/// One record: its key, the address, the username made for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The key ([`key`]).
    pub key: String,
    /// The address, lowercase.
    pub email: String,
    /// The username made for it.
    pub name: String,
}

/// The record key of an address (lowercase): `prefix` and 40 hex digits of its SHA-256 (the
/// characters `[A-Za-z0-9_-]` that apps allow in such names).
pub fn key(prefix: &str, email: &str) -> String {
    let hash = Sha256::digest(email.as_bytes());
    let hex: String = hash[..20].iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

/// The value that records `name` for `email`: `<address> <username>`; empty for an empty
/// `name` (what forgets a record).
pub fn value(email: &str, name: &str) -> String {
    match name {
        "" => String::new(),
        name => format!("{email} {name}"),
    }
}

/// The invitation records an app holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Records(pub Vec<Record>);

impl Records {
    /// The records among an app's `(key, value)` pairs: those whose key starts with `prefix`
    /// and whose value is `<address> <username>` ([`value`]).
    pub fn parse<'a>(prefix: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let rec = |(k, v): (&str, &str)| {
            let (email, name) = v.split_once(' ')?;
            let (key, email, name) = (k.to_owned(), email.to_owned(), name.to_owned());
            Some(Record { key, email, name })
        };
        let ours = pairs.into_iter().filter(|(k, _)| k.starts_with(prefix));
        Self(ours.filter_map(rec).collect())
    }

    /// The records among the string values of a JSON object (an app's private values as JSON,
    /// such as MediaWiki's user options); anything else holds none.
    pub fn of_object(prefix: &str, object: &serde_json::Value) -> Self {
        let values = object.as_object().into_iter().flatten();
        Self::parse(
            prefix,
            values.filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))),
        )
    }

    /// The record of the address whose key is `key`.
    pub fn of_key(&self, key: &str) -> Option<&Record> {
        self.0.iter().find(|r| r.key == key)
    }

    /// The address Castellan invited the user `name` with.
    pub fn email_of(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.email.as_str())
    }

    /// Whether Castellan made the user `name` (for some address).
    pub fn made(&self, name: &str) -> bool {
        self.email_of(name).is_some()
    }

    /// The first of `names` (the usernames an address gives, in order) that `taken` says no
    /// account has, past the accounts Castellan made for other addresses.
    ///
    /// Errors: `Conflict` at a name taken by an account Castellan did not make (it may be this
    /// person's own: a person decides), or when every name is taken; `email` names the address.
    pub fn first_free(
        &self,
        email: &str,
        names: Vec<String>,
        taken: impl Fn(&str) -> bool,
    ) -> Result<String, ConnectorError> {
        for n in names {
            match (taken(&n), self.made(&n)) {
                (false, _) => return Ok(n),
                (true, true) => {}
                (true, false) => {
                    let why = format!("{n} exists, not made by Castellan");
                    return Err(ConnectorError::Conflict(why));
                }
            }
        }
        let why = format!("the usernames for {email} are taken");
        Err(ConnectorError::Conflict(why))
    }
}

/// Where an app keeps the invitation records (the automation account's own private values),
/// and one connector call's copy of them: read once ([`RecordStore::records`]), then kept up to
/// date with the call's own writes, so that a retry after a lost answer never writes a record
/// the app holds already.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// The prefix of the records' keys ([`key`]).
    const PREFIX: &'static str;

    /// This call's copy of the records: `None` until read.
    fn copy(&self) -> &Mutex<Option<Records>>;

    /// Reads the records from the app.
    async fn read_records(&self) -> Result<Records, ConnectorError>;

    /// Sets the record `key` to `value` in the app (an empty value forgets it).
    async fn write_record(&self, key: &str, value: &str) -> Result<(), ConnectorError>;

    /// The records: this call's copy, read from the app on first use.
    async fn records(&self) -> Result<Records, ConnectorError> {
        if let Some(recs) = held(self.copy()).clone() {
            return Ok(recs);
        }
        let recs = self.read_records().await?;
        *held(self.copy()) = Some(recs.clone());
        Ok(recs)
    }

    /// The username recorded for `email`, if any.
    async fn recorded(&self, email: &str) -> Result<Option<String>, ConnectorError> {
        let key = key(Self::PREFIX, email);
        Ok(self.records().await?.of_key(&key).map(|r| r.name.clone()))
    }

    /// Records `name` as the username made for `email` (an empty one forgets the address),
    /// unless the records say so already.
    async fn record(&self, email: &str, name: &str) -> Result<(), ConnectorError> {
        let key = key(Self::PREFIX, email);
        if self.recorded(email).await?.as_deref().unwrap_or("") == name {
            return Ok(());
        }
        self.write_record(&key, &value(email, name)).await?;
        if let Some(recs) = held(self.copy()).as_mut() {
            recs.0.retain(|r| r.key != key);
            let (email, name) = (email.to_owned(), name.to_owned());
            recs.0
                .extend((!name.is_empty()).then_some(Record { key, email, name }));
        }
        Ok(())
    }

    /// Records the existing user `name` for `email`: the person's own, unless Castellan made it
    /// for another address.
    ///
    /// Errors: `Conflict` when Castellan made `name` for another address.
    async fn claim(&self, email: &str, name: &str) -> Result<(), ConnectorError> {
        if self
            .records()
            .await?
            .email_of(name)
            .is_some_and(|e| e != email)
        {
            let why = format!("{name} was invited with another address");
            return Err(ConnectorError::Conflict(why));
        }
        self.record(email, name).await
    }
}

/// A copy of the records, even when a panic poisoned its lock.
fn held(copy: &Mutex<Option<Records>>) -> MutexGuard<'_, Option<Records>> {
    copy.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_kept_read_and_consulted() {
        let k = key("p-", "a@b");
        assert_eq!((k.len(), &k[..2]), (2 + 40, "p-"));
        assert_eq!(
            (value("a@b", "Ana"), value("a@b", "")),
            ("a@b Ana".into(), "".into())
        );
        let opts = [
            ("p-1", "a@b Ana B"),
            ("p-2", ""),
            ("other", "c@d Cy"),
            ("p-3", "x"),
        ];
        let recs = Records::parse("p-", opts);
        assert_eq!(recs.0.len(), 1);
        let object = serde_json::json!({"p-1": "a@b Ana B", "p-2": 7, "other": "c@d Cy"});
        assert_eq!(Records::of_object("p-", &object), recs);
        assert_eq!(
            Records::of_object("p-", &serde_json::Value::Null),
            Records::default()
        );
        assert_eq!(recs.of_key("p-1").map(|r| r.name.as_str()), Some("Ana B"));
        assert_eq!(
            (recs.email_of("Ana B"), recs.made("Cy")),
            (Some("a@b"), false)
        );
        let names = || vec!["Ana B".to_owned(), "Ana B-2".to_owned()];
        let taken = |n: &str| n == "Ana B";
        assert_eq!(recs.first_free("x@y", names(), taken).unwrap(), "Ana B-2");
        let all = recs.first_free("x@y", names(), |_| true);
        assert!(matches!(all, Err(ConnectorError::Conflict(m)) if m.contains("Ana B-2 exists")));
        let none = Records::default().first_free("x@y", names(), taken);
        assert!(matches!(none, Err(ConnectorError::Conflict(m)) if m.contains("Ana B exists")));
    }

    /// Records kept in memory; every write is counted.
    #[derive(Default)]
    struct Store(Mutex<Option<Records>>, Mutex<Vec<(String, String)>>);

    #[async_trait]
    impl RecordStore for Store {
        const PREFIX: &'static str = "p-";
        fn copy(&self) -> &Mutex<Option<Records>> {
            &self.0
        }
        async fn read_records(&self) -> Result<Records, ConnectorError> {
            let writes = self.1.lock().unwrap();
            Ok(Records::parse(
                "p-",
                writes.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            ))
        }
        async fn write_record(&self, key: &str, value: &str) -> Result<(), ConnectorError> {
            self.1
                .lock()
                .unwrap()
                .push((key.to_owned(), value.to_owned()));
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_store_writes_only_what_it_does_not_hold() {
        let store = Store::default();
        store.record("a@b", "Ana").await.unwrap();
        store.record("a@b", "Ana").await.unwrap();
        assert_eq!(store.recorded("a@b").await.unwrap().as_deref(), Some("Ana"));
        assert!(matches!(
            store.claim("c@d", "Ana").await,
            Err(ConnectorError::Conflict(_))
        ));
        store.claim("c@d", "Cy").await.unwrap();
        store.record("a@b", "").await.unwrap();
        assert_eq!(store.recorded("a@b").await.unwrap(), None);
        assert_eq!(
            store.1.lock().unwrap().len(),
            3,
            "Ana, Cy, and forgetting Ana"
        );
    }
}
