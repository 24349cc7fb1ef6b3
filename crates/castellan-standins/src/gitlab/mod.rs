//! **A stand-in for GitLab's REST API v4 (a group's members, invitations, subgroups and
//! projects), not GitLab.** It serves the endpoints the `gitlab` connector uses, under
//! `/api/v4` as GitLab.com and self-managed instances do, from memory: one top-level group
//! (`castellan`) with a subgroup (`castellan/platform`) and a project in it
//! (`castellan/platform/api`), per [`GitLab`].
//!
//! - `GET /user`: the token's user `{"id", "username", "name", "state", "email"}`.
//! - `GET|POST /{groups|projects}/{id}/members` (`page`, `per_page` ≤ 100, `query`; `{"user_id",
//!   "access_level"}`), `GET|PUT|DELETE /{groups|projects}/{id}/members/{user_id}`,
//!   `GET /{groups|projects}/{id}/members/all/{user_id}` (inherited levels included): direct
//!   members `{"id", "username", "name", "state", "access_level", "created_at", "expires_at",
//!   "membership_state", "web_url"}`, with `email` for the group's enterprise users (addresses
//!   at its verified domain, `example.com`) when the caller owns the group.
//! - `GET|POST /groups/{id}/invitations` (`query` matches an address exactly; `{"email",
//!   "access_level"}`), `PUT|DELETE /groups/{id}/invitations/{email}`: invitations
//!   `{"id", "invite_email", "created_at", "access_level", "expires_at", "user_name",
//!   "created_by_name"}`. An invitation of a user's address adds the user at once.
//! - `GET /groups/{id}/descendant_groups`, `GET /groups/{id}/projects?include_subgroups=true`.
//!
//! Groups and projects are named by id or URL-encoded full path. Tokens come in `PRIVATE-TOKEN`
//! (or `Authorization: Bearer`). Listings carry `X-Page`, `X-Per-Page`, `X-Next-Page` (empty on
//! the last page), `X-Prev-Page`, `X-Total`, `X-Total-Pages` and `Link`. Errors are GitLab's
//! bodies: 401 `{"message": "401 Unauthorized"}`, 403 `{"message": "403 Forbidden"}`, 404
//! `{"message": "404 Group Not Found"}` (a group the caller is not in, too) and `"404 Member
//! Not Found"`, 400 `{"error": "access_level does not have a valid value"}` and `{"message":
//! {"access_level": ["should be greater than or equal to … inherited membership from group
//! …"]}}`, 409 `{"message": "Member already exists"}`. Every answer carries `RateLimit-Limit`,
//! `RateLimit-Observed`, `RateLimit-Remaining` and `RateLimit-Reset` (a Unix time); past the
//! limit, 429 `Retry later` (plain text) with `Retry-After`.
//!
//! The stand-in's own choices, where GitLab's reference is silent: an invitation's `POST`
//! answers 201 with `{"status": "success"}` or `{"status": "error", "message": {<email>:
//! <reason>}}`; rows come in the order they were made; with [`GitLab::sign_up_on_invite`], an
//! address with no account gets one when invited (as if the person had signed up before), so
//! invitees join at once. Pages: <https://docs.gitlab.com/api/members/>,
//! <https://docs.gitlab.com/api/invitations/>, <https://docs.gitlab.com/api/groups/>,
//! <https://docs.gitlab.com/api/users/>, <https://docs.gitlab.com/api/rest/#pagination>,
//! <https://docs.gitlab.com/security/rate_limits/>,
//! <https://docs.gitlab.com/api/rest/troubleshooting/>.
//!
//! Not modelled: instance admins, minimal access, billable members, seat approval
//! (`membership_state: awaiting`), custom roles, expiry, invited groups, keyset pagination.

mod routes;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::kit::{self, RateLimit};

/// Requests a minute before 429 unless a test sets another (above GitLab.com's per-user limits,
/// so the conformance suite runs at full speed).
pub const DEFAULT_LIMIT: u32 = 100_000;
/// The verified domain of the group: its users' addresses are shown to owners.
pub const ENTERPRISE_DOMAIN: &str = "example.com";

/// A running stand-in: its base URL (`…/api/v4`), its group, subgroup and project, and the
/// tokens of the group's owner and of a developer.
#[derive(Debug, Clone)]
pub struct GitLab {
    /// `http://127.0.0.1:<port>/api/v4`.
    pub base_url: String,
    /// The top-level group's id.
    pub group_id: u64,
    /// The top-level group's full path.
    pub group_path: String,
    /// The subgroup's id.
    pub subgroup_id: u64,
    /// The project's id.
    pub project_id: u64,
    /// The group owner's personal access token.
    pub owner_token: String,
    /// The owner's user id.
    pub owner_id: u64,
    /// A developer's personal access token.
    pub developer_token: String,
    /// The developer's user id.
    pub developer_id: u64,
    lab: Arc<Lab>,
}

#[derive(Debug)]
pub(crate) struct Lab {
    pub(crate) rows: Mutex<Rows>,
    pub(crate) tokens: Vec<(String, u64)>,
    pub(crate) limit: RateLimit,
    pub(crate) next: AtomicU64,
    pub(crate) sign_up: AtomicBool,
    pub(crate) base_url: Mutex<String>,
    pub(crate) requests: Mutex<Vec<String>>,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: u64,
    pub(crate) username: String,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) state: String,
}

