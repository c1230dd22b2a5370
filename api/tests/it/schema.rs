/// `schema.graphql` is generated from the code; regenerate it with
/// `cargo run -p api --bin export_schema` when this fails.
#[test]
fn schema_file_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let current = api::schema::sdl();
    assert!(
        committed == current,
        "schema.graphql is stale: run `cargo run -p api --bin export_schema` and commit it"
    );
}
