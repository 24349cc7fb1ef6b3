//! The activity log: append-only and hash-chained. Each event's `hash` is the SHA-256 of its
//! canonical encoding, which includes the previous event's hash, so changing or removing any
//! event breaks the chain at that point ([`verify_chain`]).

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod actions;

pub use actions::{catalog_markdown, ActivityAction, UnknownAction};

use crate::ids::{EventId, PersonId, TokenId};
use crate::model::WorkspaceRole;

/// The `prev_hash` of the first event: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A person (through the API, CLI or web app).
    Person,
    /// The bot.
    Bot,
    /// Castellan itself or a host-local command (`init`, `keys rotate`).
    System,
    /// Someone not signed in (a failed sign-in, claiming the workspace).
    Anonymous,
}

/// The authenticated caller of a core operation, with the request's source.
#[derive(Debug, Clone)]
pub struct Actor {
    /// What kind of actor.
    pub kind: ActorKind,
    /// The person, for `Person` actors.
    pub person_id: Option<PersonId>,
    /// Their workspace role (for `System`, treated as `Owner` by callers that allow it).
    pub role: WorkspaceRole,
    /// The person's email (for the log).
    pub name: String,
    /// The API token used, if any.
    pub token_id: Option<TokenId>,
    /// Source IP address of the request.
    pub source_ip: Option<String>,
    /// User agent of the request.
    pub user_agent: Option<String>,
    /// The SCIM request the actor is serving, if any: every event written for this actor
    /// carries it in its details ([`NewEvent::new`]), and so do the jobs it queues.
    pub scim_request: Option<ScimRequest>,
}

/// The key under which an event's details name the SCIM request that caused it.
pub const SCIM_REQUEST: &str = "scim_request";

/// Longest request path kept in a [`ScimRequest`]; a longer one is cut (and ends in `…`).
pub const MAX_REQUEST_PATH: usize = 256;

/// A SCIM request (RFC 7644 §3: an HTTP method on a resource path under `/scim/v2`), as the
/// activity log and the job queue name the cause of a change: `{"method": "PATCH", "path":
/// "/scim/v2/Users/<id>"}`. Never a body or a query string (a filter may hold personal data,
/// and nothing in either is needed to find the call again in the identity provider's log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimRequest {
    /// The HTTP method, upper case (`POST`, `PUT`, `PATCH`, `DELETE`).
    pub method: String,
    /// The request path without its query, as received (at most [`MAX_REQUEST_PATH`] bytes).
    pub path: String,
}

impl ScimRequest {
    /// A request from its method and path; a query (`?…`) is dropped and a path longer than
    /// [`MAX_REQUEST_PATH`] is cut at a character boundary.
    pub fn new(method: &str, path: &str) -> Self {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let path = if path.len() > MAX_REQUEST_PATH {
            let mut end = MAX_REQUEST_PATH;
            while !path.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}…", &path[..end])
        } else {
            path.to_owned()
        };
        Self {
            method: method.to_ascii_uppercase(),
            path,
        }
    }
}

impl Actor {
    /// A host-local system actor (for `init`, `keys rotate`, migrations).
    pub fn system(what: &str) -> Self {
        Self {
            kind: ActorKind::System,
            person_id: None,
            role: WorkspaceRole::Owner,
            name: what.to_owned(),
            token_id: None,
            source_ip: None,
            user_agent: None,
            scim_request: None,
        }
    }

    /// The bot, acting for `what` (e.g. `bot (invite_member)`); it may do what an owner may.
    pub fn bot(what: &str) -> Self {
        Self {
            kind: ActorKind::Bot,
            person_id: None,
            role: WorkspaceRole::Owner,
            name: what.to_owned(),
            token_id: None,
            source_ip: None,
            user_agent: None,
            scim_request: None,
        }
    }

    /// A caller who is not signed in, with the request's source.
    pub fn anonymous(source_ip: Option<String>, user_agent: Option<String>) -> Self {
        Self {
            kind: ActorKind::Anonymous,
            person_id: None,
            role: WorkspaceRole::Guest,
            name: "anonymous".into(),
            token_id: None,
            source_ip,
            user_agent,
            scim_request: None,
        }
    }

    /// This actor serving `request` (`None` leaves it serving none): the bot running a job
    /// that a SCIM request caused names that request in its events too.
    pub fn with_scim_request(mut self, request: Option<ScimRequest>) -> Self {
        self.scim_request = request;
        self
    }
}

