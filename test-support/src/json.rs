//! JSON files and outputs: read, written back compact or pretty, edited in place.

use std::path::Path;

use serde_json::Value;

/// `bytes` (a file, a command's standard output) as one JSON document.
pub fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "not one JSON document ({e}): {}",
            String::from_utf8_lossy(bytes)
        )
    })
}

/// The JSON document in the file at `path`.
pub fn read(path: &Path) -> Value {
    parse(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Writes `v` to `path`, compact.
pub fn write(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_vec(v).unwrap()).unwrap();
}

/// Writes `v` to `path`, pretty-printed.
pub fn write_pretty(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

/// Edits the JSON document in the file at `path` with `f`, written back compact.
pub fn edit(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v = read(path);
    f(&mut v);
    write(path, &v);
}

/// Edits the JSON document in the file at `path` with `f`, written back pretty-printed.
pub fn edit_pretty(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v = read(path);
    f(&mut v);
    write_pretty(path, &v);
}
