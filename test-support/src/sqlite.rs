//! A database edited behind its store's back, as someone with write access to the file: the
//! append-only triggers lifted for a rewrite and put back from the SQL the database held for
//! them, so that a monitor finds the rewrite and not a missing trigger.

use rusqlite::Connection;

/// The SQL `db` holds for the trigger `name` (as the schema created it).
pub fn trigger_sql(db: &Connection, name: &str) -> String {
    db.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1",
        [name],
        |r| r.get(0),
    )
    .unwrap()
}

/// Runs `rewrite` with the trigger `name` dropped, then recreates exactly that trigger from
/// the SQL the database held for it.
pub fn without_trigger(db: &Connection, name: &str, rewrite: impl FnOnce()) {
    let sql = trigger_sql(db, name);
    db.execute_batch(&format!("DROP TRIGGER {name};")).unwrap();
    rewrite();
    db.execute_batch(&sql).unwrap();
    assert_eq!(trigger_sql(db, name), sql, "trigger {name} not restored");
}
