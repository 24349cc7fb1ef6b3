//! Core's rules over the fakes of `castellan-testkit`: the bot against a fake app (retries,
//! leases, supersession), hub status transitions and the safeguard, the activity chain and
//! the permission checks. No database, network or real app: the whole binary runs in seconds.

mod activity;
mod bot;
mod browser_hub;
mod fixtures;
mod manual;
mod permissions;
mod plans;
mod races;
mod roles;
mod scim_causes;
mod sessions;
mod settings;
mod shares;
mod status;
mod teams;
