//! Dropbox teams (Business, Advanced, Enterprise…), through the team endpoints of the Dropbox API
//! v2 (`https://api.dropboxapi.com/2/team/...`, every route a `POST` of JSON) with a team access
//! token (Bearer) of a scoped app with `members.read`, `members.write`, `members.delete` and
//! `team_info.read`, authorized by a team admin or a user management admin. Dropbox's access
//! tokens are short-lived (hours): the hub hands the connector a current one, renewed with the
//! app's refresh token.
//!
//! Members are the team's members, active, invited (`invited`) and suspended (`deactivated`),
//! with their roles as wire names: Dropbox's `AdminTier`s `team_admin`, `user_management_admin`,
//! `support_admin` and `member_only` (no admin role, the default), read from each member's
//! `TeamMemberRole`s, whose names match the tiers ([`model::wire_name`]); roles Dropbox adds
//! (`billing_admin`) are read and given alike ([`Capability::ListRoles`]).
//!
//! - Sign-in: `token/get_authenticated_admin` (the admin who authorized the token: the
//!   automation account, which never changes, suspends or removes itself), then that admin's
//!   `members/get_info_v2`, whose roles must include `team_admin` or `user_management_admin`.
//! - Listing: `members/list_v2` (`limit` 1000, the most), then `members/list/continue_v2` with
//!   its `cursor` while `has_more`.
//! - Lookups: `members/get_info_v2` with a `team_member_id` or an `email` selector (a removed
//!   member Dropbox can still recover reads `deactivated`; an unrecoverable one is gone).
//! - Invitation: `members/add_v2` with the address, the names, `send_welcome_email` and the role
//!   (`role_ids`, the id of the role from `members/get_available_team_member_roles`); an
//!   asynchronous answer is polled with `members/add/job_status/get_v2` (a few seconds, then
//!   `Unavailable`: the engine's retry finds the member by email once Dropbox has added them).
//! - Role change: `members/set_admin_permissions_v2` with `new_roles` (the role's id, none for
//!   `member_only`); one call, Dropbox replaces the role.
//! - Removal: `members/remove` with `keep_account: false` (the account stays the team's: its
//!   files can be moved to another member in the Admin Console) and `wipe_data` as the hub's
//!   `wipe_data` says (Dropbox's default: yes, the team's data leaves the member's linked
//!   devices), polled with `members/remove/job_status/get` when asynchronous. Dropbox can recover
//!   the member for a while: meanwhile they read `deactivated`, and inviting the address again
//!   recovers them (`members/recover`). A member gone already is done.
//! - Keep-seat: `members/suspend` (`wipe_data: false`): the license and the data stay, signing in
//!   does not; inviting the address again unsuspends them (`members/unsuspend`).
//! - Errors: `{"error_summary", "error": {".tag"}}`, 409 for a route's own errors, 400 plain text
//!   ([`model::map_error`]); rate limits: 429 with `Retry-After` and `error.retry_after`
//!   (seconds, [`model::retry_hint`]), waited for and retried in the call for reads.
//!
//! Not modelled: groups, team folders, file transfers on removal (`transfer_dest_id`), external
//! and persistent ids, secondary emails, `keep_account` (a Basic account of their own). Pages:
//! - Team members: <https://www.dropbox.com/developers/documentation/http/teams>
//! - Errors: <https://www.dropbox.com/developers/documentation/http/documentation#error-handling>
//! - Rate limits (`Retry-After`): <https://developers.dropbox.com/dbx-performance-guide>
//! - The API's Stone specification (`team.stone`): <https://github.com/dropbox/dropbox-api-spec>

mod model;

use std::time::Duration;

use async_trait::async_trait;
use castellan_core::catalog::Capability;
use castellan_core::connector::settings::{SettingField, SettingKind, API_TOKEN, BASE_URL};
use castellan_core::connector::{
    AppMember, AppRole, AppSession as Session, ConnectorContext as Ctx, ConnectorError as E,
    ConnectorInfo, MemberPage, SignIn,
};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio::sync::OnceCell;
use tracing::debug;

