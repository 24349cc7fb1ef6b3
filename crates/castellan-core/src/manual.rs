//! The manual connector's model (issue 12, point 5): a hub on an app Castellan has no connector
//! for. Its members come from a roster an admin uploads as CSV (or types in); every invite, role
//! change and removal becomes a [`ManualTask`] for the hub's named app admin, a person of the
//! workspace, who marks it done; the next roster verifies it.
//!
//! Here: the roster and task types, the roster's CSV format and its checks, and the rules that
//! verify a task from the roster and flag it overdue. No I/O; the connector is
//! `service::manual`, the store port [`crate::ports::ManualStore`].

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::activity::NewEvent;
use crate::connector::{AppMember, MemberState};
use crate::desired::{step, Desired, Seen, Step};
use crate::error::{CoreError, CoreResult};
use crate::hub::HubId;
use crate::ids::PersonId;
use crate::reconcile::normalize_email;
use crate::validate;

/// The connector name of manual hubs (a hub's `connector` override).
pub const MANUAL: &str = "manual";
/// The setting naming the app admin: the email of the workspace person who does the tasks.
pub const APP_ADMIN: &str = "app_admin";
/// The setting giving the hours a task has before it is overdue.
pub const TASK_DUE_HOURS: &str = "task_due_hours";
/// Hours a task has when the hub does not say (three days).
pub const DEFAULT_TASK_DUE_HOURS: i64 = 72;
/// The most hours a hub may give a task (30 days).
pub const MAX_TASK_DUE_HOURS: i64 = 720;
/// The most members a roster may hold.
pub const MAX_ROSTER_ROWS: usize = 100_000;
/// The largest roster CSV, in bytes (20 MiB).
pub const MAX_ROSTER_BYTES: usize = 20 * 1024 * 1024;
/// The longest member id, name or role in a roster, in characters.
pub const MAX_ROSTER_FIELD: usize = 320;

crate::uuid_id!(/// A task for a manual hub's app admin.
    ManualTaskId, "task");

crate::str_enum!(
    /// What a task asks the app admin to do.
    TaskKind, "kind" {
        /// Invite the person into the app with the role.
        Invite = "invite",
        /// Give the member the role.
        UpdateRole = "update_role",
        /// Remove (or deactivate) the member.
        Remove = "remove",
    }
);

crate::str_enum!(
    /// Where a task stands.
    TaskState, "state" {
        /// Waiting for the app admin.
        Open = "open",
        /// The app admin says it is done; the next roster will tell.
        Done = "done",
        /// A roster showed the change made.
        Verified = "verified",
        /// No longer wanted: a check for updates no longer plans the change (a grant changed).
        Cancelled = "cancelled",
    }
);

/// One member of a manual hub's roster, as uploaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterMember {
    /// The member's id in the app (the CSV's `id`, else the email).
    pub app_member_id: String,
    /// Email, normalized (trimmed, lowercased).
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// App roles, most privileged first (at least one).
    pub roles: Vec<String>,
    /// `active`, `invited` or `deactivated`.
    pub state: MemberState,
}

impl RosterMember {
    /// The member as a connector reports it.
    pub fn as_app_member(&self) -> AppMember {
        AppMember {
            app_member_id: self.app_member_id.clone(),
            email: Some(self.email.clone()),
            name: self.name.clone(),
            roles: self.roles.clone(),
            state: self.state,
        }
    }

    fn seen(&self) -> Seen<'_> {
        Seen {
            state: self.state,
            roles: &self.roles,
        }
    }
}

