//! The builder's flows on an app held in memory: what every connector built on them does.

use std::sync::{Arc, Mutex};

use castellan_core::catalog::Capability;
use castellan_core::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError as E, ConnectorInfo,
    Invitation, MemberPage, MemberState, SignIn,
};
use secrecy::SecretString;

use super::*;

/// The app's members (id = username) and how many pages were read.
#[derive(Debug, Default)]
struct State {
    members: Vec<AppMember>,
    pages: usize,
    /// The token lost its rights: the app hides every member and the probe fails.
    lost_rights: bool,
    /// The app answers writes without carrying them out.
    ignores_writes: bool,
}

#[derive(Debug, Clone, Default)]
struct Fake(Arc<Mutex<State>>);

struct FakeApi(Arc<Mutex<State>>);

fn member(id: &str, email: &str, roles: &[&str], off: bool) -> AppMember {
    let roles = roles.iter().map(|r| r.to_string()).collect();
    crate::sdk::members::member(id, Some(email), None, roles, off)
}

impl FakeApi {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }

    fn put(&self, m: AppMember) -> AppMember {
        let mut s = self.state();
        s.members.retain(|o| o.app_member_id != m.app_member_id);
        s.members.push(m.clone());
        m
    }
}

#[async_trait]
impl Members for FakeApi {
    const APP: &'static str = "Fake";
    const DEFAULT_ROLES: Option<&'static [&'static str]> = Some(&["admin", "user"]);

    async fn verify_permissions(&self) -> R<()> {
        match self.state().lost_rights {
            true => Err(E::InsufficientPermission("not an owner any more".into())),
            false => Ok(()),
        }
    }

    /// One member a page; the cursor is the index.
    async fn page(&self, cursor: Option<&str>) -> R<MemberPage> {
        let at: usize = cursor.map_or(0, |c| c.parse().unwrap());
        let mut s = self.state();
        s.pages += 1;
        let members = s.members.get(at).cloned().into_iter().collect();
        let next = (at + 1 < s.members.len()).then(|| (at + 1).to_string());
        Ok(MemberPage { members, next })
    }

    async fn member(&self, id: &str) -> R<Option<AppMember>> {
        Ok(self
            .state()
            .members
            .iter()
            .find(|m| m.app_member_id == id)
            .cloned())
    }

    async fn by_email(&self, email: &str) -> R<Option<AppMember>> {
        let s = self.state();
        Ok(s.members
            .iter()
            .find(|m| m.email.as_deref() == Some(email))
            .cloned())
    }

    fn is_me(&self, m: &AppMember) -> bool {
        m.app_member_id == "bot"
    }

    async fn role(&self, role: &str) -> R<String> {
        crate::sdk::roles::known("Fake", role, &["admin".into(), "user".into(), "x".into()])?;
        Ok(role.to_owned())
    }

    async fn set_role(&self, mut m: AppMember, role: &str) -> R<AppMember> {
        if self.state().ignores_writes {
            return Ok(m);
        }
        (m.roles, m.state) = (vec![role.to_owned()], MemberState::Active);
        Ok(self.put(m))
    }

    async fn free_username(&self, email: &str) -> R<String> {
        first_unused(self, crate::sdk::members::email_local_part(email)).await
    }

    async fn create(&self, name: &str, to: &Invitee<'_>) -> R<AppMember> {
        Ok(self.put(member(name, to.email, &[to.role], false)))
    }

    async fn remove(&self, m: AppMember) -> R<()> {
        let mut s = self.state();
        if !s.ignores_writes {
            s.members.retain(|o| o.app_member_id != m.app_member_id);
        }
        Ok(())
    }

    async fn deactivate(&self, mut m: AppMember) -> R<AppMember> {
        (m.roles, m.state) = (vec![], MemberState::Deactivated);
        Ok(self.put(m))
    }
}

#[async_trait]
impl App for Fake {
    const NAME: &'static str = "fake";
    type Api<'a> = FakeApi;

    fn describe(&self) -> ConnectorInfo {
        use Capability::*;
        ConnectorInfo {
            name: "fake".into(),
            roles: vec!["admin".into(), "user".into()],
            capabilities: vec![ListMembers, Invite, UpdateRole, Remove, ListRoles],
            default_role: "user".into(),
            sign_in: SignIn::Password,
            settings: vec![],
        }
    }

    async fn login(&self, _: &HttpClient, _: &Ctx) -> R<AppSession> {
        let token = SecretString::from("t".to_owned());
        Ok(AppSession {
            token,
            data: serde_json::Value::Null,
        })
    }

    fn api(&self, _: &HttpClient, _: &Ctx, _: &AppSession) -> R<FakeApi> {
        Ok(FakeApi(self.0.clone()))
    }
}

fn inv(email: &str, username: Option<&str>, role: &str) -> Invitation {
    let username = username.map(str::to_owned);
    let (email, role) = (email.to_owned(), role.to_owned());
    Invitation {
        email,
        username,
        name: None,
        role,
    }
}

