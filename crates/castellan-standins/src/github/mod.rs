//! **A stand-in for GitHub's REST API, not GitHub**: the endpoints Castellan's GitHub connector
//! uses for one organization, in memory, per started instance, answered as GitHub's reference
//! documents them and in the shapes of GitHub's OpenAPI description (`@octokit/openapi`, see
//! [`crate::openapi`]; the connector's tests check every exchange against it).
//!
//! Served: `GET /user`; `GET /orgs/{org}/members` (`role`, `page`, `per_page`);
//! `GET|PUT|DELETE /orgs/{org}/memberships/{username}`; `GET|POST /orgs/{org}/invitations`,
//! `DELETE /orgs/{org}/invitations/{invitation_id}`; `GET /orgs/{org}/teams`,
//! `GET /orgs/{org}/teams/{team_slug}`, `GET …/teams/{team_slug}/members` (`role`),
//! `GET|PUT|DELETE …/teams/{team_slug}/memberships/{username}`. Lists page with `page` and
//! `per_page` (30 by default, 100 at most) and a `Link` header (`next`, `last`, `prev`,
//! `first`). Every answer carries `x-ratelimit-limit`, `-remaining`, `-used`, `-reset` and
//! `-resource`; a test may make the next requests meet the primary limit (403 with
//! `x-ratelimit-remaining: 0` and a `x-ratelimit-reset`) or a secondary one (403 with
//! `retry-after`) with [`GitHubStandIn::limit`]. Errors are `basic-error` bodies (`message`,
//! `documentation_url`, `status`): 401 `Bad credentials` for an unknown token, 404 for an
//! organization the account is no member of and for what does not exist (and, as GitHub does,
//! for invitations asked by a non-owner), 403 for a member's write, 422 `validation-error`
//! bodies for bad roles, addresses and an address already invited.
//!
//! Not modelled: repositories, outside collaborators, billing managers' own endpoints,
//! invitations by `invitee_id` and through teams (`team_ids`; a team membership is given to
//! organization members only), SAML SSO, GitHub Enterprise Server's `/api/v3` prefix (the
//! stand-in serves at its root, as api.github.com does), conditional requests.
//!
//! Pages followed:
//! - <https://docs.github.com/en/rest/users/users#get-the-authenticated-user>
//! - <https://docs.github.com/en/rest/orgs/members>
//! - <https://docs.github.com/en/rest/teams/teams>, <https://docs.github.com/en/rest/teams/members>
//! - <https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api>
//! - <https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api>
//! - <https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api>
//! - <https://docs.github.com/en/rest/about-the-rest-api/api-versions>

mod routes;
mod state;
mod wire;

use std::sync::{Arc, Mutex};

use axum::Router;

use crate::kit::spawn;
use crate::record::{Exchange, Recorder};
pub use state::Limit;
use state::{Data, Invitation, Team};

/// The organization every stand-in holds.
pub const ORG: &str = "castellan-test";
/// The owner's login.
pub const ADMIN_LOGIN: &str = "octo-admin";
/// The login of a member who is no owner.
pub const MEMBER_LOGIN: &str = "octo-member";

/// A started stand-in: its base URL, tokens for an owner and for a member who is no owner, and
/// handles to set it up and read what it was asked.
#[derive(Debug, Clone)]
pub struct GitHubStandIn {
    /// `http://127.0.0.1:<port>`: what a hub's base URL is set to.
    pub base_url: String,
    /// The organization's login ([`ORG`]).
    pub org: String,
    /// A token of [`ADMIN_LOGIN`], an owner (`role: admin`).
    pub admin_token: String,
    /// A token of [`MEMBER_LOGIN`], a member who is no owner.
    pub member_token: String,
    data: Arc<Mutex<Data>>,
    recorder: Recorder,
}

/// Starts a stand-in with the organization [`ORG`], its owner [`ADMIN_LOGIN`] and the member
/// [`MEMBER_LOGIN`], each with a token, and no other member, invitation or team.
pub fn start() -> GitHubStandIn {
    let mut d = Data::new(ORG);
    for (login, role) in [(ADMIN_LOGIN, "admin"), (MEMBER_LOGIN, "member")] {
        d.user(login);
        d.members.insert(login.to_lowercase(), role.to_owned());
    }
    let admin_token = format!("ghp_admin{:016x}", rand_u64());
    let member_token = format!("ghp_member{:016x}", rand_u64());
    d.tokens.insert(admin_token.clone(), ADMIN_LOGIN.to_owned());
    d.tokens
        .insert(member_token.clone(), MEMBER_LOGIN.to_owned());
    let data = Arc::new(Mutex::new(d));
    let recorder = Recorder::default();
    let router = Router::new()
        .fallback(routes::handle)
        .with_state(data.clone());
    let served = spawn(recorder.around(router));
    GitHubStandIn {
        base_url: served.base_url,
        org: ORG.to_owned(),
        admin_token,
        member_token,
        data,
        recorder,
    }
}

