//! Every JSON request body type of the API (the server's wire types), and the two-step inputs
//! of castellan-core, deserialized from the same arbitrary bytes (serde_json, as axum's Json
//! extractor does). Checks: no panic in a Deserialize impl (custom ones: ids, secrets, enums),
//! and the catalog's App, which is also written back as JSON, reads back equal (as the wire
//! type and as the core type the store keeps).
#![no_main]

use castellan_core::service::{DisableTwoStep, EnableTwoStep};
use castellan_server::wire::{
    AccountInput, AccountPatch, App, ChangePassword, Claim, ConnectHub, GenerateRequest, HubPatch,
    InvitePerson, MemberAction, MigrationImport, NewToken, NewVault, PersonPatch, RevokeHub,
    ShareHub, SignIn, TotpInput, UseResetLink,
};
use libfuzzer_sys::fuzz_target;

macro_rules! try_all {
    ($data:expr, $($t:ty),+ $(,)?) => {
        $( let _ = serde_json::from_slice::<$t>($data); )+
    };
}

fuzz_target!(|data: &[u8]| {
    try_all!(
        data,
        AccountInput,
        AccountPatch,
        Claim,
        SignIn,
        GenerateRequest,
        ConnectHub,
        HubPatch,
        ShareHub,
        RevokeHub,
        MemberAction,
        InvitePerson,
        PersonPatch,
        NewToken,
        TotpInput,
        MigrationImport,
        EnableTwoStep,
        DisableTwoStep,
        NewVault,
        ChangePassword,
        UseResetLink,
    );
    if let Ok(app) = serde_json::from_slice::<App>(data) {
        let written = serde_json::to_vec(&app).expect("an App serializes");
        let back: App = serde_json::from_slice(&written)
            .unwrap_or_else(|e| panic!("an App written as JSON does not read back: {e}"));
        assert_eq!(back, app, "App round trip");
    }
    if let Ok(app) = serde_json::from_slice::<castellan_core::catalog::App>(data) {
        let written = serde_json::to_vec(&app).expect("an App serializes");
        let back: castellan_core::catalog::App = serde_json::from_slice(&written)
            .unwrap_or_else(|e| panic!("a core App written as JSON does not read back: {e}"));
        assert_eq!(back, app, "core App round trip");
    }
});