/// An event to append; the store assigns `seq`, `prev_hash` and `hash` inside the write's
/// transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Id.
    pub id: EventId,
    /// When it happened (stored in milliseconds).
    pub at: DateTime<Utc>,
    /// Actor kind.
    pub actor_kind: ActorKind,
    /// Actor person id, if a person.
    pub actor_id: Option<String>,
    /// Actor display (email or system command).
    pub actor_name: String,
    /// API token used, if any.
    pub token_id: Option<String>,
    /// Dotted action name as stored ([`ActivityAction::as_str`]), e.g. `account.create`.
    pub action: String,
    /// Target kind, e.g. `account`.
    pub target_kind: Option<String>,
    /// Target id.
    pub target_id: Option<String>,
    /// Target label at the time.
    pub target_label: Option<String>,
    /// Source IP.
    pub source_ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Extra non-secret details as a JSON object (serialized once; hashed as stored).
    pub details: String,
}

impl NewEvent {
    /// An event by `actor` at `at` (truncated to milliseconds), with no target. The service
    /// takes `at` from its [`crate::clock::Clock`]. When the actor serves a SCIM request, the
    /// details start as `{"scim_request": {"method": …, "path": …}}` ([`SCIM_REQUEST`]), which
    /// [`NewEvent::details`] keeps.
    pub fn new(actor: &Actor, action: ActivityAction, at: DateTime<Utc>) -> Self {
        let details = match &actor.scim_request {
            Some(r) => serde_json::json!({ SCIM_REQUEST: r }).to_string(),
            None => "{}".into(),
        };
        Self {
            id: EventId::new(),
            at: truncate_ms(at),
            actor_kind: actor.kind,
            actor_id: actor.person_id.map(|p| p.to_string()),
            actor_name: actor.name.clone(),
            token_id: actor.token_id.map(|t| t.to_string()),
            action: action.as_str().to_owned(),
            target_kind: None,
            target_id: None,
            target_label: None,
            source_ip: actor.source_ip.clone(),
            user_agent: actor.user_agent.clone(),
            details,
        }
    }

    /// Sets the target.
    pub fn target(mut self, kind: &str, id: impl ToString, label: impl Into<String>) -> Self {
        self.target_kind = Some(kind.to_owned());
        self.target_id = Some(id.to_string());
        self.target_label = Some(label.into());
        self
    }

    /// Sets the details object. Never put secrets here. The SCIM request the event already
    /// names ([`NewEvent::new`]) is kept: merged into an object that does not name one, or
    /// beside any other value as `{"value": …, "scim_request": …}`.
    pub fn details(mut self, details: serde_json::Value) -> Self {
        // Details still `{}` name no request: no need to read them.
        let request = (self.details != "{}")
            .then(|| serde_json::from_str::<serde_json::Value>(&self.details).ok())
            .flatten()
            .and_then(|mut d| d.get_mut(SCIM_REQUEST).map(serde_json::Value::take));
        self.details = match (request, details) {
            (None, d) => d,
            (Some(r), serde_json::Value::Object(mut o)) => {
                o.entry(SCIM_REQUEST).or_insert(r);
                serde_json::Value::Object(o)
            }
            (Some(r), d) => serde_json::json!({ "value": d, SCIM_REQUEST: r }),
        }
        .to_string();
        self
    }
}

/// An event as stored and listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityEvent {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Id.
    pub id: String,
    /// Time (RFC 3339, millisecond precision).
    pub at: DateTime<Utc>,
    /// Actor kind.
    pub actor_kind: ActorKind,
    /// Actor person id.
    pub actor_id: Option<String>,
    /// Actor display.
    pub actor_name: String,
    /// Token used.
    pub token_id: Option<String>,
    /// Action.
    pub action: String,
    /// Target kind.
    pub target_kind: Option<String>,
    /// Target id.
    pub target_id: Option<String>,
    /// Target label.
    pub target_label: Option<String>,
    /// Source IP.
    pub source_ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Details (JSON object text).
    pub details: String,
    /// Previous event's hash (hex SHA-256).
    pub prev_hash: String,
    /// This event's hash (hex SHA-256).
    pub hash: String,
}

/// The rule for throttled activity (token use, repeated TOTP code reads): whether a use at `at`
/// is written to the log, given when the last logged one was (`previous`): always the first
/// time, then only once more than `window` has passed. A clock running backwards (an earlier
/// `at`) logs nothing.
pub fn log_due(
    previous: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
    window: chrono::Duration,
) -> bool {
    previous.is_none_or(|prev| at.signed_duration_since(prev) > window)
}

