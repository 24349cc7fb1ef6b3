//! The organization's members and pending invitations as the connector builder's [`Members`]:
//! listing (owners, members, then invitations, each followed page by page), lookups, invitations
//! by email, role changes and removal.
//!
//! - <https://docs.github.com/en/rest/orgs/members#list-organization-members>
//! - <https://docs.github.com/en/rest/orgs/members#get-organization-membership-for-a-user>
//! - <https://docs.github.com/en/rest/orgs/members#set-organization-membership-for-a-user>
//! - <https://docs.github.com/en/rest/orgs/members#remove-organization-membership-for-a-user>
//! - <https://docs.github.com/en/rest/orgs/members#list-pending-organization-invitations>
//! - <https://docs.github.com/en/rest/orgs/members#create-an-organization-invitation>
//! - <https://docs.github.com/en/rest/orgs/members#cancel-an-organization-invitation>

use async_trait::async_trait;
use castellan_core::connector::{
    AppMember, ConnectorError as E, MemberPage, ResourceGrant, ResourceMemberPage, ResourcePage,
};
use reqwest::Method;
use serde_json::{json, Value};
use tracing::debug;

use super::api::{is_email, owners_only, Org};
use super::model::{invitation_role, membership, GhInvitation, GhUser, ADMIN, MEMBER, ROLES};
use super::APP;
use crate::sdk::builder::{Chosen, Invitee, Members};
use crate::sdk::errors::{found, gone};
use crate::sdk::http::segment;
use crate::sdk::members::normalize_email;
use crate::sdk::roles::known;

type R<T> = Result<T, E>;

/// The parts of a member listing, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// `GET /orgs/{org}/members?role=admin`.
    Owners,
    /// `GET /orgs/{org}/members?role=member`.
    Members,
    /// `GET /orgs/{org}/invitations`.
    Invitations,
}

impl Part {
    const ALL: [(Part, &'static str); 3] = [
        (Part::Owners, "owners"),
        (Part::Members, "members"),
        (Part::Invitations, "invitations"),
    ];

    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(p, _)| *p == self)
            .map_or("", |(_, n)| n)
    }

    fn after(self) -> Option<Part> {
        match self {
            Part::Owners => Some(Part::Members),
            Part::Members => Some(Part::Invitations),
            Part::Invitations => None,
        }
    }
}

impl Org<'_> {
    /// The first page's path of a part of the listing.
    fn start(&self, part: Part) -> String {
        match part {
            Part::Owners => self.first("/members", &[("role", ADMIN)]),
            Part::Members => self.first("/members", &[("role", MEMBER)]),
            Part::Invitations => self.first("/invitations", &[]),
        }
    }

    /// A listing cursor: `<part> <path of its next page>`.
    fn cursor(part: Part, path: &str) -> String {
        format!("{} {path}", part.name())
    }

    /// The part and path of a cursor [`Org::cursor`] made, for this organization.
    ///
    /// Errors: `Configuration` ("not a GitHub member cursor") for anything else.
    fn parse_cursor(&self, raw: &str) -> R<(Part, String)> {
        let bad = || E::Configuration(format!("not a GitHub member cursor: {raw:?}"));
        let (name, path) = raw.split_once(' ').ok_or_else(bad)?;
        let part = Part::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .ok_or_else(bad)?
            .0;
        match path.starts_with(&self.path("/")) {
            true => Ok((part, path.to_owned())),
            false => Err(bad()),
        }
    }

    /// The membership of `login`, `None` when GitHub has none.
    pub(super) async fn membership_of(&self, login: &str) -> R<Option<AppMember>> {
        let what = "read a membership";
        let path = self.path(&format!("/memberships/{}", segment(login)));
        let v = found(Self::json(self.req(Method::GET, &path), what).await)?;
        v.map(|v| membership(&v, what)).transpose()
    }

    /// Sends an invitation of `email` with the organization role `role`; sent once.
    async fn invite_email(&self, email: &str, role: &str) -> R<AppMember> {
        let what = "invite a member";
        let body = json!({ "email": email, "role": invitation_role(role) });
        let req = self
            .req(Method::POST, &self.path("/invitations"))
            .json(body);
        let inv = GhInvitation::parse(&Self::json(req, what).await?, what)?;
        debug!(invitation = inv.id, "sent a GitHub invitation");
        Ok(inv.member())
    }

    /// Cancels an invitation; one gone already is done.
    async fn cancel(&self, inv: &GhInvitation) -> R<()> {
        let path = self.path(&format!("/invitations/{}", inv.id));
        let req = self.req(Method::DELETE, &path).idempotent();
        gone(Self::no_content(req, "cancel an invitation").await)?;
        debug!(invitation = inv.id, "cancelled a GitHub invitation");
        Ok(())
    }

    /// The pending invitation of the member `m` (known by address).
    ///
    /// Errors: `NotFound` when it is gone.
    async fn invitation_of(&self, m: &AppMember) -> R<GhInvitation> {
        let inv = self.invitation_for(&m.app_member_id).await?;
        inv.ok_or_else(|| E::NotFound(format!("no GitHub invitation for {}", m.app_member_id)))
    }
}

