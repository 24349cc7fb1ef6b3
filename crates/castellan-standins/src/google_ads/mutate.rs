//! The stand-in's `customerUserAccesses:mutate` and `customerUserAccessInvitations:mutate`: one
//! operation each (see the [module](super)).

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::{invalid, Ads, Customer, Invitation, ROLES};
use crate::kit;

fn access_error(code: &str, message: &str) -> Response {
    invalid("customerUserAccessError", code, message)
}

fn invitation_error(code: &str, message: &str) -> Response {
    invalid("accessInvitationError", code, message)
}

/// `{"result": {"resourceName": name}}`.
fn done(name: String) -> Response {
    kit::reply(
        StatusCode::OK,
        vec![],
        json!({"result": {"resourceName": name}}),
    )
}

/// The id at the end of `name` when it is `customers/{customer}/{collection}/{id}`.
fn id_in(name: &str, customer: &str, collection: &str) -> Option<u64> {
    let rest = name.strip_prefix(&format!("customers/{customer}/{collection}/"))?;
    rest.parse().ok()
}

/// One mutate operation on `customer`'s user accesses (`invitation`: its invitations).
pub(super) fn mutate(ads: &Ads, customer: &str, invitation: bool, body: &Value) -> Response {
    let op = &body["operation"];
    if !op.is_object() {
        let msg = "Mutate operation should have either create, update, or remove specified.";
        return invalid("requestError", "OPERATION_REQUIRED", msg);
    }
    if ads.approval.load(Ordering::Relaxed) {
        let review = format!(
            "customers/{customer}/multiPartyAuthReviews/{}",
            ads.new_id()
        );
        let answer = json!({"result": {"multiPartyAuthReview": review}});
        return kit::reply(StatusCode::OK, vec![], answer);
    }
    let new_id = ads.new_id();
    let mut all = ads.customers.lock().unwrap();
    let Some(c) = all.iter_mut().find(|c| c.id == customer) else {
        return invalid(
            "requestError",
            "INVALID_CUSTOMER_ID",
            "Customer ID is invalid.",
        );
    };
    match invitation {
        true => invitations(c, op, new_id),
        false => accesses(c, op),
    }
}

fn accesses(c: &mut Customer, op: &Value) -> Response {
    let collection = "customerUserAccesses";
    let (name, update) = match (op["remove"].as_str(), op["update"].is_object()) {
        (Some(name), _) => (name, false),
        (None, true) => (op["update"]["resourceName"].as_str().unwrap_or(""), true),
        _ => {
            let msg = "Mutate operation should have either create, update, or remove specified.";
            return invalid("requestError", "OPERATION_REQUIRED", msg);
        }
    };
    let Some(user) = id_in(name, &c.id, collection) else {
        return invalid(
            "requestError",
            "RESOURCE_NAME_MALFORMED",
            "Resource name provided is malformed.",
        );
    };
    let Some(i) = c.accesses.iter().position(|a| a.user_id == user) else {
        return access_error(
            "INVALID_USER_ID",
            "There is no user associated with the user id specified.",
        );
    };
    let admins = c.accesses.iter().filter(|a| a.role == "ADMIN").count();
    let last_admin = admins == 1 && c.accesses[i].role == "ADMIN";
    let last = || {
        let msg = "The user can't remove itself from an active serving customer if it's the last \
                   admin user and the customer doesn't have any owner manager";
        access_error("LAST_ADMIN_USER_OF_SERVING_CUSTOMER", msg)
    };
    if !update {
        if last_admin {
            return last();
        }
        c.accesses.remove(i);
        return done(name.to_owned());
    }
    let mask = op["updateMask"].as_str().unwrap_or("");
    if !mask
        .split(',')
        .any(|m| matches!(m.trim(), "accessRole" | "access_role"))
    {
        let msg = "The field mask must name the fields the update changes.";
        return invalid("fieldMaskError", "FIELD_NOT_FOUND", msg);
    }
    let role = op["update"]["accessRole"].as_str().unwrap_or("");
    if !ROLES.contains(&role) {
        return access_error(
            "DISALLOWED_ACCESS_ROLE",
            "Unable to add or update the access role as specified.",
        );
    }
    if last_admin && role != "ADMIN" {
        return last();
    }
    c.accesses[i].role = role.to_owned();
    done(name.to_owned())
}

fn invitations(c: &mut Customer, op: &Value, new_id: u64) -> Response {
    let collection = "customerUserAccessInvitations";
    if let Some(name) = op["remove"].as_str() {
        let id = id_in(name, &c.id, collection);
        let pending = c
            .invitations
            .iter()
            .position(|i| Some(i.id) == id && i.status == "PENDING");
        let Some(i) = pending else {
            return invitation_error("INVALID_INVITATION_ID", "Invalid invitation ID.");
        };
        c.invitations.remove(i);
        return done(name.to_owned());
    }
    let create = &op["create"];
    let email = create["emailAddress"]
        .as_str()
        .unwrap_or("")
        .trim()
        .to_lowercase();
    let role = create["accessRole"].as_str().unwrap_or("");
    if !email.contains('@') || email.contains(char::is_whitespace) {
        return invitation_error(
            "INVALID_EMAIL_ADDRESS",
            "The email address is invalid for sending an invitation.",
        );
    }
    if !ROLES.contains(&role) {
        return access_error(
            "DISALLOWED_ACCESS_ROLE",
            "Unable to add or update the access role as specified.",
        );
    }
    if c.accesses.iter().any(|a| a.email == email) {
        return invitation_error(
            "EMAIL_ADDRESS_ALREADY_HAS_ACCESS",
            "Email address already has access to this customer.",
        );
    }
    if c.invitations
        .iter()
        .any(|i| i.email == email && i.status == "PENDING")
    {
        return invitation_error(
            "EMAIL_ADDRESS_ALREADY_HAS_PENDING_INVITATION",
            "Email address already has a pending invitation.",
        );
    }
    c.invitations.push(Invitation {
        id: new_id,
        email,
        role: role.to_owned(),
        status: "PENDING",
    });
    done(format!("customers/{}/{collection}/{new_id}", c.id))
}