/// A task for a manual hub's app admin. At most one open-or-done task per hub, kind and email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualTask {
    /// Id.
    pub id: ManualTaskId,
    /// The hub.
    pub hub_id: HubId,
    /// What to do.
    pub kind: TaskKind,
    /// The member in the app (role changes and removals; `None` for an invitation).
    pub app_member_id: Option<String>,
    /// The person's or member's email (normalized).
    pub email: String,
    /// The role to give (invitations and role changes).
    pub role: Option<String>,
    /// The app admin who does it.
    pub assignee: PersonId,
    /// Where it stands.
    pub state: TaskState,
    /// Overdue after this instant.
    pub due_at: DateTime<Utc>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When the app admin marked it done.
    pub done_at: Option<DateTime<Utc>>,
    /// Who marked it done.
    pub done_by: Option<PersonId>,
    /// When a roster verified it.
    pub verified_at: Option<DateTime<Utc>>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl ManualTask {
    /// The app admin `person` marks the task done at `now` (the rule both stores apply inside
    /// their transaction). `Ok(true)` when it changed (open → done), `Ok(false)` when it was
    /// already done (nothing to write). Errors: `Conflict` when it is verified or cancelled.
    pub fn mark_done(&mut self, person: PersonId, now: DateTime<Utc>) -> CoreResult<bool> {
        match self.state {
            TaskState::Done => Ok(false),
            TaskState::Verified | TaskState::Cancelled => Err(CoreError::Conflict(format!(
                "the task is already {}",
                self.state
            ))),
            TaskState::Open => {
                self.state = TaskState::Done;
                self.done_at = Some(now);
                self.done_by = Some(person);
                Ok(true)
            }
        }
    }

    /// Whether the task still waits (open, or done but not yet seen in a roster).
    pub fn is_pending(&self) -> bool {
        matches!(self.state, TaskState::Open | TaskState::Done)
    }

    /// Whether the task is overdue at `now`: still pending past its due time. Computed when
    /// read, never stored.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.is_pending() && now > self.due_at
    }

    /// The roster member the task is about: by app member id when it names one, else by email
    /// (compared as matching compares them, `+tag` dropped).
    pub fn member_in<'a>(&self, roster: &'a [RosterMember]) -> Option<&'a RosterMember> {
        match &self.app_member_id {
            Some(id) => roster.iter().find(|m| &m.app_member_id == id),
            None => {
                let e = normalize_email(&self.email);
                roster.iter().find(|m| normalize_email(&m.email) == e)
            }
        }
    }

    /// Whether `member` (the roster's member the task is about, `None` when absent) shows the
    /// task done, by the bot's own rule ([`crate::desired::step`]): an invitation or a role
    /// change when the member is there, not deactivated, with the role as first role (an
    /// `invited` member counts, as for every hub); a removal when the member is absent or
    /// deactivated.
    pub fn verified_by(&self, member: Option<&RosterMember>) -> bool {
        let seen = member.map(RosterMember::seen);
        let want = match (self.kind, &self.role) {
            (TaskKind::Remove, _) => Desired::Absent,
            (_, Some(role)) => Desired::Member { role: role.clone() },
            (_, None) => return false,
        };
        step(&want, seen) == Step::Nothing
    }
}

/// A copy of `template` (a `hub.task_*` event) for `task`: a new id, the task as target and
/// its hub, kind, email, role, assignee and due time as details. Both stores and the service
/// make per-task events with it.
pub fn task_event(template: &NewEvent, task: &ManualTask) -> NewEvent {
    let mut ev = template.clone();
    ev.id = crate::ids::EventId::new();
    ev.target("task", task.id, task.kind.as_str())
        .details(serde_json::json!({
            "hub_id": task.hub_id, "kind": task.kind, "email": task.email, "role": task.role,
            "assignee": task.assignee, "due_at": task.due_at,
        }))
}

/// The pending tasks of `tasks` that `roster` verifies (the rule both stores apply inside the
/// roster's transaction).
pub fn verified_tasks<'a>(
    tasks: impl IntoIterator<Item = &'a ManualTask>,
    roster: &[RosterMember],
) -> Vec<ManualTaskId> {
    tasks
        .into_iter()
        .filter(|t| t.is_pending() && t.verified_by(t.member_in(roster)))
        .map(|t| t.id)
        .collect()
}

/// What opening a task does to the hub's pending tasks for the same email
/// ([`plan_open`]); both stores apply it inside one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPlan {
    /// The pending task of the same kind that stands for the new one, as it must be stored
    /// (an open one takes the new role and member id); `None` when the new task is inserted.
    pub keep: Option<ManualTask>,
    /// Whether `keep` differs from the stored task (its role or member id changed).
    pub changed: bool,
    /// Pending tasks the new one supersedes, to cancel: the newest task states the member's
    /// whole end state, so a member has at most one pending task.
    pub cancel: Vec<ManualTaskId>,
}