/// Drops sub-millisecond precision so a time survives a round trip through the store.
pub fn truncate_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t.timestamp_millis())
        .single()
        .unwrap_or(t)
}

impl ActivityEvent {
    /// Seals `ev` at position `seq` after `prev_hash`.
    pub fn chain(ev: &NewEvent, seq: i64, prev_hash: &str) -> Self {
        let mut out = Self {
            seq,
            id: ev.id.to_string(),
            at: truncate_ms(ev.at),
            actor_kind: ev.actor_kind,
            actor_id: ev.actor_id.clone(),
            actor_name: ev.actor_name.clone(),
            token_id: ev.token_id.clone(),
            action: ev.action.clone(),
            target_kind: ev.target_kind.clone(),
            target_id: ev.target_id.clone(),
            target_label: ev.target_label.clone(),
            source_ip: ev.source_ip.clone(),
            user_agent: ev.user_agent.clone(),
            details: ev.details.clone(),
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        out.hash = out.compute_hash();
        out
    }

    /// The SHA-256 (hex) of the canonical encoding: a JSON array of every field but `hash`,
    /// in a fixed order, with the time in Unix milliseconds.
    pub fn compute_hash(&self) -> String {
        let canonical = serde_json::json!([
            "castellan-activity-v1",
            self.seq,
            self.id,
            self.at.timestamp_millis(),
            self.actor_kind,
            self.actor_id,
            self.actor_name,
            self.token_id,
            self.action,
            self.target_kind,
            self.target_id,
            self.target_label,
            self.source_ip,
            self.user_agent,
            self.details,
            self.prev_hash,
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// One break found by [`verify_chain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainProblem {
    /// The sequence number where the chain breaks.
    pub seq: i64,
    /// What is wrong there.
    pub problem: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    /// Events checked.
    pub checked: i64,
    /// `true` when no problem was found.
    pub intact: bool,
    /// Every break, in order.
    pub problems: Vec<ChainProblem>,
}

/// The chain head kept beside the log (last `seq` and `hash`), to detect removal of the tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// Last sequence number (0 for an empty log).
    pub seq: i64,
    /// Last hash ([`GENESIS_HASH`] for an empty log).
    pub hash: String,
}

/// Incremental verifier: feed events in `seq` order with [`ChainVerifier::push`], then
/// [`ChainVerifier::finish`] with the stored head. Finds changed events (hash mismatch), removed
/// or inserted events (sequence gap, broken link) and a truncated tail (head mismatch).
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
    report: ChainReport,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
            report: ChainReport {
                checked: 0,
                intact: true,
                problems: vec![],
            },
        }
    }
}

impl ChainVerifier {
    /// Checks the next event.
    pub fn push(&mut self, ev: &ActivityEvent) {
        let mut problem = |p: String| {
            self.report.problems.push(ChainProblem {
                seq: ev.seq,
                problem: p,
            });
        };
        if ev.seq != self.expected_seq {
            problem(format!(
                "expected event #{} but found #{}: events are missing or were inserted",
                self.expected_seq, ev.seq
            ));
        }
        if ev.prev_hash != self.prev_hash {
            problem("its link to the previous event is broken (an earlier event was changed or removed)".into());
        }
        if ev.compute_hash() != ev.hash {
            problem("its content does not match its hash (the event was changed)".into());
        }
        self.report.checked += 1;
        self.expected_seq = ev.seq + 1;
        self.prev_hash = ev.hash.clone();
    }