/// A number no other stand-in of this process uses for its tokens.
fn rand_u64() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    t ^ (N.fetch_add(1, Ordering::Relaxed) << 48)
}

impl GitHubStandIn {
    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every exchange served so far (the request as it came, the answer as it left).
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.recorder.exchanges()
    }

    /// Makes `login` (a new GitHub account when it is none) a member with the organization role
    /// `role` (`admin` or `member`).
    pub fn add_member(&self, login: &str, role: &str) {
        let mut d = self.data();
        d.user(login);
        d.members.insert(login.to_lowercase(), role.to_owned());
    }

    /// A token for `login` (a new GitHub account when it is none).
    pub fn token_for(&self, login: &str) -> String {
        let mut d = self.data();
        d.user(login);
        let token = format!("ghp_{:016x}", rand_u64());
        d.tokens.insert(token.clone(), login.to_owned());
        token
    }

    /// Sets the public email of the account `login` (made when missing).
    pub fn set_public_email(&self, login: &str, email: &str) {
        let mut d = self.data();
        d.user(login);
        if let Some(u) = d.users.get_mut(&login.to_lowercase()) {
            u.public_email = Some(email.to_lowercase());
        }
    }

    /// Invites `email` as the owner did, with the invitation role `role` (`admin`,
    /// `direct_member`…); returns the invitation's id.
    pub fn add_invitation(&self, email: &str, role: &str) -> u64 {
        let mut d = self.data();
        let inviter = d.user(ADMIN_LOGIN).id;
        let id = d.id();
        let inv = Invitation {
            id,
            login: None,
            email: Some(email.to_lowercase()),
            role: role.to_owned(),
            inviter,
        };
        d.invitations.push(inv);
        id
    }

    /// The person invited at `email` accepts as the GitHub account `login` (made when missing):
    /// the invitation is gone and `login` is a member with its role. `false` when no invitation
    /// was sent to `email`.
    pub fn accept_invitation(&self, email: &str, login: &str) -> bool {
        let mut d = self.data();
        let email = email.to_lowercase();
        let Some(i) = d
            .invitations
            .iter()
            .position(|i| i.email.as_deref() == Some(email.as_str()))
        else {
            return false;
        };
        let inv = d.invitations.remove(i);
        d.user(login);
        let role = if inv.role == "admin" {
            "admin"
        } else {
            "member"
        };
        d.members.insert(login.to_lowercase(), role.to_owned());
        true
    }

    /// The pending invitations' addresses (or logins) and roles, in the order sent.
    pub fn invitations(&self) -> Vec<(String, String)> {
        let d = self.data();
        d.invitations
            .iter()
            .map(|i| {
                (
                    i.email.clone().or(i.login.clone()).unwrap_or_default(),
                    i.role.clone(),
                )
            })
            .collect()
    }

    /// The organization role of `login`, `None` when no member.
    pub fn role_of(&self, login: &str) -> Option<String> {
        self.data().role(login).map(str::to_owned)
    }

    /// Makes a team named `name`; returns its slug (the name lowercase, spaces as `-`).
    pub fn add_team(&self, name: &str) -> String {
        let mut d = self.data();
        let slug = name.to_lowercase().replace(' ', "-");
        let id = d.id();
        d.teams.push(Team {
            id,
            slug: slug.clone(),
            name: name.to_owned(),
            members: Default::default(),
        });
        slug
    }

    /// Gives the member `login` the team role `role` (`maintainer` or `member`) on `slug`.
    pub fn add_team_member(&self, slug: &str, login: &str, role: &str) {
        let mut d = self.data();
        if let Some(i) = d.team(slug) {
            d.teams[i]
                .members
                .insert(login.to_lowercase(), role.to_owned());
        }
    }

    /// The team role of `login` on `slug`, `None` when they hold none (or there is no team).
    pub fn team_role(&self, slug: &str, login: &str) -> Option<String> {
        let d = self.data();
        d.team(slug)
            .and_then(|i| d.teams[i].members.get(&login.to_lowercase()).cloned())
    }

    /// Answers the next `times` authenticated requests with the rate limit `limit`.
    pub fn limit(&self, limit: Limit, times: usize) {
        self.data().limit = Some((limit, times));
    }
}
