//! Writes the schema's SDL to the top-level `schema.graphql` (or to the path given).

fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql").to_owned());
    std::fs::write(&path, api::schema::sdl())?;
    println!("wrote {path}");
    Ok(())
}