/// How opening `new` treats `existing`, the hub's tasks (any state): among those pending for
/// the same email, an open task of the same kind is kept (with the new role and, when given,
/// member id), a done one of the same kind is kept when it asks for the same role; every other
/// pending task for the email is cancelled.
pub fn plan_open(existing: &[ManualTask], new: &ManualTask) -> OpenPlan {
    let mut plan = OpenPlan {
        keep: None,
        changed: false,
        cancel: vec![],
    };
    let same = existing
        .iter()
        .filter(|t| t.hub_id == new.hub_id && t.is_pending() && t.email == new.email);
    for t in same {
        if t.kind == new.kind && plan.keep.is_none() {
            match t.state {
                TaskState::Open => {
                    let mut k = t.clone();
                    k.role.clone_from(&new.role);
                    if new.app_member_id.is_some() {
                        k.app_member_id.clone_from(&new.app_member_id);
                    }
                    plan.changed = k != *t;
                    plan.keep = Some(k);
                    continue;
                }
                TaskState::Done if t.role == new.role => {
                    plan.keep = Some(t.clone());
                    continue;
                }
                _ => {}
            }
        }
        plan.cancel.push(t.id);
    }
    plan
}

/// The members as they will be once the pending tasks are done: the roster with each pending
/// task (oldest first) applied. An invitation adds an `invited` member (id: the email) or
/// revives a deactivated one, a role change sets the role, a removal deactivates. This is what
/// the manual connector lists, so the bot sees a change as made once it is a task and plans it
/// only once; the roster alone says what the app admin has really done. Ordered by id.
pub fn project(roster: &[RosterMember], tasks: &[ManualTask]) -> Vec<RosterMember> {
    let mut out = roster.to_vec();
    let mut pending: Vec<&ManualTask> = tasks.iter().filter(|t| t.is_pending()).collect();
    pending.sort_by_key(|t| (t.created_at, t.id));
    for t in pending {
        let at = t
            .app_member_id
            .as_ref()
            .and_then(|id| out.iter().position(|m| &m.app_member_id == id))
            .or_else(|| {
                let e = normalize_email(&t.email);
                out.iter().position(|m| normalize_email(&m.email) == e)
            });
        match (t.kind, at, &t.role) {
            (TaskKind::Remove, Some(i), _) => out[i].state = MemberState::Deactivated,
            (TaskKind::Remove, None, _) | (_, _, None) => {}
            (_, Some(i), Some(role)) => {
                let m = &mut out[i];
                if !t.verified_by(Some(m)) {
                    m.roles = vec![role.clone()];
                    if m.state == MemberState::Deactivated {
                        m.state = MemberState::Invited;
                    }
                }
            }
            (_, None, Some(role)) => out.push(RosterMember {
                app_member_id: t.email.clone(),
                email: t.email.clone(),
                name: None,
                roles: vec![role.clone()],
                state: MemberState::Invited,
            }),
        }
    }
    out.sort_by(|a, b| a.app_member_id.cmp(&b.app_member_id));
    out
}

/// The hub snapshot's provisional member ids that a new roster gives real ids to: a member
/// listed only through a pending invitation carries its email as id ([`project`]); once the
/// roster shows that email under another id, the snapshot's row takes that id, so the next
/// check for updates sees the same member changed, not one gone and one new (which would count
/// against the shrink safeguard). `snapshot` holds (app member id, email) pairs. Returns
/// (old id, new id) pairs; an id the snapshot already has is never taken.
pub fn provisional_renames(
    snapshot: &[(String, Option<String>)],
    roster: &[RosterMember],
) -> Vec<(String, String)> {
    let taken: std::collections::HashSet<&str> =
        snapshot.iter().map(|(id, _)| id.as_str()).collect();
    let in_roster: std::collections::HashSet<&str> =
        roster.iter().map(|m| m.app_member_id.as_str()).collect();
    snapshot
        .iter()
        .filter(|(id, email)| {
            email.as_deref() == Some(id.as_str()) && !in_roster.contains(id.as_str())
        })
        .filter_map(|(id, _)| {
            let m = roster.iter().find(|m| m.email == *id)?;
            (!taken.contains(m.app_member_id.as_str()))
                .then(|| (id.clone(), m.app_member_id.clone()))
        })
        .collect()
}

