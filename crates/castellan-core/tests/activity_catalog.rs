//! `docs/activity-actions.md` is generated from `ActivityAction`: this test fails when the
//! committed page differs from the catalog. Regenerate it with
//! `CASTELLAN_BLESS=1 cargo test -p castellan-core --test activity_catalog`.

use std::path::PathBuf;

use castellan_core::activity::catalog_markdown;

#[test]
fn committed_catalog_matches_the_enum() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/activity-actions.md");
    let want = catalog_markdown();
    if std::env::var_os("CASTELLAN_BLESS").is_some() {
        std::fs::write(&path, &want).expect("write docs/activity-actions.md");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/activity-actions.md is not the catalog of `ActivityAction`; regenerate it with \
         `CASTELLAN_BLESS=1 cargo test -p castellan-core --test activity_catalog`"
    );
}
