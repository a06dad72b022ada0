//! The throw-away cluster works as the backend's tests will use it: two at
//! once, Vietnamese text kept as UTF-8, nothing left behind.

use std::net::TcpStream;

use gocua_pgtest::PgCluster;

#[test]
fn two_clusters_run_at_once_keep_vietnamese_text_and_go_away() {
    let a = PgCluster::start();
    let b = PgCluster::start();
    assert_ne!(a.port(), b.port());
    let major: u32 = a
        .psql("SHOW server_version_num")
        .parse::<u32>()
        .map(|n| n / 10_000)
        .unwrap_or(0);
    assert!(major >= 13, "PostgreSQL {major}");
    a.psql("CREATE TABLE households (id TEXT PRIMARY KEY, head_name TEXT NOT NULL)");
    a.psql("INSERT INTO households VALUES ('h1', 'Nguyễn Thị Hạnh')");
    assert_eq!(
        a.psql("SELECT head_name FROM households WHERE id = 'h1'"),
        "Nguyễn Thị Hạnh"
    );
    assert_eq!(a.psql("SHOW server_encoding"), "UTF8");
    // Separate clusters: b has no such table.
    assert_eq!(
        b.psql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'households'"),
        "0"
    );
    assert!(a.url().starts_with("postgres://postgres@127.0.0.1:"));

    let port = a.port();
    let dir = a.dir().to_path_buf();
    drop(a);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the dropped cluster still listens on {port}"
    );
}