/// A hub's task due time in hours from its settings: [`DEFAULT_TASK_DUE_HOURS`] when absent or
/// blank. Errors: `Validation` on `settings.task_due_hours` unless an integer in
/// `0..=`[`MAX_TASK_DUE_HOURS`].
pub fn due_hours(settings: &std::collections::BTreeMap<String, String>) -> CoreResult<i64> {
    match settings
        .get(TASK_DUE_HOURS)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        None => Ok(DEFAULT_TASK_DUE_HOURS),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|h| (0..=MAX_TASK_DUE_HOURS).contains(h))
            .ok_or_else(|| {
                CoreError::invalid(
                    format!("settings.{TASK_DUE_HOURS}"),
                    format!("must be a whole number of hours from 0 to {MAX_TASK_DUE_HOURS}"),
                )
            }),
    }
}

/// The due time of a task opened at `now` on a hub giving tasks `hours`.
pub fn due_at(now: DateTime<Utc>, hours: i64) -> DateTime<Utc> {
    now + Duration::hours(hours)
}

/// Parses a roster: CSV (RFC 4180) with a header row naming `email`, `name` and `role`, and
/// optionally `state` and `id`, in any order (names case-insensitive; other columns are
/// refused). `role` may hold several roles separated by `;`, most privileged first, each one of
/// `roles` (case-insensitive; stored lowercased); `state` is `active` (default), `invited` or
/// `deactivated`; `id` defaults to the email. Blank lines are skipped.
///
/// Every row is checked before anything is returned, and the first problem is a `Validation`
/// error on `roster` naming the line: a bad email, an unknown role or state, a duplicate id or
/// email, a field too long, more than [`MAX_ROSTER_ROWS`] members or more than
/// [`MAX_ROSTER_BYTES`] bytes.
pub fn parse_roster(text: &str, roles: &[String]) -> CoreResult<Vec<RosterMember>> {
    let bad = |msg: String| CoreError::invalid("roster", msg);
    if text.len() > MAX_ROSTER_BYTES {
        return Err(bad(format!(
            "the roster is larger than {} MiB",
            MAX_ROSTER_BYTES / (1024 * 1024)
        )));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = rdr
        .headers()
        .map_err(|e| bad(format!("line 1: {}", csv_error(&e))))?
        .clone();
    let col = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    for h in header.iter() {
        if !["email", "name", "role", "state", "id"]
            .iter()
            .any(|k| h.eq_ignore_ascii_case(k))
        {
            return Err(bad(format!(
                "line 1: unknown column `{}`: the header is email,name,role[,state][,id]",
                validate::clip(h)
            )));
        }
    }
    let (Some(email_col), Some(name_col), Some(role_col)) =
        (col("email"), col("name"), col("role"))
    else {
        return Err(bad(
            "line 1: the header must name the columns email,name,role[,state][,id]".into(),
        ));
    };
    let (state_col, id_col) = (col("state"), col("id"));
    let mut out: Vec<RosterMember> = vec![];
    let mut ids = std::collections::HashSet::new();
    let mut emails = std::collections::HashSet::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            bad(format!("line {line}: {}", csv_error(&e)))
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(str::is_empty) {
            continue;
        }
        if out.len() == MAX_ROSTER_ROWS {
            return Err(bad(format!(
                "line {line}: a roster holds at most {MAX_ROSTER_ROWS} members"
            )));
        }
        let at = |msg: String| bad(format!("line {line}: {msg}"));
        let field = |i: usize| rec.get(i).unwrap_or_default();
        let email = validate::email("email", field(email_col)).map_err(|_| {
            at(format!(
                "`{}` is not an email address",
                validate::clip(field(email_col))
            ))
        })?;
        let name = short(field(name_col), "name").map_err(&at)?;
        let mut member_roles = vec![];
        for r in field(role_col)
            .split(';')
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            let r = r.to_lowercase();
            if !roles.contains(&r) {
                return Err(at(format!(
                    "`{}` is not one of the app's roles: {}",
                    validate::clip(&r),
                    roles.join(", ")
                )));
            }
            if !member_roles.contains(&r) {
                member_roles.push(r);
            }
        }
        if member_roles.is_empty() {
            return Err(at("give the member's role".into()));
        }
        let state = match state_col.map(field).filter(|s| !s.is_empty()) {
            None => MemberState::Active,
            Some(s) => match s.to_ascii_lowercase().as_str() {
                "active" => MemberState::Active,
                "invited" => MemberState::Invited,
                "deactivated" => MemberState::Deactivated,
                _ => {
                    return Err(at(format!(
                        "state `{}` is not one of active, invited, deactivated",
                        validate::clip(s)
                    )))
                }
            },
        };
        let id = match id_col.map(field).filter(|s| !s.is_empty()) {
            Some(id) => short(id, "id").map_err(&at)?.unwrap_or_default(),
            None => email.clone(),
        };
        if !ids.insert(id.clone()) {
            return Err(at(format!(
                "the id `{}` appears twice",
                validate::clip(&id)
            )));
        }
        if !emails.insert(email.clone()) {
            return Err(at(format!("the email `{email}` appears twice")));
        }
        out.push(RosterMember {
            app_member_id: id,
            email,
            name,
            roles: member_roles,
            state,
        });
    }
    Ok(out)
}

