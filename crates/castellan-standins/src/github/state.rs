//! The stand-in's data: GitHub accounts and their tokens, one organization's memberships,
//! pending invitations and teams, and the rate limits a test asks it to answer with.

use std::collections::{BTreeMap, HashMap};

/// A GitHub account.
/// The organization's numeric id, as GitHub's own links name it (`/organizations/{org_id}/…`).
pub(crate) const ORG_ID: u64 = 9_000_001;

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: u64,
    pub(crate) login: String,
    pub(crate) name: Option<String>,
    /// The email the user chose to show on their profile (`GET /user` only).
    pub(crate) public_email: Option<String>,
}

/// A pending invitation to the organization.
#[derive(Debug, Clone)]
pub(crate) struct Invitation {
    pub(crate) id: u64,
    /// The invited account's login, when invited by account (`PUT …/memberships/{username}`).
    pub(crate) login: Option<String>,
    pub(crate) email: Option<String>,
    /// `admin`, `direct_member` or `billing_manager`.
    pub(crate) role: String,
    pub(crate) inviter: u64,
}

/// A team and its members' roles (`maintainer`, `member`) by login, lowercase.
#[derive(Debug, Clone)]
pub(crate) struct Team {
    pub(crate) id: u64,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) members: BTreeMap<String, String>,
}

/// A rate limit the next requests are answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The primary limit: 403 with `x-ratelimit-remaining: 0`, reset this many seconds later.
    Primary {
        /// Seconds until `x-ratelimit-reset`.
        reset_in: u64,
    },
    /// A secondary limit: 403 with `retry-after` in seconds.
    Secondary {
        /// The `retry-after` value.
        retry_after: u64,
    },
}

/// Everything one stand-in holds.
#[derive(Debug, Default)]
pub(crate) struct Data {
    pub(crate) org: String,
    pub(crate) org_id: u64,
    next_id: u64,
    /// Accounts by login, lowercase.
    pub(crate) users: BTreeMap<String, User>,
    pub(crate) tokens: HashMap<String, String>,
    /// Organization roles (`admin`, `member`) by login, lowercase.
    pub(crate) members: BTreeMap<String, String>,
    pub(crate) invitations: Vec<Invitation>,
    pub(crate) teams: Vec<Team>,
    /// The limit the next `.1` requests meet.
    pub(crate) limit: Option<(Limit, usize)>,
    /// Requests answered so far (for `x-ratelimit-used`).
    pub(crate) used: u64,
}

impl Data {
    pub(crate) fn new(org: &str) -> Self {
        Self {
            org: org.to_owned(),
            org_id: ORG_ID,
            next_id: 1_000,
            ..Self::default()
        }
    }

    /// A fresh id.
    pub(crate) fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The account `login` (made when missing).
    pub(crate) fn user(&mut self, login: &str) -> User {
        let key = login.to_lowercase();
        if let Some(u) = self.users.get(&key) {
            return u.clone();
        }
        let u = User {
            id: self.id(),
            login: login.to_owned(),
            name: None,
            public_email: None,
        };
        self.users.insert(key, u.clone());
        u
    }

    /// The account of a token.
    pub(crate) fn by_token(&self, token: &str) -> Option<User> {
        let login = self.tokens.get(token)?;
        self.users.get(&login.to_lowercase()).cloned()
    }

    /// The account `login`, if it exists.
    pub(crate) fn find(&self, login: &str) -> Option<User> {
        self.users.get(&login.to_lowercase()).cloned()
    }

    /// The organization role of `login`, if a member.
    pub(crate) fn role(&self, login: &str) -> Option<&str> {
        self.members.get(&login.to_lowercase()).map(String::as_str)
    }

    /// The members with `role` (`None`: all), by account id.
    pub(crate) fn members_with(&self, role: Option<&str>) -> Vec<User> {
        let mut out: Vec<User> = self
            .members
            .iter()
            .filter(|(_, r)| role.is_none_or(|want| want == r.as_str()))
            .filter_map(|(login, _)| self.users.get(login).cloned())
            .collect();
        out.sort_by_key(|u| u.id);
        out
    }

    /// The team `slug`'s index.
    pub(crate) fn team(&self, slug: &str) -> Option<usize> {
        self.teams
            .iter()
            .position(|t| t.slug.eq_ignore_ascii_case(slug))
    }
}