use crate::sdk::builder::{App, AppConnector, Invitee, Members};
use crate::sdk::errors::{gone, unexpected};
use crate::sdk::json::{id, items, text};
use crate::sdk::members::{email_local_part, first_and_last, given, normalize_email};
use crate::sdk::rest::json_body;
use crate::sdk::roles::known;
use crate::sdk::saas::{self, next_cursor};
use crate::sdk::{Auth, Endpoint, HttpClient};
use model::{map_error, retry_hint, roles_of, selector, team_member, wire_name, Standing};
pub use model::{MEMBER_ONLY, SUPPORT_ADMIN, TEAM_ADMIN, USER_MANAGEMENT_ADMIN};

/// The connector's name in the catalog.
pub const NAME: &str = "dropbox";
pub(crate) const APP: &str = "Dropbox";
/// The hub setting saying whether a removal wipes the team's data from the member's linked
/// devices: `yes` (default, Dropbox's) or `no`.
pub const WIPE_DATA: &str = "wipe_data";
const ADMIN: &str = "/2/team/token/get_authenticated_admin";
const LIST: &str = "/2/team/members/list_v2";
const CONTINUE: &str = "/2/team/members/list/continue_v2";
const GET_INFO: &str = "/2/team/members/get_info_v2";
const ROLES: &str = "/2/team/members/get_available_team_member_roles";
const ADD: &str = "/2/team/members/add_v2";
const ADD_STATUS: &str = "/2/team/members/add/job_status/get_v2";
const REMOVE_STATUS: &str = "/2/team/members/remove/job_status/get";
/// The routes that only read (Dropbox reads with `POST` too).
pub const READS: [&str; 7] = [
    ADMIN,
    LIST,
    CONTINUE,
    GET_INFO,
    ROLES,
    ADD_STATUS,
    REMOVE_STATUS,
];
/// Members per page: the largest `limit` of `members/list_v2`.
const PAGE: u32 = 1000;
/// How many times an asynchronous job is polled, [`POLL_WAIT`] apart.
const POLLS: u32 = 10;
const POLL_WAIT: Duration = Duration::from_millis(500);

type R<T> = Result<T, E>;

/// The Dropbox connector ([`AppConnector`] of [`Dropbox`]); the registry builds it with
/// [`saas::connector`].
pub type DropboxConnector = AppConnector<Dropbox>;

/// Dropbox teams as the connector builder's [`App`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Dropbox;

#[async_trait]
impl App for Dropbox {
    const NAME: &'static str = NAME;
    type Api<'a> = Team<'a>;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        use SettingKind::{Choice, Secret, Url};
        let roles = [
            TEAM_ADMIN,
            USER_MANAGEMENT_ADMIN,
            SUPPORT_ADMIN,
            MEMBER_ONLY,
        ];
        ConnectorInfo {
            name: NAME.to_owned(),
            roles: roles.map(String::from).into(),
            capabilities: vec![ListMembers, Invite, UpdateRole, Remove, KeepSeat, ListRoles],
            default_role: MEMBER_ONLY.to_owned(),
            sign_in: SignIn::ApiToken,
            settings: saas::settings(
                SettingField::new(BASE_URL, "API address", Url, true)
                    .help("https://api.dropboxapi.com (Dropbox's API, for every team)"),
                [
                    SettingField::new(API_TOKEN, "Team access token", Secret, true).help(
                        "an access token of a scoped app with team access (App Console), with \
                         members.read, members.write, members.delete and team_info.read, \
                         authorized by a team admin or a user management admin",
                    ),
                    SettingField::new(
                        WIPE_DATA,
                        "Wipe devices on removal",
                        Choice(vec!["yes".into(), "no".into()]),
                        false,
                    )
                    .default_value("yes")
                    .help(
                        "yes (default, Dropbox's): removing a member deletes the team's files \
                         from their linked devices; no: they stay there",
                    ),
                ],
            ),
        }
    }

    /// Reads the token's admin, who must be a team admin or a user management admin.
    async fn login(&self, http: &HttpClient, ctx: &Ctx) -> R<Session> {
        let token = saas::token(ctx);
        let team = Team::new(http, ctx, &token, None)?;
        let me = team.admin().await?;
        team.check(&me).await?;
        debug!(admin = %me, "signed in to Dropbox");
        Ok(Session {
            token,
            data: json!({ "me": me }),
        })
    }

    fn api<'a>(&self, http: &'a HttpClient, ctx: &Ctx, s: &Session) -> R<Team<'a>> {
        Team::new(http, ctx, &s.token, s.data["me"].as_str())
    }
}

