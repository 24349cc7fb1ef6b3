//! A job's parameters, typed per task. Stored as a JSON object in `jobs.params` next to the task
//! name, and shown as that object in the automation log; the task names which shape it has.

use serde::{Deserialize, Serialize};

use crate::hub::Task;
use crate::ids::PersonId;

/// What a `check_for_updates` job is told.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckParams {
    /// An admin confirmed the changes the safeguard held (the next plan runs whatever it removes).
    #[serde(default)]
    pub confirm: bool,
}

/// What an `invite_member` job is told: the person, where to invite them and as what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteParams {
    /// The person the grant is for.
    pub person_id: PersonId,
    /// The address to invite (the person's email when the job was planned).
    pub email: String,
    /// The app role the grant asked for when the job was planned.
    pub role: String,
    /// Deactivated members of the person to reactivate instead of inviting anew.
    #[serde(default)]
    pub app_member_ids: Vec<String>,
}

/// What an `update_member_role` job is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleParams {
    /// The person the grant is for.
    pub person_id: PersonId,
    /// The person's members in the app.
    pub app_member_ids: Vec<String>,
    /// The app role the grant asked for when the job was planned.
    pub role: String,
}

/// What a `remove_member` job is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveParams {
    /// The person matched to the members, if any (a manual removal may name none).
    pub person_id: Option<PersonId>,
    /// The members to remove (all of a deactivated person's members in one job).
    pub app_member_ids: Vec<String>,
    /// An admin asked for it by hand: it removes whatever the grants say, unless the person
    /// was given the hub since.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manual: bool,
}

/// A job's parameters: one shape per [`Task`]. Serialized as the inner object (the task is
/// stored beside it); read back with [`JobParams::from_stored`]. Fields this build does not
/// know are ignored on reading (a row written by a newer build still runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobParams {
    /// [`Task::CheckForUpdates`].
    CheckForUpdates(CheckParams),
    /// [`Task::InviteMember`].
    InviteMember(InviteParams),
    /// [`Task::UpdateMemberRole`].
    UpdateMemberRole(RoleParams),
    /// [`Task::RemoveMember`].
    RemoveMember(RemoveParams),
    /// Stored parameters this build cannot read (a field it needs is missing or of another
    /// type: a row edited by hand, or written by an incompatible build). Kept as stored and
    /// shown as such; the job ends `not_completed` when it runs, and blocks no other job.
    Unreadable {
        /// The job's task.
        task: Task,
        /// The stored value, as it was.
        stored: serde_json::Value,
        /// Why it could not be read.
        error: String,
    },
}

impl Serialize for JobParams {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            JobParams::CheckForUpdates(p) => p.serialize(s),
            JobParams::InviteMember(p) => p.serialize(s),
            JobParams::UpdateMemberRole(p) => p.serialize(s),
            JobParams::RemoveMember(p) => p.serialize(s),
            JobParams::Unreadable { stored, .. } => stored.serialize(s),
        }
    }
}

impl JobParams {
    /// The task these parameters are for.
    pub fn task(&self) -> Task {
        match self {
            JobParams::CheckForUpdates(_) => Task::CheckForUpdates,
            JobParams::InviteMember(_) => Task::InviteMember,
            JobParams::UpdateMemberRole(_) => Task::UpdateMemberRole,
            JobParams::RemoveMember(_) => Task::RemoveMember,
            JobParams::Unreadable { task, .. } => *task,
        }
    }

    /// Reads stored parameters as the shape `task` takes. A single `app_member_id` (written by
    /// earlier builds, before a write job could cover several members) is read as a
    /// one-element `app_member_ids`. A value that does not have that shape is kept as
    /// [`JobParams::Unreadable`] (never an error: one bad row must not stop the queue).
    pub fn from_stored(task: Task, value: serde_json::Value) -> JobParams {
        let mut v = value.clone();
        if let Some(obj) = v.as_object_mut() {
            if let Some(id) = obj.remove("app_member_id") {
                obj.entry("app_member_ids")
                    .or_insert_with(|| serde_json::Value::Array(vec![id]));
            }
        }
        let read = match task {
            Task::CheckForUpdates => serde_json::from_value(v).map(JobParams::CheckForUpdates),
            Task::InviteMember => serde_json::from_value(v).map(JobParams::InviteMember),
            Task::UpdateMemberRole => serde_json::from_value(v).map(JobParams::UpdateMemberRole),
            Task::RemoveMember => serde_json::from_value(v).map(JobParams::RemoveMember),
        };
        read.unwrap_or_else(|e| JobParams::Unreadable {
            task,
            stored: value,
            error: e.to_string(),
        })
    }

