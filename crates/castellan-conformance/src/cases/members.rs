//! Members: listing over pages, lookups, invitations, role changes, removal, and the automation
//! account's protection of itself.

use std::collections::{HashMap, HashSet};

use castellan_core::connector::{ConnectorError, Invitation, MemberState};

use super::{
    check_invited, ensure, expect_err, local_part, Check, OrFail, Stop, Suite, UNKNOWN_ID,
};
use crate::harness::{list_all, unique};

/// Listing the seeded members (at least two and a half pages) and everyone else takes at least
/// three pages (one, for an app that answers every member in one call:
/// [`crate::Fixture::lists_in_pages`]) and neither loses nor repeats anybody.
pub(super) async fn listing(s: &Suite<'_>) -> Check {
    let seeded = s.seeded().await?;
    let session = s.session().await?;
    let (members, pages) = list_all(&*s.c, &s.ctx, session)
        .await
        .or_fail("list every member")?;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for m in &members {
        ensure!(!m.app_member_id.is_empty(), "a member without an app id");
        *seen.entry(m.app_member_id.as_str()).or_default() += 1;
    }
    let mut repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    repeated.sort();
    ensure!(
        repeated.is_empty(),
        "{} members listed more than once (id, times): {:?}",
        repeated.len(),
        &repeated[..repeated.len().min(5)]
    );
    // A seeded member is known by its email or, where the app shows none, by its name.
    let key = |s: &str| s.to_lowercase().replace('_', " ");
    let known: HashSet<String> = match s.f.shows_emails() {
        true => members
            .iter()
            .filter_map(|m| m.email.as_deref())
            .map(key)
            .collect(),
        false => members
            .iter()
            .filter_map(|m| m.name.as_deref())
            .map(key)
            .collect(),
    };
    let seeded_key = |e: &String| match s.f.shows_emails() {
        true => key(e),
        false => key(local_part(e)),
    };
    let missing: Vec<&String> = seeded
        .iter()
        .filter(|e| !known.contains(&seeded_key(e)))
        .collect();
    ensure!(
        missing.is_empty(),
        "{} of the {} seeded members are missing from the listing, e.g. {:?}",
        missing.len(),
        seeded.len(),
        &missing[..missing.len().min(5)]
    );
    match s.f.lists_in_pages() {
        true => ensure!(
            pages >= 3,
            "the listing took {pages} page(s), not more than two: seed more (Fixture::listing_size)"
        ),
        false => ensure!(
            pages == 1,
            "the app answers every member in one call, but the listing took {pages} pages"
        ),
    }
    Ok(())
}

/// A seeded member is found by an upper-cased email and by its app id, alike.
pub(super) async fn lookup(s: &Suite<'_>) -> Check {
    if !s.f.shows_emails() {
        return Err(Stop::Unsupported(
            "the app shows no email of members made outside the connector".into(),
        ));
    }
    let seeded = s.seeded().await?;
    let session = s.session().await?;
    let email = &seeded[seeded.len() / 2];
    let m =
        s.c.find_by_email(&s.ctx, session, &email.to_uppercase())
            .await
            .or_fail("find by an upper-cased email")?
            .or_fail(&format!("find {} by email", email.to_uppercase()))?;
    ensure!(
        m.email.as_deref() == Some(email.as_str()),
        "found {email} as a member with the email {:?}",
        m.email
    );
    let again =
        s.c.find_by_email(&s.ctx, session, email)
            .await
            .or_fail("find by email")?
            .or_fail(&format!("find {email} by email"))?;
    ensure!(
        again == m,
        "the lower- and upper-cased email find different members: {again:?} and {m:?}"
    );
    let by_id =
        s.c.get_member(&s.ctx, session, &m.app_member_id)
            .await
            .or_fail("get a member by id")?
            .or_fail(&format!("get member {}", m.app_member_id))?;
    ensure!(
        by_id.app_member_id == m.app_member_id && by_id.email == m.email,
        "get_member({}) gives {by_id:?}, find_by_email gave {m:?}",
        m.app_member_id
    );
    Ok(())
}