/// Dropbox's team API as the token's admin for one call (`me`), with the team's roles read once.
#[derive(Debug)]
pub struct Team<'a> {
    api: Endpoint<'a>,
    me: Option<String>,
    wipe: bool,
    /// The team's roles: `(role_id, wire name, name)`.
    roles: OnceCell<Vec<(String, String, String)>>,
}

impl<'a> Team<'a> {
    /// Errors: `Configuration` for a refused base URL or a `wipe_data` neither `yes` nor `no`.
    fn new(http: &'a HttpClient, ctx: &Ctx, token: &SecretString, me: Option<&str>) -> R<Self> {
        let wipe = match ctx.setting(WIPE_DATA).unwrap_or("yes") {
            "yes" => true,
            "no" => false,
            v => return Err(E::Configuration(format!("{WIPE_DATA} cannot be {v:?}"))),
        };
        let api = http
            .endpoint_for(ctx)?
            .with_auth(Auth::Bearer(token.clone()));
        Ok(Self {
            api: api.with_retry_hint(retry_hint),
            me: me.map(str::to_owned),
            wipe,
            roles: OnceCell::new(),
        })
    }

    /// `POST`s `body` to the route `path` and reads its answer; `safe` when sending it twice
    /// does no harm (reads, and writes that set).
    async fn call(&self, path: &str, body: Value, safe: bool, what: &str) -> R<Value> {
        let mut req = self.api.request(Method::POST, path).json(body);
        if safe {
            req = req.idempotent();
        }
        let r = req.send().await?;
        json_body(r, APP, what, |r| map_error(r, what))
    }

    /// The `team_member_id` of the admin who authorized the token.
    async fn admin(&self) -> R<String> {
        let what = "read the token's admin";
        let v = self.call(ADMIN, Value::Null, true, what).await?;
        id(&v["admin_profile"]["team_member_id"]).ok_or_else(|| unexpected(APP, what))
    }

    /// Checks that the member `me` may manage members.
    ///
    /// Errors: `InsufficientPermission` for another role, or an admin no longer on the team.
    async fn check(&self, me: &str) -> R<()> {
        let roles = match self.info(me).await? {
            Some((m, Standing::Active)) => m.roles,
            _ => vec!["no member".to_owned()],
        };
        match roles.iter().any(|r| model::MANAGERS.contains(&r.as_str())) {
            true => Ok(()),
            false => Err(E::InsufficientPermission(format!(
                "the token's Dropbox admin is {}: it must be authorized by a team admin or a \
                 user management admin",
                roles.join(", ")
            ))),
        }
    }

    /// A member by id or address and their standing, `None` when the team has none.
    async fn info(&self, key: &str) -> R<Option<(AppMember, Standing)>> {
        let what = "read a member";
        let body = json!({ "members": [selector(key)] });
        let v = self.call(GET_INFO, body, true, what).await?;
        let item = items(&v["members_info"])
            .first()
            .cloned()
            .unwrap_or_default();
        match text(&item[".tag"]) {
            "member_info" => team_member(&item, what),
            "id_not_found" => Ok(None),
            _ => Err(unexpected(APP, what)),
        }
    }

    /// The team's roles, read once a call: `(role_id, wire name, name)`.
    async fn available(&self) -> R<&[(String, String, String)]> {
        let roles = self.roles.get_or_try_init(|| async {
            let what = "list roles";
            let v = self.call(ROLES, Value::Null, true, what).await?;
            let roles = v["roles"].as_array().ok_or_else(|| unexpected(APP, what))?;
            let row = |r: &Value| {
                Some((
                    id(&r["role_id"])?,
                    wire_name(text(&r["name"])),
                    text(&r["name"]).to_owned(),
                ))
            };
            Ok::<_, E>(roles.iter().filter_map(row).collect())
        });
        Ok(roles.await?.as_slice())
    }