    /// The person a write job is for (`None` for a check, and for a manual removal of a member
    /// no person is matched to).
    pub fn person_id(&self) -> Option<PersonId> {
        match self {
            JobParams::CheckForUpdates(_) | JobParams::Unreadable { .. } => None,
            JobParams::InviteMember(p) => Some(p.person_id),
            JobParams::UpdateMemberRole(p) => Some(p.person_id),
            JobParams::RemoveMember(p) => p.person_id,
        }
    }

    /// The app members a write job is about (empty for a check, and for an invitation of
    /// someone who never was a member).
    pub fn app_member_ids(&self) -> &[String] {
        match self {
            JobParams::CheckForUpdates(_) | JobParams::Unreadable { .. } => &[],
            JobParams::InviteMember(p) => &p.app_member_ids,
            JobParams::UpdateMemberRole(p) => &p.app_member_ids,
            JobParams::RemoveMember(p) => &p.app_member_ids,
        }
    }

    /// The app role planned (invitation and role change).
    pub fn role(&self) -> Option<&str> {
        match self {
            JobParams::InviteMember(p) => Some(&p.role),
            JobParams::UpdateMemberRole(p) => Some(&p.role),
            JobParams::CheckForUpdates(_)
            | JobParams::RemoveMember(_)
            | JobParams::Unreadable { .. } => None,
        }
    }

    /// The address planned for an invitation.
    pub fn email(&self) -> Option<&str> {
        match self {
            JobParams::InviteMember(p) => Some(&p.email),
            _ => None,
        }
    }

    /// Whether an admin asked for this removal by hand.
    pub fn manual(&self) -> bool {
        matches!(
            self,
            JobParams::RemoveMember(RemoveParams { manual: true, .. })
        )
    }

    /// Whether a check was told to accept what the safeguard held.
    pub fn confirm(&self) -> bool {
        matches!(
            self,
            JobParams::CheckForUpdates(CheckParams { confirm: true })
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stored_objects_round_trip_per_task() {
        let person = PersonId::new();
        let cases = [
            JobParams::CheckForUpdates(CheckParams { confirm: true }),
            JobParams::InviteMember(InviteParams {
                person_id: person,
                email: "ana@example.com".into(),
                role: "member".into(),
                app_member_ids: vec![],
            }),
            JobParams::UpdateMemberRole(RoleParams {
                person_id: person,
                app_member_ids: vec!["m1".into()],
                role: "admin".into(),
            }),
            JobParams::RemoveMember(RemoveParams {
                person_id: None,
                app_member_ids: vec!["m1".into(), "m2".into()],
                manual: true,
            }),
        ];
        for p in cases {
            let stored = serde_json::to_value(&p).unwrap();
            assert_eq!(JobParams::from_stored(p.task(), stored), p);
        }
    }

    #[test]
    fn the_stored_shape_is_the_plain_object() {
        let p = JobParams::RemoveMember(RemoveParams {
            person_id: None,
            app_member_ids: vec!["m1".into()],
            manual: false,
        });
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({ "person_id": null, "app_member_ids": ["m1"] })
        );
        assert_eq!(
            serde_json::to_value(JobParams::CheckForUpdates(CheckParams::default())).unwrap(),
            json!({ "confirm": false })
        );
    }

    #[test]
    fn an_older_single_member_id_is_read_as_a_list() {
        let p = JobParams::from_stored(
            Task::UpdateMemberRole,
            json!({ "person_id": PersonId::new(), "app_member_id": "m7", "role": "admin" }),
        );
        assert_eq!(p.app_member_ids(), ["m7"]);
    }

    #[test]
    fn a_shape_that_does_not_fit_the_task_is_kept_unreadable() {
        for (task, v) in [
            (Task::InviteMember, json!({ "confirm": false })),
            (Task::CheckForUpdates, json!({ "confirm": "yes" })),
            (Task::RemoveMember, json!("not an object")),
        ] {
            let p = JobParams::from_stored(task, v.clone());
            assert!(matches!(&p, JobParams::Unreadable { .. }), "{p:?}");
            assert_eq!(p.task(), task);
            assert_eq!(serde_json::to_value(&p).unwrap(), v, "shown as stored");
        }
    }

    #[test]
    fn fields_of_a_newer_build_are_ignored() {
        let p = JobParams::from_stored(
            Task::CheckForUpdates,
            json!({ "confirm": true, "added_later": 1 }),
        );
        assert_eq!(p, JobParams::CheckForUpdates(CheckParams { confirm: true }));
    }
}