/// Nobody has an unknown email or id: `None`; changing an unknown member's role is `NotFound`,
/// removing one `NotFound` or done already.
pub(super) async fn unknown(s: &Suite<'_>) -> Check {
    let session = s.session().await?;
    let email = s.email("nobody");
    let found =
        s.c.find_by_email(&s.ctx, session, &email)
            .await
            .or_fail("find an unknown email")?;
    ensure!(found.is_none(), "{email} is found: {found:?}");
    let got =
        s.c.get_member(&s.ctx, session, UNKNOWN_ID)
            .await
            .or_fail("get an unknown member")?;
    ensure!(got.is_none(), "member {UNKNOWN_ID} is found: {got:?}");
    let role = &s.info.default_role;
    expect_err!(
        s.c.update_role(&s.ctx, session, UNKNOWN_ID, role).await,
        ConnectorError::NotFound(_),
        "changing the role of unknown member {UNKNOWN_ID}"
    );
    match s.c.remove(&s.ctx, session, UNKNOWN_ID).await {
        Ok(()) | Err(ConnectorError::NotFound(_)) => Ok(()),
        Err(e) => Err(Stop::Failed(format!(
            "removing unknown member {UNKNOWN_ID} gave {e:?}, not NotFound or done"
        ))),
    }
}

/// A new member is invited with the role asked for; inviting the same email again is handled
/// (the same member, or `Conflict`) and makes no second member.
pub(super) async fn invite(s: &Suite<'_>) -> Check {
    let session = s.session().await?;
    let role = s.info.default_role.clone();
    let m = s.invite_new("invite", &role).await?;
    let email = m.email.clone().unwrap_or_default();
    let read =
        s.c.get_member(&s.ctx, session, &m.app_member_id)
            .await
            .or_fail("get the invited member")?
            .or_fail(&format!("get invited member {}", m.app_member_id))?;
    check_invited(&read, &email, &role)?;
    match s
        .c
        .invite(&s.ctx, session, &s.invitation(&email, &role))
        .await
    {
        Ok(again) => ensure!(
            again.app_member_id == m.app_member_id,
            "inviting {email} again gave another member: {} then {}",
            m.app_member_id,
            again.app_member_id
        ),
        Err(ConnectorError::Conflict(_)) => {}
        Err(e) => {
            return Err(Stop::Failed(format!(
                "inviting {email} again gave {e:?}, not the member or Conflict"
            )))
        }
    }
    s.exactly_one(&email).await?;
    s.clean_up(&m).await;
    Ok(())
}

/// A username that another member holds never hands that member to a new email: `Conflict`, or
/// another member. The member who holds an email is the invitee whatever username is asked.
pub(super) async fn taken_username(s: &Suite<'_>) -> Check {
    let session = s.session().await?;
    let role = s.info.default_role.clone();
    let first_email = s.email("taken");
    let username = local_part(&first_email).to_owned();
    let first =
        s.c.invite(
            &s.ctx,
            session,
            &Invitation {
                username: Some(username.clone()),
                ..s.invitation(&first_email, &role)
            },
        )
        .await
        .or_fail("invite with a username")?;
    check_invited(&first, &first_email, &role)?;

    let second_email = s.email("taken");
    let second = Invitation {
        username: Some(username.clone()),
        ..s.invitation(&second_email, &role)
    };
    let mut made = vec![first.clone()];
    match s.c.invite(&s.ctx, session, &second).await {
        Err(ConnectorError::Conflict(_)) => {}
        Ok(m) => {
            ensure!(
                m.app_member_id != first.app_member_id,
                "inviting {second_email} with {username:?}, the username of {first_email}, \
                 handed over {first_email}'s member {}",
                first.app_member_id
            );
            made.push(m);
        }
        Err(e) => {
            return Err(Stop::Failed(format!(
                "inviting with a taken username gave {e:?}, not Conflict or another member"
            )))
        }
    }
    let still =
        s.c.get_member(&s.ctx, session, &first.app_member_id)
            .await
            .or_fail("get the first member")?
            .or_fail("the first member")?;
    ensure!(
        still.email.as_deref() == Some(first_email.as_str()),
        "the first member's email became {:?}",
        still.email
    );

    let by_email =
        s.c.invite(
            &s.ctx,
            session,
            &Invitation {
                username: Some(format!("someone_else_{}", unique())),
                ..s.invitation(&first_email, &role)
            },
        )
        .await
        .or_fail("invite a member's email with another username")?;
    ensure!(
        by_email.app_member_id == first.app_member_id,
        "inviting {first_email} with another username gave member {}, not {}",
        by_email.app_member_id,
        first.app_member_id
    );
    for m in &made {
        s.clean_up(m).await;
    }
    Ok(())
}

/// A role the app does not have, or an email that is no email, is `Configuration`, and nobody
/// is invited.
pub(super) async fn bad_input(s: &Suite<'_>) -> Check {
    let session = s.session().await?;
    let email = s.email("badrole");
    let bad_role = format!("no_such_role_{}", unique());
    let inv = s.invitation(&email, &bad_role);
    expect_err!(
        s.c.invite(&s.ctx, session, &inv).await,
        ConnectorError::Configuration(_),
        "inviting as {bad_role}"
    );
    let found =
        s.c.find_by_email(&s.ctx, session, &email)
            .await
            .or_fail("find by email")?;
    ensure!(
        found.is_none(),
        "a refused invitation made a member: {found:?}"
    );
    let inv = s.invitation("not-an-email", &s.info.default_role);
    expect_err!(
        s.c.invite(&s.ctx, session, &inv).await,
        ConnectorError::Configuration(_),
        "inviting \"not-an-email\""
    );
    Ok(())
}