#[tokio::test]
async fn invitations_are_idempotent_by_email_and_never_take_another_account() {
    let api = FakeApi(Default::default());
    api.put(member("ana", "someone@else.org", &["user"], false));
    let m = invite(&api, &inv(" Ana@X.org ", None, " admin "))
        .await
        .unwrap();
    assert_eq!(
        (m.app_member_id.as_str(), m.roles.join("")),
        ("ana-2", "admin".into())
    );
    let again = invite(&api, &inv("ana@x.org", Some("zed"), "user"))
        .await
        .unwrap();
    assert_eq!(again, m, "the address's member, as it is");
    api.deactivate(m.clone()).await.unwrap();
    let back = invite(&api, &inv("ANA@x.org", None, "x")).await.unwrap();
    assert_eq!(
        (back.app_member_id, back.roles, back.state),
        ("ana-2".into(), vec!["x".into()], MemberState::Active)
    );
    let taken = invite(&api, &inv("new@x.org", Some("ana"), "user")).await;
    assert!(matches!(taken, Err(E::Conflict(m)) if m.contains("somebody else's")));
    api.deactivate(api.member("ana").await.unwrap().unwrap())
        .await
        .unwrap();
    let own = invite(&api, &inv("new@x.org", Some("ana"), "user"))
        .await
        .unwrap();
    assert_eq!(
        (own.app_member_id.as_str(), own.state),
        ("ana", MemberState::Active)
    );
    let chosen = invite(&api, &inv("bo@x.org", Some("bob"), "user"))
        .await
        .unwrap();
    assert_eq!(chosen.app_member_id, "bob");
    for (bad, role) in [
        ("bo2@x.org", " "),
        ("bo2@x.org", "owner"),
        ("nobody", "user"),
    ] {
        let e = invite(&api, &inv(bad, None, role)).await;
        assert!(matches!(e, Err(E::Configuration(_))), "{bad} {role}: {e:?}");
    }
    assert_eq!(api.state().members.len(), 3);
}

#[tokio::test]
async fn role_changes_removal_and_keep_seat_guard_the_automation_account() {
    let api = FakeApi(Default::default());
    api.put(member("bot", "bot@x.org", &["admin"], false));
    api.put(member("cy", "cy@x.org", &["user"], false));
    assert!(matches!(
        update_role(&api, "nobody", "user").await,
        Err(E::NotFound(_))
    ));
    assert!(matches!(
        update_role(&api, "cy", "owner").await,
        Err(E::Configuration(_))
    ));
    assert!(matches!(
        update_role(&api, "bot", "user").await,
        Err(E::Conflict(_))
    ));
    assert_eq!(
        update_role(&api, "bot", "admin").await.unwrap().roles,
        ["admin"]
    );
    assert_eq!(update_role(&api, "cy", "x").await.unwrap().roles, ["x"]);
    assert!(matches!(keep_seat(&api, "bot").await, Err(E::Conflict(_))));
    let kept = keep_seat(&api, "cy").await.unwrap();
    assert_eq!(keep_seat(&api, "cy").await.unwrap(), kept);
    assert!(matches!(remove(&api, "bot").await, Err(E::Conflict(_))));
    remove(&api, "cy").await.unwrap();
    remove(&api, "cy").await.unwrap();
    assert!(api.member("cy").await.unwrap().is_none());
    // A member the app no longer shows to a token that lost its rights is not "already gone".
    api.state().lost_rights = true;
    assert!(matches!(
        remove(&api, "cy").await,
        Err(E::InsufficientPermission(_))
    ));
    api.state().lost_rights = false;
    // An app that answers a write without carrying it out: the role change and the removal
    // are read back, and neither looks done.
    let kept = update_role(&api, "bot", "admin").await.unwrap();
    api.put(member("dee", "dee@x.org", &["user"], false));
    api.state().ignores_writes = true;
    assert!(matches!(
        update_role(&api, "dee", "admin").await,
        Err(E::InsufficientPermission(m)) if m.contains("admin was not given")
    ));
    assert!(matches!(remove(&api, "dee").await, Err(E::Unavailable(_))));
    api.state().ignores_writes = false;
    remove(&api, "dee").await.unwrap();
    assert_eq!(kept.roles, ["admin"]);
    assert_eq!(
        confirmed(&api, "bot", "admin").await.unwrap().roles,
        ["admin"]
    );
    let e = confirmed(&api, "bot", "user").await;
    assert!(matches!(e, Err(E::InsufficientPermission(m)) if m == "user was not given"));
    assert!(matches!(
        confirmed(&api, "cy", "user").await,
        Err(E::NotFound(_))
    ));
}

#[tokio::test]
async fn the_roles_members_hold_are_listed_once_then_kept_up_to_date() {
    let c = AppConnector::<Fake>::new();
    let ctx = ConnectorContext::new("http://fake/", "bot", SecretString::from("p".to_owned()));
    let s = c.login(&ctx).await.unwrap();
    let api = c.api(&ctx, &s).unwrap();
    api.put(member("bot", "bot@x.org", &["admin"], false));
    api.put(member("cy", "cy@x.org", &["x"], false));
    let roles = |r: Vec<castellan_core::connector::AppRole>| {
        r.into_iter().map(|r| r.label).collect::<Vec<_>>()
    };
    assert_eq!(
        roles(c.list_roles(&ctx, &s).await.unwrap()),
        ["Admin", "User", "x"]
    );
    assert_eq!(api.state().pages, 2, "one full listing");
    c.invite(&ctx, &s, &inv("dee@x.org", None, "zeta"))
        .await
        .unwrap_err();
    api.put(member("ed", "ed@x.org", &["y"], false));
    let page = c.list_members(&ctx, &s, Some("2".into())).await.unwrap();
    assert_eq!(page.members[0].roles, ["y"]);
    assert_eq!(
        roles(c.list_roles(&ctx, &s).await.unwrap()),
        ["Admin", "User", "x", "y"]
    );
    assert_eq!(api.state().pages, 3, "no second full listing");
    let e = c.remove_keep_seat(&ctx, &s, "cy").await.unwrap_err();
    assert!(matches!(e, E::Unsupported(m) if m.contains("fake connector has no keeping a seat")));
    let found = c
        .find_by_email(&ctx, &s, " CY@X.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.app_member_id, "cy");
}