/// A short text field of a roster row: `None` when blank; no control characters, at most
/// [`MAX_ROSTER_FIELD`] characters.
fn short(v: &str, what: &str) -> Result<Option<String>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > MAX_ROSTER_FIELD || v.chars().any(char::is_control) {
        return Err(format!(
            "the {what} is longer than {MAX_ROSTER_FIELD} characters or holds control characters"
        ));
    }
    Ok(Some(v.to_owned()))
}

/// A CSV error without the reader's positions (the caller names the line).
fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        _ => "not valid CSV".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles() -> Vec<String> {
        ["owner", "admin", "member"].map(String::from).to_vec()
    }

    #[test]
    fn a_roster_parses_with_defaults_and_several_roles() {
        let r = parse_roster(
            "Email,Name,Role,State,Id\nAna@Example.com,Ana,admin;member,,U1\nbo@example.com,,member,invited,\n\n",
            &roles(),
        )
        .unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].app_member_id, "U1");
        assert_eq!(r[0].email, "ana@example.com");
        assert_eq!(r[0].roles, ["admin", "member"]);
        assert_eq!(r[0].state, MemberState::Active);
        assert_eq!(r[1].app_member_id, "bo@example.com");
        assert_eq!(r[1].name, None);
        assert_eq!(r[1].state, MemberState::Invited);
        let r = parse_roster("role,name,email\nmember,Cy,cy@example.com\n", &roles()).unwrap();
        assert_eq!(r[0].email, "cy@example.com");
        assert!(parse_roster("email,name,role\n", &roles())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn bad_rows_are_refused_naming_the_line() {
        let err = |csv: &str| parse_roster(csv, &roles()).unwrap_err().to_string();
        assert!(err("email,name\n").contains("line 1"));
        assert!(err("email,name,role,zone\n").contains("unknown column `zone`"));
        let e = err("email,name,role\na@x.io,A,member\nnot-an-email,B,member\n");
        assert!(e.contains("line 3") && e.contains("not an email"), "{e}");
        let e = err("email,name,role\na@x.io,A,captain\n");
        assert!(e.contains("line 2") && e.contains("captain"), "{e}");
        let e = err("email,name,role,id\na@x.io,A,member,1\nb@x.io,B,member,1\n");
        assert!(e.contains("line 3") && e.contains("appears twice"), "{e}");
        let e = err("email,name,role\na@x.io,A,member\nA@x.io,B,member\n");
        assert!(e.contains("line 3") && e.contains("appears twice"), "{e}");
        let e = err("email,name,role\na@x.io,A\n");
        assert!(e.contains("line 2") && e.contains("2 fields"), "{e}");
        let e = err("email,name,role,state\na@x.io,A,member,gone\n");
        assert!(e.contains("state `gone`"), "{e}");
        assert!(err("email,name,role\na@x.io,A,\n").contains("give the member's role"));
    }

    fn task(kind: TaskKind, role: Option<&str>, id: Option<&str>) -> ManualTask {
        let now = Utc::now();
        ManualTask {
            id: ManualTaskId::new(),
            hub_id: HubId::new(),
            kind,
            app_member_id: id.map(str::to_owned),
            email: "ana@example.com".into(),
            role: role.map(str::to_owned),
            assignee: PersonId::new(),
            state: TaskState::Open,
            due_at: now,
            created_at: now,
            done_at: None,
            done_by: None,
            verified_at: None,
            cancelled_at: None,
        }
    }

    fn member(id: &str, email: &str, role: &str, state: MemberState) -> RosterMember {
        RosterMember {
            app_member_id: id.into(),
            email: email.into(),
            name: None,
            roles: vec![role.into()],
            state,
        }
    }

    #[test]
    fn tasks_verify_by_the_bots_own_rule() {
        use MemberState::*;
        let invite = task(TaskKind::Invite, Some("member"), None);
        let roster = [member("U1", "ana+slack@example.com", "member", Active)];
        assert!(invite.verified_by(invite.member_in(&roster)));
        assert!(invite.verified_by(Some(&member("U1", "a", "member", Invited))));
        assert!(!invite.verified_by(Some(&member("U1", "a", "admin", Active))));
        assert!(!invite.verified_by(Some(&member("U1", "a", "member", Deactivated))));
        assert!(!invite.verified_by(None));
        let role = task(TaskKind::UpdateRole, Some("admin"), Some("U1"));
        assert!(!role.verified_by(role.member_in(&roster)));
        assert!(role.verified_by(Some(&member("U1", "a", "admin", Active))));
        let remove = task(TaskKind::Remove, None, Some("U1"));
        assert!(!remove.verified_by(remove.member_in(&roster)));
        assert!(remove.verified_by(None));
        assert!(remove.verified_by(Some(&member("U1", "a", "member", Deactivated))));
        assert_eq!(
            verified_tasks([&invite, &role, &remove], &roster),
            vec![invite.id]
        );
    }

    #[test]
    fn provisional_ids_take_the_rosters() {
        use MemberState::*;
        let snap = vec![
            ("ana@x.io".to_owned(), Some("ana@x.io".to_owned())),
            ("U1".to_owned(), Some("bo@x.io".to_owned())),
            ("cy@x.io".to_owned(), Some("cy@x.io".to_owned())),
            ("dee@x.io".to_owned(), Some("dee@x.io".to_owned())),
        ];
        let roster = [
            member("U3", "ana@x.io", "member", Active),
            member("U1", "bo@x.io", "member", Active),
            member("cy@x.io", "cy@x.io", "member", Active),
            member("U1", "dee@x.io", "member", Active),
        ];
        assert_eq!(
            provisional_renames(&snap, &roster),
            vec![("ana@x.io".to_owned(), "U3".to_owned())]
        );
    }

    #[test]
    fn overdue_is_pending_past_due() {
        let mut t = task(TaskKind::Invite, Some("member"), None);
        let later = t.due_at + Duration::milliseconds(1);
        assert!(!t.is_overdue(t.due_at));
        assert!(t.is_overdue(later));
        t.state = TaskState::Done;
        assert!(t.is_overdue(later));
        t.state = TaskState::Verified;
        assert!(!t.is_overdue(later));
    }

    #[test]
    fn due_hours_default_and_range() {
        let s = |v: &str| {
            let mut m = std::collections::BTreeMap::new();
            m.insert(TASK_DUE_HOURS.to_owned(), v.to_owned());
            m
        };
        assert_eq!(due_hours(&Default::default()).unwrap(), 72);
        assert_eq!(due_hours(&s(" ")).unwrap(), 72);
        assert_eq!(due_hours(&s("0")).unwrap(), 0);
        assert_eq!(due_hours(&s("720")).unwrap(), 720);
        assert!(due_hours(&s("721")).is_err());
        assert!(due_hours(&s("-1")).is_err());
        assert!(due_hours(&s("1.5")).is_err());
    }
}