/// A member is given each role the connector declares in turn (twice the last time: no
/// change), and the app shows it; a role the app does not have is `Configuration`.
pub(super) async fn roles(s: &Suite<'_>) -> Check {
    let session = s.session().await?;
    let m = s.invite_new("roles", &s.info.default_role).await?;
    let id = m.app_member_id.clone();
    let mut order = s.info.roles.clone();
    order.push(s.info.default_role.clone());
    order.push(s.info.default_role.clone());
    for role in &order {
        let after =
            s.c.update_role(&s.ctx, session, &id, role)
                .await
                .or_fail(&format!("give {id} the role {role}"))?;
        ensure!(
            after.roles.contains(role),
            "given {role}, the connector answers the roles {:?}",
            after.roles
        );
        let read =
            s.c.get_member(&s.ctx, session, &id)
                .await
                .or_fail("get the member")?
                .or_fail(&format!("get member {id}"))?;
        ensure!(
            read.roles.contains(role),
            "given {role}, the app shows the roles {:?}",
            read.roles
        );
    }
    let bad_role = format!("no_such_role_{}", unique());
    expect_err!(
        s.c.update_role(&s.ctx, session, &id, &bad_role).await,
        ConnectorError::Configuration(_),
        "giving the role {bad_role}"
    );
    s.clean_up(&m).await;
    Ok(())
}

/// Removing a member leaves it gone or deactivated; removing it again is done already (`Ok`).
pub(super) async fn remove(s: &Suite<'_>) -> Check {
    let session = s.session().await?;
    let m = s.invite_new("remove", &s.info.default_role).await?;
    let id = &m.app_member_id;
    s.c.remove(&s.ctx, session, id)
        .await
        .or_fail(&format!("remove {id}"))?;
    let after =
        s.c.get_member(&s.ctx, session, id)
            .await
            .or_fail("get the removed member")?;
    ensure!(
        after
            .as_ref()
            .is_none_or(|a| a.state == MemberState::Deactivated),
        "a removed member is {after:?}, neither gone nor deactivated"
    );
    s.c.remove(&s.ctx, session, id)
        .await
        .or_fail(&format!("remove {id} again"))?;
    Ok(())
}

/// A removed member invited again (as the engine does: naming their own former member when the
/// app kept it) is back, with the role asked for, and is still one member.
pub(super) async fn reinvite(s: &Suite<'_>) -> Check {
    let session = s.session().await?;
    let m = s.invite_new("back", &s.info.default_role).await?;
    let email = m.email.clone().unwrap_or_default();
    s.c.remove(&s.ctx, session, &m.app_member_id)
        .await
        .or_fail("remove")?;
    let kept =
        s.c.get_member(&s.ctx, session, &m.app_member_id)
            .await
            .or_fail("get the removed member")?;
    let role = s.other_role();
    let inv = Invitation {
        username: kept.as_ref().map(|k| k.app_member_id.clone()),
        ..s.invitation(&email, &role)
    };
    let back =
        s.c.invite(&s.ctx, session, &inv)
            .await
            .or_fail("invite the removed member again")?;
    check_invited(&back, &email, &role)?;
    if kept.is_some() {
        ensure!(
            back.app_member_id == m.app_member_id,
            "the app kept member {} but the invitation gave {}",
            m.app_member_id,
            back.app_member_id
        );
    }
    s.exactly_one(&email).await?;
    s.clean_up(&back).await;
    Ok(())
}

/// The automation account cannot demote or remove itself (`Conflict`), and keeps its rights.
pub(super) async fn protects_itself(s: &Suite<'_>) -> Check {
    let Some(me) = s.f.automation_member().await else {
        return Err(Stop::Unsupported(
            "the fixture does not name the automation account's member".into(),
        ));
    };
    let session = s.session().await?;
    if let Some(lowest) = s.info.roles.last().filter(|_| s.info.roles.len() > 1) {
        expect_err!(
            s.c.update_role(&s.ctx, session, &me, lowest).await,
            ConnectorError::Conflict(_),
            "demoting the automation account to {lowest}"
        );
    }
    expect_err!(
        s.c.remove(&s.ctx, session, &me).await,
        ConnectorError::Conflict(_),
        "removing the automation account"
    );
    s.c.verify_permissions(&s.ctx, session)
        .await
        .or_fail("the automation account's rights afterwards")
}