    /// The `role_ids` giving `role`: none for `member_only`.
    ///
    /// Errors: `Configuration` for a role the team does not have.
    async fn role_ids(&self, role: &str) -> R<Vec<String>> {
        if role == MEMBER_ONLY {
            return Ok(vec![]);
        }
        let roles = self.available().await?;
        match roles.iter().find(|(_, wire, _)| wire == role) {
            Some((id, _, _)) => Ok(vec![id.clone()]),
            None => {
                let mut names: Vec<String> = roles.iter().map(|r| r.1.clone()).collect();
                names.push(MEMBER_ONLY.to_owned());
                known(APP, role, &names).map(|()| vec![])
            }
        }
    }

    /// The result of a route that may answer with an asynchronous job (`async_job_id`), polled
    /// on `status` until it is no longer `in_progress`.
    ///
    /// Errors: [`done`]'s; `Unavailable` when the job still runs after [`POLLS`] polls (the
    /// engine tries again later).
    async fn finish(&self, launch: Value, status: &str, what: &str) -> R<Value> {
        let job = match text(&launch[".tag"]) {
            "async_job_id" => json!({ "async_job_id": launch["async_job_id"] }),
            _ => return done(launch, what),
        };
        for _ in 0..POLLS {
            tokio::time::sleep(POLL_WAIT).await;
            let v = self.call(status, job.clone(), true, what).await?;
            if text(&v[".tag"]) != "in_progress" {
                return done(v, what);
            }
        }
        Err(E::Unavailable(format!(
            "Dropbox is still working to {what}: it is asked again later"
        )))
    }
}

/// A finished job's answer: `complete` as it is.
///
/// Errors: `Configuration` for `failed` (with Dropbox's message), `AppChanged` for another.
fn done(v: Value, what: &str) -> R<Value> {
    match text(&v[".tag"]) {
        "complete" => Ok(v),
        "failed" => Err(E::Configuration(format!(
            "Dropbox failed to {what}: {}",
            text(&v["failed"])
        ))),
        _ => Err(unexpected(APP, what)),
    }
}

/// The error of a `MemberAddV2Result` that is no `success`, for `email`.
fn add_error(tag: &str, email: &str) -> E {
    match tag {
        "user_already_on_team" | "user_on_another_team" => E::Conflict(format!(
            "Dropbox cannot add {email}: {tag} (a member, an invitation or a recoverable member \
             of this team or another)"
        )),
        "team_license_limit" | "free_team_member_limit_reached" => E::Configuration(format!(
            "Dropbox cannot add {email}: the team has no license left ({tag})"
        )),
        _ => E::Configuration(format!("Dropbox cannot add {email}: {tag}")),
    }
}

