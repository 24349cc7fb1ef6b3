//! The store suite on `castellan-testkit`'s `MemoryStore`: every case that runs on SQLite and
//! PostgreSQL runs here too, except the ones about SQL itself (listed below).
//!
//! Not run on memory: `migrations_are_idempotent` (SQL migrations and SQLite pragmas).

use crate::harness::{run_memory, run_memory_instances};
use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_workspace_create_and_claim() {
    run_memory(people_cases::workspace_create_and_claim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_people_lifecycle() {
    run_memory(people_cases::people_lifecycle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_person_versions() {
    run_memory(people_cases::person_versions).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_person_two_step() {
    run_memory(people_cases::person_two_step).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_tokens_lifecycle() {
    run_memory(token_cases::tokens_lifecycle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_vaults_grants_and_keys() {
    run_memory(vault_cases::vaults_grants_and_keys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_accounts_lifecycle() {
    run_memory(account_cases::accounts_lifecycle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_custom_apps() {
    run_memory(vault_cases::custom_apps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_events_filters() {
    run_memory(activity_cases::events_filters).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_tampering_is_detected() {
    run_memory(activity_cases::tampering_is_detected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_concurrent_appends() {
    run_memory(activity_cases::concurrent_appends).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_concurrent_token_touches() {
    run_memory(activity_cases::concurrent_token_touches).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_hubs_lifecycle() {
    run_memory(hub_cases::hubs_lifecycle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_save_sync_replaces_members() {
    run_memory(hub_cases::save_sync_replaces_members).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_grants_enqueue_deduped_jobs() {
    run_memory(hub_cases::grants_enqueue_deduped_jobs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_claim_due_syncs_single_winner() {
    run_memory_instances(hub_cases::claim_due_syncs_single_winner).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_claims_in_order_with_leases() {
    run_memory(job_cases::claims_in_order_with_leases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_retry_and_cancel() {
    run_memory(job_cases::retry_and_cancel).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_concurrent_claims() {
    run_memory_instances(job_cases::concurrent_claims).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_job_run_counts() {
    run_memory(job_cases::job_run_counts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_inbox_managed_addresses() {
    run_memory(inbox_cases::managed_addresses).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_inbox_phone_number_pool() {
    run_memory(inbox_cases::phone_number_pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_inbox_messages_exactly_once_filters_and_purge() {
    run_memory(inbox_cases::messages_exactly_once_filters_and_purge).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_grant_changes_supersede_obsolete_jobs() {
    run_memory(supersede_cases::grant_changes_supersede_obsolete_jobs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_follow_up_only_when_the_grants_moved() {
    run_memory(supersede_cases::follow_up_only_when_the_grants_moved).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_a_held_job_absorbs_no_newer_one() {
    run_memory(supersede_cases::a_held_job_absorbs_no_newer_one).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_grant_change_racing_a_completion_leaves_a_sync() {
    run_memory_instances(supersede_cases::grant_change_racing_a_completion_leaves_a_sync).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_password_resets_and_changes() {
    run_memory(recovery_cases::password_resets_and_changes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_throttled_appends() {
    run_memory(recovery_cases::throttled_appends).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_listed_pages_are_kept_per_job() {
    run_memory(job_cases::listed_pages_are_kept_per_job).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_manual_rosters_and_tasks() {
    run_memory(manual_cases::rosters_and_tasks).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_app_sessions_are_kept_and_claimed() {
    run_memory(session_cases::app_sessions_are_kept_and_claimed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_job_steps_are_kept() {
    run_memory(session_cases::job_steps_are_kept).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_teams_and_access() {
    run_memory(team_cases::teams_and_access).await;
}

#[tokio::test]
async fn memory_collections_and_shares() {
    run_memory(collection_cases::collections_and_shares).await;
}
