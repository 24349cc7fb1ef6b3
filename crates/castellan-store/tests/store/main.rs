//! The store test suite: each case is written once and runs on SQLite and on PostgreSQL,
//! each run on its own fresh database (see `harness`), and on `castellan-testkit`'s
//! `MemoryStore` (see `memory`).

mod account_cases;
mod activity_cases;
mod collection_cases;
mod fixtures;
mod harness;
mod hub_cases;
mod inbox_cases;
mod job_cases;
mod manual_cases;
mod memory;
mod people_cases;
mod recovery_cases;
mod session_cases;
mod supersede_cases;
mod team_cases;
mod token_cases;
mod vault_cases;

use harness::{run, run_instances, run_url, Db};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migrations_are_idempotent() {
    run_url(Db::Sqlite, people_cases::migrations_are_idempotent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrations_are_idempotent() {
    run_url(Db::Postgres, people_cases::migrations_are_idempotent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_workspace_create_and_claim() {
    run(Db::Sqlite, people_cases::workspace_create_and_claim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_workspace_create_and_claim() {
    run(Db::Postgres, people_cases::workspace_create_and_claim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_people_lifecycle() {
    run(Db::Sqlite, people_cases::people_lifecycle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_people_lifecycle() {
    run(Db::Postgres, people_cases::people_lifecycle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_person_versions() {
    run(Db::Sqlite, people_cases::person_versions).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_person_versions() {
    run(Db::Postgres, people_cases::person_versions).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_person_two_step() {
    run(Db::Sqlite, people_cases::person_two_step).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_person_two_step() {
    run(Db::Postgres, people_cases::person_two_step).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tokens_lifecycle() {
    run(Db::Sqlite, token_cases::tokens_lifecycle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tokens_lifecycle() {
    run(Db::Postgres, token_cases::tokens_lifecycle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_vaults_grants_and_keys() {
    run(Db::Sqlite, vault_cases::vaults_grants_and_keys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_vaults_grants_and_keys() {
    run(Db::Postgres, vault_cases::vaults_grants_and_keys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_accounts_lifecycle() {
    run(Db::Sqlite, account_cases::accounts_lifecycle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_accounts_lifecycle() {
    run(Db::Postgres, account_cases::accounts_lifecycle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_custom_apps() {
    run(Db::Sqlite, vault_cases::custom_apps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_custom_apps() {
    run(Db::Postgres, vault_cases::custom_apps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_events_filters() {
    run(Db::Sqlite, activity_cases::events_filters).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_events_filters() {
    run(Db::Postgres, activity_cases::events_filters).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tampering_is_detected() {
    run(Db::Sqlite, activity_cases::tampering_is_detected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tampering_is_detected() {
    run(Db::Postgres, activity_cases::tampering_is_detected).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_appends() {
    run(Db::Sqlite, activity_cases::concurrent_appends).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_appends() {
    run(Db::Postgres, activity_cases::concurrent_appends).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_token_touches() {
    run(Db::Sqlite, activity_cases::concurrent_token_touches).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_token_touches() {
    run(Db::Postgres, activity_cases::concurrent_token_touches).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_hubs_lifecycle() {
    run(Db::Sqlite, hub_cases::hubs_lifecycle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_hubs_lifecycle() {
    run(Db::Postgres, hub_cases::hubs_lifecycle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_save_sync_replaces_members() {
    run(Db::Sqlite, hub_cases::save_sync_replaces_members).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_save_sync_replaces_members() {
    run(Db::Postgres, hub_cases::save_sync_replaces_members).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_grants_enqueue_deduped_jobs() {
    run(Db::Sqlite, hub_cases::grants_enqueue_deduped_jobs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_grants_enqueue_deduped_jobs() {
    run(Db::Postgres, hub_cases::grants_enqueue_deduped_jobs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_claim_due_syncs_single_winner() {
    run_instances(Db::Sqlite, hub_cases::claim_due_syncs_single_winner).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_claim_due_syncs_single_winner() {
    run_instances(Db::Postgres, hub_cases::claim_due_syncs_single_winner).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_claims_in_order_with_leases() {
    run(Db::Sqlite, job_cases::claims_in_order_with_leases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_claims_in_order_with_leases() {
    run(Db::Postgres, job_cases::claims_in_order_with_leases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_retry_and_cancel() {
    run(Db::Sqlite, job_cases::retry_and_cancel).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_retry_and_cancel() {
    run(Db::Postgres, job_cases::retry_and_cancel).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_claims() {
    run_instances(Db::Sqlite, job_cases::concurrent_claims).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_claims() {
    run_instances(Db::Postgres, job_cases::concurrent_claims).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_job_run_counts() {
    run(Db::Sqlite, job_cases::job_run_counts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_job_run_counts() {
    run(Db::Postgres, job_cases::job_run_counts).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_inbox_managed_addresses() {
    run(Db::Sqlite, inbox_cases::managed_addresses).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_inbox_managed_addresses() {
    run(Db::Postgres, inbox_cases::managed_addresses).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_inbox_phone_number_pool() {
    run(Db::Sqlite, inbox_cases::phone_number_pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_inbox_phone_number_pool() {
    run(Db::Postgres, inbox_cases::phone_number_pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_inbox_messages_exactly_once_filters_and_purge() {
    run(
        Db::Sqlite,
        inbox_cases::messages_exactly_once_filters_and_purge,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_inbox_messages_exactly_once_filters_and_purge() {
    run(
        Db::Postgres,
        inbox_cases::messages_exactly_once_filters_and_purge,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_grant_changes_supersede_obsolete_jobs() {
    run(
        Db::Sqlite,
        supersede_cases::grant_changes_supersede_obsolete_jobs,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_grant_changes_supersede_obsolete_jobs() {
    run(
        Db::Postgres,
        supersede_cases::grant_changes_supersede_obsolete_jobs,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_follow_up_only_when_the_grants_moved() {
    run(
        Db::Sqlite,
        supersede_cases::follow_up_only_when_the_grants_moved,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_follow_up_only_when_the_grants_moved() {
    run(
        Db::Postgres,
        supersede_cases::follow_up_only_when_the_grants_moved,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_unreadable_params_block_nothing() {
    run(Db::Sqlite, job_cases::unreadable_params_block_nothing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unreadable_params_block_nothing() {
    run(Db::Postgres, job_cases::unreadable_params_block_nothing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_held_job_absorbs_no_newer_one() {
    run(Db::Sqlite, supersede_cases::a_held_job_absorbs_no_newer_one).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_held_job_absorbs_no_newer_one() {
    run(
        Db::Postgres,
        supersede_cases::a_held_job_absorbs_no_newer_one,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_grant_change_racing_a_completion_leaves_a_sync() {
    run_instances(
        Db::Sqlite,
        supersede_cases::grant_change_racing_a_completion_leaves_a_sync,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_grant_change_racing_a_completion_leaves_a_sync() {
    run_instances(
        Db::Postgres,
        supersede_cases::grant_change_racing_a_completion_leaves_a_sync,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_password_resets_and_changes() {
    run(Db::Sqlite, recovery_cases::password_resets_and_changes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_password_resets_and_changes() {
    run(Db::Postgres, recovery_cases::password_resets_and_changes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_throttled_appends() {
    run(Db::Sqlite, recovery_cases::throttled_appends).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_throttled_appends() {
    run(Db::Postgres, recovery_cases::throttled_appends).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_listed_pages_are_kept_per_job() {
    run(Db::Sqlite, job_cases::listed_pages_are_kept_per_job).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_listed_pages_are_kept_per_job() {
    run(Db::Postgres, job_cases::listed_pages_are_kept_per_job).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_manual_rosters_and_tasks() {
    run(Db::Sqlite, manual_cases::rosters_and_tasks).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_manual_rosters_and_tasks() {
    run(Db::Postgres, manual_cases::rosters_and_tasks).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_app_sessions_are_kept_and_claimed() {
    run(Db::Sqlite, session_cases::app_sessions_are_kept_and_claimed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_app_sessions_are_kept_and_claimed() {
    run(
        Db::Postgres,
        session_cases::app_sessions_are_kept_and_claimed,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_job_steps_are_kept() {
    run(Db::Sqlite, session_cases::job_steps_are_kept).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_job_steps_are_kept() {
    run(Db::Postgres, session_cases::job_steps_are_kept).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_teams_and_access() {
    run(Db::Sqlite, team_cases::teams_and_access).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_teams_and_access() {
    run(Db::Postgres, team_cases::teams_and_access).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_collections_and_shares() {
    run(Db::Sqlite, collection_cases::collections_and_shares).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_collections_and_shares() {
    run(Db::Postgres, collection_cases::collections_and_shares).await;
}