#[async_trait]
impl Members for Team<'_> {
    const APP: &'static str = APP;

    async fn verify_permissions(&self) -> R<()> {
        let me = match &self.me {
            Some(me) => me.clone(),
            None => self.admin().await?,
        };
        self.check(&me).await
    }

    /// Active, invited and suspended members, a thousand a page.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let what = "list members";
        let v = match cursor {
            None => {
                let body = json!({ "limit": PAGE, "include_removed": false });
                self.call(LIST, body, true, what).await?
            }
            Some(c) => {
                self.call(CONTINUE, json!({ "cursor": c }), true, what)
                    .await?
            }
        };
        let rows = v["members"]
            .as_array()
            .ok_or_else(|| unexpected(APP, what))?;
        let mut members = Vec::with_capacity(rows.len());
        for row in rows {
            members.extend(team_member(row, what)?.map(|(m, _)| m));
        }
        let next = match v["has_more"] == true {
            true => next_cursor(&v, "/cursor"),
            false => None,
        };
        Ok(MemberPage { members, next })
    }

    /// A member by `team_member_id`, or by address (with `@`).
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if id.contains('@') {
            return self.by_email(&normalize_email(id)?).await;
        }
        match id.is_empty() {
            true => Ok(None),
            false => Ok(self.info(id).await?.map(|(m, _)| m)),
        }
    }

    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        let m = self.info(email).await?.map(|(m, _)| m);
        Ok(m.filter(|m| m.email.as_deref() == Some(email)))
    }

    fn is_me(&self, m: &AppMember) -> bool {
        self.me.as_deref() == Some(m.app_member_id.as_str())
    }

    /// The team's roles by wire name, labelled with Dropbox's names, then `member_only`.
    async fn roles(&self) -> R<Vec<AppRole>> {
        let mut roles: Vec<AppRole> = self
            .available()
            .await?
            .iter()
            .map(|(_, role, label)| AppRole {
                role: role.clone(),
                label: label.clone(),
            })
            .collect();
        roles.push(AppRole {
            role: MEMBER_ONLY.to_owned(),
            label: "Member (no admin role)".to_owned(),
        });
        Ok(roles)
    }

    async fn role(&self, role: &str) -> R<String> {
        self.role_ids(role).await.map(|_| role.to_owned())
    }

    /// `members/set_admin_permissions_v2`: Dropbox replaces the role (safe to send twice).
    ///
    /// Errors: `InsufficientPermission` when Dropbox answers with other roles.
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        let what = "change a member's role";
        let ids = self.role_ids(role).await?;
        let body = json!({ "user": selector(&m.app_member_id), "new_roles": ids });
        let path = "/2/team/members/set_admin_permissions_v2";
        let v = self.call(path, body, true, what).await?;
        let roles = roles_of(&v["roles"]);
        if roles != [role] {
            return Err(E::InsufficientPermission(format!("{role} was not given")));
        }
        Ok(AppMember { roles, ..m })
    }

    /// Unsuspends a suspended member, or recovers a removed one; read back.
    async fn reactivate(&self, m: AppMember, _to: &Invitee<'_>) -> R<AppMember> {
        let what = "give a member access again";
        let id = m.app_member_id.as_str();
        let user = json!({ "user": selector(id) });
        match self.info(id).await? {
            Some((_, Standing::Suspended)) => {
                self.call("/2/team/members/unsuspend", user, true, what)
                    .await?;
            }
            Some((_, Standing::Removed)) => {
                self.call("/2/team/members/recover", user, true, what)
                    .await?;
            }
            _ => {}
        }
        let m = self.info(id).await?.map(|(m, _)| m);
        m.ok_or_else(|| E::NotFound(format!("Dropbox has no member {id}")))
    }

    /// Dropbox has no usernames: the address names the member.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// `members/add_v2` with the role and Dropbox's welcome email; sent once, its job polled.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        let what = "add a member";
        let ids = self.role_ids(to.role).await?;
        let name = given(&to.inv.name).unwrap_or_else(|| email_local_part(to.email));
        let (first, last) = first_and_last(name);
        let mut new = json!({ "member_email": to.email, "member_given_name": first,
            "send_welcome_email": true });
        if let Some(last) = last {
            new["member_surname"] = json!(last);
        }
        if !ids.is_empty() {
            new["role_ids"] = json!(ids);
        }
        let body = json!({ "new_members": [new], "force_async": false });
        let launch = self.call(ADD, body, false, what).await?;
        let done = self.finish(launch, ADD_STATUS, what).await?;
        let item = items(&done["complete"])
            .first()
            .cloned()
            .unwrap_or_default();
        match text(&item[".tag"]) {
            "success" => {
                let m = team_member(&item, what)?.map(|(m, _)| m);
                let m = m.ok_or_else(|| unexpected(APP, what))?;
                debug!(member = %m.app_member_id, "added to the Dropbox team");
                Ok(m)
            }
            "" => Err(unexpected(APP, what)),
            tag => Err(add_error(tag, to.email)),
        }
    }

    /// `members/remove`, the account kept by the team, devices wiped as the hub says; its job
    /// polled. Gone already is done.
    async fn remove(&self, m: AppMember) -> R<()> {
        let what = "remove a member";
        let body = json!({ "user": selector(&m.app_member_id), "wipe_data": self.wipe,
            "keep_account": false });
        // Safe to send twice: a member removed already is `user_not_in_team` (done).
        let launch = match self.call("/2/team/members/remove", body, true, what).await {
            Ok(v) => v,
            Err(e) => return gone(Err::<(), _>(e)),
        };
        self.finish(launch, REMOVE_STATUS, what).await.map(drop)
    }

    /// `members/suspend`, the data kept on their devices; read back.
    async fn deactivate(&self, m: AppMember) -> R<AppMember> {
        let what = "suspend a member";
        let id = m.app_member_id.as_str();
        let body = json!({ "user": selector(id), "wipe_data": false });
        self.call("/2/team/members/suspend", body, true, what)
            .await?;
        let m = self.info(id).await?.map(|(m, _)| m);
        m.ok_or_else(|| E::NotFound(format!("Dropbox has no member {id}")))
    }
}