/// A group or a project.
#[derive(Debug, Clone)]
pub(crate) struct Space {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) parent: Option<u64>,
    pub(crate) project: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) space: u64,
    pub(crate) user: u64,
    pub(crate) level: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Invite {
    pub(crate) id: u64,
    pub(crate) space: u64,
    pub(crate) email: String,
    pub(crate) level: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Rows {
    pub(crate) users: Vec<User>,
    pub(crate) spaces: Vec<Space>,
    pub(crate) members: Vec<Member>,
    pub(crate) invites: Vec<Invite>,
}

impl Lab {
    pub(crate) fn next(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }
}

impl Rows {
    /// The space and its ancestors, nearest first.
    pub(crate) fn chain(&self, space: u64) -> Vec<&Space> {
        let mut out = Vec::new();
        let mut at = self.spaces.iter().find(|s| s.id == space);
        while let Some(s) = at {
            out.push(s);
            at = s
                .parent
                .and_then(|p| self.spaces.iter().find(|s| s.id == p));
        }
        out
    }

    /// The user's level on the space, inherited from its ancestors included, and the space it
    /// comes from.
    pub(crate) fn inherited(&self, space: u64, user: u64) -> Option<(u64, &Space)> {
        let levels = self.chain(space).into_iter().filter_map(|s| {
            let m = self
                .members
                .iter()
                .find(|m| m.space == s.id && m.user == user);
            m.map(|m| (m.level, s))
        });
        levels.max_by_key(|(l, _)| *l)
    }

    /// A new user with `email` (its local part as username); returns its id.
    pub(crate) fn user(&mut self, id: u64, email: &str, name: &str) -> u64 {
        let email = email.trim().to_lowercase();
        let username = email.split('@').next().unwrap_or("").replace('.', "_");
        let (name, state) = (name.to_owned(), "active".to_owned());
        self.users.push(User {
            id,
            username,
            name,
            email,
            state,
        });
        id
    }
}

impl GitLab {
    /// Starts a group with its owner and a developer, a subgroup and a project.
    pub fn start() -> Self {
        let lab = Arc::new(Lab {
            rows: Mutex::new(Rows::default()),
            tokens: vec![("glpat-owner-0001".into(), 1), ("glpat-dev-0002".into(), 2)],
            limit: RateLimit::new(DEFAULT_LIMIT, Duration::from_secs(60)),
            next: AtomicU64::new(100),
            sign_up: AtomicBool::new(false),
            base_url: Mutex::new(String::new()),
            requests: Mutex::new(Vec::new()),
        });
        {
            let mut rows = lab.rows.lock().unwrap();
            rows.user(1, "owner@standin.test", "Group Owner");
            rows.user(2, "dev@standin.test", "A Developer");
            let space = |id, name: &str, path: &str, parent, project| Space {
                id,
                name: name.into(),
                path: path.into(),
                parent,
                project,
            };
            rows.spaces = vec![
                space(10, "Castellan", "castellan", None, false),
                space(11, "Platform", "castellan/platform", Some(10), false),
                space(20, "API", "castellan/platform/api", Some(11), true),
            ];
            let member = |user, level| Member {
                space: 10,
                user,
                level,
            };
            rows.members = vec![member(1, 50), member(2, 30)];
        }
        let base = format!(
            "{}/api/v4",
            kit::spawn(routes::router(lab.clone())).base_url
        );
        *lab.base_url.lock().unwrap() = base.clone();
        Self {
            base_url: base,
            group_id: 10,
            group_path: "castellan".into(),
            subgroup_id: 11,
            project_id: 20,
            owner_token: lab.tokens[0].0.clone(),
            owner_id: 1,
            developer_token: lab.tokens[1].0.clone(),
            developer_id: 2,
            lab,
        }
    }

    /// Makes sure a user with `email` is a direct member of the group at `level` (as if they
    /// accepted an invitation); returns the user id.
    pub fn seed(&self, email: &str, name: &str, level: u64) -> u64 {
        let mut rows = self.lab.rows.lock().unwrap();
        let known = rows
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email));
        let id = match known {
            Some(u) => u.id,
            None => rows.user(self.lab.next(), email, name),
        };
        if !rows.members.iter().any(|m| m.space == 10 && m.user == id) {
            rows.members.push(Member {
                space: 10,
                user: id,
                level,
            });
        }
        id
    }

    /// A GitLab user with `email` outside the group; returns its id.
    pub fn seed_user(&self, email: &str, name: &str) -> u64 {
        let mut rows = self.lab.rows.lock().unwrap();
        let id = self.lab.next();
        rows.user(id, email, name)
    }

    /// Blocks the user `id` (an instance admin's doing): it can no longer sign in.
    pub fn block(&self, id: u64) {
        let mut rows = self.lab.rows.lock().unwrap();
        if let Some(u) = rows.users.iter_mut().find(|u| u.id == id) {
            u.state = "blocked".into();
        }
    }

    /// Whether an invited address with no account gets one at once (the person signed up
    /// before), so that invitees join the group at once.
    pub fn sign_up_on_invite(&self, yes: bool) {
        self.lab.sign_up.store(yes, Ordering::Relaxed);
    }

    /// The direct access level of the user `user` on the group or project `space`.
    pub fn level(&self, space: u64, user: u64) -> Option<u64> {
        let rows = self.lab.rows.lock().unwrap();
        let m = rows
            .members
            .iter()
            .find(|m| m.space == space && m.user == user);
        m.map(|m| m.level)
    }

    /// The level of the group's pending invitation of `email`.
    pub fn invitation(&self, email: &str) -> Option<u64> {
        let rows = self.lab.rows.lock().unwrap();
        let i = rows
            .invites
            .iter()
            .find(|i| i.space == 10 && i.email == email);
        i.map(|i| i.level)
    }

    /// Sets the requests allowed a minute from now on.
    pub fn set_rate_limit(&self, per_minute: u32) {
        self.lab.limit.set_limit(per_minute);
    }

    /// Every request served so far, as `METHOD /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.lab.requests.lock().unwrap().clone()
    }
}
