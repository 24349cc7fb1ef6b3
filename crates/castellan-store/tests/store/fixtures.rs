//! Records to write and small checks on the activity chain.

use crate::harness::SuiteStore;
use castellan_core::activity::{ActivityAction, Actor, ChainReport, ChainVerifier, NewEvent};
use castellan_core::catalog::{App, AppSource, PasswordRules};
use castellan_core::connector::MemberState;
use castellan_core::hub::{
    CheckParams, Grant, Hub, HubId, HubMember, HubRole, HubStatus, InviteParams, Job, JobId,
    JobParams, JobState, Matching, RemoveParams, RoleParams, Task, Trigger,
};
use castellan_core::ids::{AccountId, AppId, DataKeyId, PersonId, TokenId, VaultId, WorkspaceId};
use castellan_core::model::{
    AccountRecord, AccountSetup, CustomField, PersonRecord, PersonStatus, SealedField, TokenRecord,
    Vault, VaultKeyRecord, VaultKind, Workspace, WorkspaceRole, WrapKind,
};
use chrono::{DateTime, TimeZone, Utc};

/// A fixed time, `secs` after 2023-11-14, millisecond precision.
pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_700_000_000_000 + secs * 1000)
        .unwrap()
}

/// An event with the stored action `action`. The store keeps and filters the action as text
/// (prefix match, `_` taken literally), so these tests may write names that are not in
/// [`ActivityAction`]: the stored field is set directly, which only tests do.
pub fn ev(action: &str) -> NewEvent {
    with_action(
        NewEvent::new(
            &Actor::system("store tests"),
            ActivityAction::AuthSignIn,
            chrono::Utc::now(),
        ),
        action,
    )
}

/// `e` with its stored action replaced by `action` (see [`ev`]).
pub fn with_action(e: NewEvent, action: &str) -> NewEvent {
    NewEvent {
        action: action.into(),
        ..e
    }
}

pub fn workspace(setup_hash: &str) -> Workspace {
    Workspace {
        id: WorkspaceId::new(),
        name: "Acme".into(),
        setup_token_hash: Some(setup_hash.into()),
        created_at: t(0),
    }
}

pub fn person(email: &str, role: WorkspaceRole) -> PersonRecord {
    PersonRecord {
        id: PersonId::new(),
        email: email.into(),
        name: format!("Name of {email}"),
        role,
        status: PersonStatus::Active,
        password_hash: Some("$argon2id$v=19$fake".into()),
        invitation_hash: None,
        invitation_expires_at: Some(t(3600)),
        external_id: None,
        user_name: None,
        given_name: None,
        family_name: None,
        idp_emails: Vec::new(),
        idp_deleted_at: None,
        two_step: None,
        created_at: t(1),
        updated_at: t(1),
        version: 1,
    }
}

pub fn token(person: PersonId, hash: &str, created: i64) -> TokenRecord {
    TokenRecord {
        kind: castellan_core::model::TokenKind::Api,
        id: TokenId::new(),
        person_id: person,
        name: format!("token {hash}"),
        hash: hash.into(),
        created_at: t(created),
        expires_at: Some(t(created + 86_400)),
        last_used_at: None,
        revoked_at: None,
    }
}

pub fn vault(name: &str) -> Vault {
    Vault {
        id: VaultId::new(),
        name: name.into(),
        description: Some("for tests".into()),
        kind: VaultKind::Cloud,
        is_default: false,
        created_at: t(2),
    }
}

pub fn vault_key(vault: VaultId, wrapping_key_id: &str) -> VaultKeyRecord {
    VaultKeyRecord {
        vault_id: vault,
        dek_id: DataKeyId::new(),
        wrap_kind: WrapKind::Master,
        wrapping_key_id: wrapping_key_id.into(),
        wrapped: vec![1, 2, 3, 0, 255],
        created_at: t(2),
    }
}

pub fn account(vault: VaultId, label: &str, username: &str) -> AccountRecord {
    AccountRecord {
        id: AccountId::new(),
        vault_id: vault,
        label: label.into(),
        app_id: Some(AppId::parse("slack").unwrap()),
        login_url: Some("https://acme.slack.com/".into()),
        username: Some(username.into()),
        setup: AccountSetup::Placeholder,
        custom_fields: vec![
            CustomField {
                name: "team".into(),
                value: Some("ops".into()),
                secret: false,
            },
            CustomField {
                name: "pin".into(),
                value: None,
                secret: true,
            },
        ],
        secret_fields: vec!["password".into(), "custom:pin".into()],
        version: 1,
        created_by: None,
        created_at: t(3),
        updated_at: t(3),
    }
}

pub fn sealed(field: &str, dek: DataKeyId, byte: u8) -> SealedField {
    SealedField {
        field: field.into(),
        dek_id: dek,
        ciphertext: vec![byte; 40],
    }
}

pub fn app(id: &str) -> App {
    App {
        id: AppId::parse(id).unwrap(),
        name: format!("App {id}"),
        login_urls: vec![format!("https://{id}.example.com/login")],
        domains: vec![format!("{id}.example.com")],
        saml_sso: false,
        connector: None,
        browser_connector: None,
        roles: vec!["admin".into(), "member".into()],
        capabilities: vec![],
        category: Some("chat".into()),
        notes: None,
        password_rules: PasswordRules {
            min_length: 12,
            max_length: 64,
            symbols: None,
            require: vec![],
        },
        inbox_hints: None,
        scim: None,
        source: AppSource::Custom,
    }
}