#[async_trait]
impl Members for Org<'_> {
    const APP: &'static str = APP;

    /// The token's user must be an active owner (`role: admin`) of the organization.
    async fn verify_permissions(&self) -> R<()> {
        let fix = "make the automation account an owner of the organization";
        match self.membership_of(&self.me).await? {
            Some(m)
                if m.roles == [ADMIN]
                    && m.state == castellan_core::connector::MemberState::Active =>
            {
                Ok(())
            }
            Some(m) => Err(E::InsufficientPermission(format!(
                "{} is {} ({:?}) in the organization {}, not an active owner: {fix}",
                self.me,
                m.roles.join(", "),
                m.state,
                self.org
            ))),
            None => Err(E::InsufficientPermission(format!(
                "{} is no member of the organization {} (or it does not exist): {fix}",
                self.me, self.org
            ))),
        }
    }

    /// Owners, then members, then pending invitations, 100 a page each.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let (part, path) = match cursor {
            None => (Part::Owners, self.start(Part::Owners)),
            Some(raw) => self.parse_cursor(raw)?,
        };
        let what = format!("list the organization's {}", part.name());
        let rows = self.rows(&path, &what).await;
        let (rows, next) = match part {
            Part::Invitations => owners_only(rows)?,
            _ => rows?,
        };
        let members = match part {
            Part::Owners | Part::Members => {
                let role = if part == Part::Owners { ADMIN } else { MEMBER };
                let users: R<Vec<GhUser>> = rows.iter().map(|u| GhUser::parse(u, &what)).collect();
                users?.into_iter().map(|u| u.member(role)).collect()
            }
            Part::Invitations => {
                let invs = GhInvitation::list(&Value::Array(rows), &what)?;
                invs.iter().map(GhInvitation::member).collect()
            }
        };
        let next = match next {
            Some(path) => Some(Self::cursor(part, &path)),
            None => part.after().map(|p| Self::cursor(p, &self.start(p))),
        };
        Ok(MemberPage { members, next })
    }

    /// A member by login, or a pending invitation by its address.
    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        let id = id.trim();
        if is_email(id) {
            return self.by_email(&normalize_email(id)?).await;
        }
        match id {
            "" => Ok(None),
            login => self.membership_of(login).await,
        }
    }

    /// The pending invitation sent to `email`: GitHub shows no member's address.
    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        Ok(self.invitation_for(email).await?.map(|i| i.member()))
    }

    fn is_me(&self, m: &AppMember) -> bool {
        m.app_member_id.eq_ignore_ascii_case(&self.me)
    }

    /// `admin` or `member`.
    async fn role(&self, role: &str) -> R<String> {
        let roles = ROLES.map(String::from);
        known(APP, role, &roles).map(|()| role.to_owned())
    }

    /// A member's role with `PUT /orgs/{org}/memberships/{username}` (safe to send twice); an
    /// invitation by email's by cancelling it and inviting again.
    async fn set_role(&self, m: AppMember, role: &str) -> R<AppMember> {
        if is_email(&m.app_member_id) {
            let inv = self.invitation_of(&m).await?;
            self.cancel(&inv).await?;
            return self.invite_email(&m.app_member_id, role).await;
        }
        let what = "change a member's role";
        let path = self.path(&format!("/memberships/{}", segment(&m.app_member_id)));
        let req = self.req(Method::PUT, &path).json(json!({ "role": role }));
        membership(&Self::json(req.idempotent(), what).await?, what)
    }

    /// Not used: GitHub invites by address, and the invitee chooses their own account.
    async fn chosen(&self, name: &str) -> R<Chosen> {
        Ok(Chosen::New(name.to_owned()))
    }

    /// Not used: GitHub invites by address.
    async fn free_username(&self, email: &str) -> R<String> {
        Ok(email.to_owned())
    }

    /// Invites the address with the role (`POST /orgs/{org}/invitations`); sent once.
    async fn create(&self, _username: &str, to: &Invitee<'_>) -> R<AppMember> {
        self.invite_email(to.email, to.role).await
    }

    /// Takes the member out of the organization, or cancels the invitation; gone: done.
    async fn remove(&self, m: AppMember) -> R<()> {
        if is_email(&m.app_member_id) {
            return match self.invitation_for(&m.app_member_id).await? {
                Some(inv) => self.cancel(&inv).await,
                None => Ok(()),
            };
        }
        let path = self.path(&format!("/memberships/{}", segment(&m.app_member_id)));
        let req = self.req(Method::DELETE, &path).idempotent();
        gone(Self::no_content(req, "remove a member").await)?;
        debug!(member = %m.app_member_id, "removed a GitHub member");
        Ok(())
    }

    async fn resources(&self, cursor: Option<&str>) -> R<ResourcePage> {
        self.teams(cursor).await
    }

    async fn resource_members(&self, id: &str, cursor: Option<&str>) -> R<ResourceMemberPage> {
        self.team_members(id, cursor).await
    }

    async fn grant(&self, grant: &ResourceGrant) -> R<()> {
        self.grant_team(grant).await
    }

    async fn revoke(&self, id: &str, member: &str) -> R<()> {
        self.revoke_team(id, member).await
    }
}