    /// Compares the last event with the stored head and returns the report.
    pub fn finish(mut self, head: &ChainHead) -> ChainReport {
        let last_seq = self.expected_seq - 1;
        if head.seq != last_seq || head.hash != self.prev_hash {
            self.report.problems.push(ChainProblem {
                seq: head.seq,
                problem: format!(
                    "the log ends at event #{last_seq} but the chain head records #{}: events at the end were removed or the head was altered",
                    head.seq
                ),
            });
        }
        self.report.intact = self.report.problems.is_empty();
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttled_uses_are_logged_once_per_window() {
        let t0 = Utc
            .timestamp_millis_opt(1_700_000_000_000)
            .single()
            .unwrap();
        let w = chrono::Duration::minutes(10);
        let at = |secs: i64| t0 + chrono::Duration::seconds(secs);
        assert!(log_due(None, t0, w), "the first use is logged");
        // A page refreshing every 30 s for 10 minutes logs nothing more…
        for s in (30..=600).step_by(30) {
            assert!(!log_due(Some(t0), at(s), w), "{s} s after");
        }
        // …then one more use past the window is logged.
        assert!(log_due(Some(t0), at(601), w));
        assert!(
            !log_due(Some(t0), at(-5), w),
            "a clock going backwards logs nothing"
        );
    }

    fn chain(n: i64) -> Vec<ActivityEvent> {
        let actor = Actor::system("test");
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let ev = ActivityEvent::chain(
                    &NewEvent::new(
                        &actor,
                        ActivityAction::AuthSignIn,
                        Utc.timestamp_opt(1_700_000_000 + seq, 0).unwrap(),
                    ),
                    seq,
                    &prev,
                );
                prev = ev.hash.clone();
                ev
            })
            .collect()
    }

    fn verify(evs: &[ActivityEvent], head: ChainHead) -> ChainReport {
        let mut v = ChainVerifier::default();
        evs.iter().for_each(|e| v.push(e));
        v.finish(&head)
    }

    fn head(evs: &[ActivityEvent]) -> ChainHead {
        let last = evs.last().unwrap();
        ChainHead {
            seq: last.seq,
            hash: last.hash.clone(),
        }
    }

    #[test]
    fn a_scim_request_stays_in_the_details_whatever_is_set_later() {
        let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let req = ScimRequest::new("patch", "/scim/v2/Users/42?filter=userName%20eq%20x");
        assert_eq!(
            (req.method.as_str(), req.path.as_str()),
            ("PATCH", "/scim/v2/Users/42"),
            "no query"
        );
        let actor = Actor::system("SCIM (okta)").with_scim_request(Some(req));
        let want = serde_json::json!({ "method": "PATCH", "path": "/scim/v2/Users/42" });
        let details = |e: &NewEvent| serde_json::from_str::<serde_json::Value>(&e.details).unwrap();
        let ev = NewEvent::new(&actor, ActivityAction::PersonUpdate, at);
        assert_eq!(details(&ev), serde_json::json!({ SCIM_REQUEST: want }));
        let ev = ev.details(serde_json::json!({ "name": { "from": "A", "to": "B" } }));
        assert_eq!(details(&ev)["name"]["to"], "B");
        assert_eq!(details(&ev)[SCIM_REQUEST], want, "merged, not dropped");
        let ev = ev.details(serde_json::json!({ "status": "x" }));
        assert_eq!(
            details(&ev)[SCIM_REQUEST],
            want,
            "a second call keeps it too"
        );
        assert!(details(&ev).get("name").is_none(), "the rest is replaced");
        let ev = ev.details(serde_json::json!(["odd"]));
        assert_eq!(
            details(&ev),
            serde_json::json!({ "value": ["odd"], SCIM_REQUEST: want })
        );
        // Without a request, details are what is set.
        let plain = NewEvent::new(&Actor::system("x"), ActivityAction::PersonUpdate, at)
            .details(serde_json::json!({ "a": 1 }));
        assert_eq!(details(&plain), serde_json::json!({ "a": 1 }));
        let long = ScimRequest::new("GET", &format!("/scim/v2/Users/{}", "é".repeat(300)));
        assert!(long.path.len() <= MAX_REQUEST_PATH + '…'.len_utf8());
        assert!(long.path.ends_with('…'));
    }

    #[test]
    fn intact_chain_verifies() {
        let evs = chain(5);
        assert!(verify(&evs, head(&evs)).intact);
    }

    #[test]
    fn changed_event_is_found() {
        let mut evs = chain(5);
        let h = head(&evs);
        evs[2].action = "account.delete".into();
        let r = verify(&evs, h);
        assert!(!r.intact);
        assert_eq!(r.problems[0].seq, 3);
    }

    #[test]
    fn removed_event_is_found() {
        let mut evs = chain(5);
        let h = head(&evs);
        evs.remove(1);
        let r = verify(&evs, h);
        assert!(!r.intact);
        assert_eq!(r.problems[0].seq, 3);
    }

    #[test]
    fn truncated_tail_is_found() {
        let mut evs = chain(5);
        let h = head(&evs);
        evs.pop();
        assert!(!verify(&evs, h).intact);
    }
}