pub fn hub(label: &str) -> Hub {
    Hub {
        settings: Default::default(),
        connector: None,
        id: HubId::new(),
        app_id: AppId::parse("slack").unwrap(),
        label: label.into(),
        organization_id: Some("T0123".into()),
        base_url: "https://acme.slack.com".into(),
        user_management: castellan_core::hub::UserManagement::Api,
        login_method: castellan_core::hub::LoginMethod::PasswordTotp,
        automation_account_id: AccountId::new(),
        status: HubStatus::UnderValidation,
        status_reason: Some("validating the automation account".into()),
        warnings: vec!["individual account".into()],
        safeguard_threshold: 0.2,
        sync_interval_secs: 600,
        next_sync_at: Some(t(600)),
        last_sync_at: None,
        created_by: None,
        created_at: t(4),
        updated_at: t(4),
    }
}

/// Parameters of the task's shape, about Ana (a fixed person id) and member `U000001`.
pub fn params_for(task: Task) -> JobParams {
    let person = "7a1e8c4e-0000-4000-8000-000000000001"
        .parse()
        .expect("a uuid");
    let ids = vec!["U000001".to_owned()];
    match task {
        Task::CheckForUpdates => JobParams::CheckForUpdates(CheckParams { confirm: false }),
        Task::InviteMember => JobParams::InviteMember(InviteParams {
            person_id: person,
            email: "ana@acme.io".into(),
            role: "member".into(),
            app_member_ids: vec![],
        }),
        Task::UpdateMemberRole => JobParams::UpdateMemberRole(RoleParams {
            person_id: person,
            app_member_ids: ids,
            role: "admin".into(),
        }),
        Task::RemoveMember => JobParams::RemoveMember(RemoveParams {
            person_id: Some(person),
            app_member_ids: ids,
            manual: false,
        }),
    }
}

/// A queued job due at `t(run_at)`, created at `t(run_at)` too.
pub fn job(hub: HubId, task: Task, run_at: i64, dedupe: Option<&str>) -> Job {
    Job {
        id: JobId::new(),
        hub_id: hub,
        task,
        state: JobState::Queued,
        trigger: Trigger::Manual,
        actor: "admin@acme.io".into(),
        scim_request: None,
        target: Some("ana@acme.io".into()),
        params: params_for(task),
        attempts: 0,
        max_attempts: 5,
        run_at: t(run_at),
        worker_id: None,
        lease_until: None,
        progress: None,
        dedupe_key: dedupe.map(str::to_owned),
        error: None,
        attention: None,
        created_at: t(run_at),
        updated_at: t(run_at),
    }
}

pub fn member(n: usize) -> HubMember {
    HubMember {
        app_member_id: format!("U{n:06}"),
        email: Some(format!("user{n}@acme.io")),
        name: (!n.is_multiple_of(3)).then(|| format!("User {n}")),
        app_role: Some(
            if n.is_multiple_of(10) {
                "admin"
            } else {
                "member"
            }
            .into(),
        ),
        state: [
            MemberState::Active,
            MemberState::Invited,
            MemberState::Deactivated,
        ][n % 3],
        matching: [
            Matching::Unmatched,
            Matching::Guest,
            Matching::Exempted,
            Matching::Unmatched,
        ][n % 4],
        person_id: None,
        exempt_reason: (n % 4 == 2).then(|| "contractor".into()),
        first_seen_at: t(10),
        last_seen_at: t(20 + (n % 7) as i64),
        // Some members hold several roles (the first is `app_role`).
        roles: if n.is_multiple_of(10) {
            vec!["admin".into(), "member".into()]
        } else {
            vec![]
        },
    }
}

pub fn grant(person: PersonId, role: HubRole, app_role: &str) -> Grant {
    Grant {
        person_id: person,
        hub_role: role,
        app_role: app_role.into(),
        revoked: false,
        keep_seat: false,
        resource_roles: vec![],
        updated_at: t(30),
    }
}

/// The chain head's `seq`: how many events were appended.
pub async fn seq(store: &impl SuiteStore) -> i64 {
    store.chain_head().await.unwrap().seq
}

/// The newest event's action.
pub async fn last_action(store: &impl SuiteStore) -> String {
    let evs = store.events_after(seq(store).await - 1, 1).await.unwrap();
    evs.last().map(|e| e.action.clone()).unwrap_or_default()
}

/// Asserts that exactly one event, `action`, was appended since `before`.
pub async fn appended_one(store: &impl SuiteStore, before: i64, action: &str) -> i64 {
    let now = seq(store).await;
    assert_eq!(now, before + 1, "expected exactly one event for {action}");
    assert_eq!(last_action(store).await, action);
    now
}

/// Verifies the whole chain against the head, paging through `events_after`.
pub async fn verify(store: &impl SuiteStore) -> ChainReport {
    let head = store.chain_head().await.unwrap();
    let mut v = ChainVerifier::default();
    let mut after = 0;
    loop {
        let page = store.events_after(after, 7).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        page.iter().for_each(|e| v.push(e));
    }
    v.finish(&head)
}

/// Asserts the chain is intact.
pub async fn assert_intact(store: &impl SuiteStore) {
    let report = verify(store).await;
    assert!(report.intact, "chain broken: {:?}", report.problems);
}

/// A supersede that matches no job (for cases about grants alone).
pub fn no_supersede() -> castellan_core::ports::Supersede {
    castellan_core::ports::Supersede {
        key_prefix: "none:".into(),
        reason: "superseded".into(),
        event: ev("job.superseded"),
    }
}
