//! The fleet store on a real PostgreSQL: claims by `FOR UPDATE SKIP LOCKED` never give one
//! site to two processes, the fair share, renewal, release, take-over after expiry, and
//! fencing — a save under a stale epoch (or an expired lease) is refused and leaves the new
//! owner's checkpoint as it is. The quarantine rows of a site.
//!
//! `scripts/test.sh` runs it with `--ignored` on the private server of `scripts/pg.sh`.

use std::collections::BTreeSet;
use std::time::Duration;

use pbx_core::{Checkpoint, CheckpointStore};
use pbx_sources::Error;
use pbx_sources::fleet::{FleetStore, Lease, SiteCheckpointStore};

fn pg_url() -> String {
    match std::env::var("PBX_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "PBX_TEST_PG_URL is not set: run this test through scripts/pg.sh (a private PostgreSQL) or scripts/test.sh"
        ),
    }
}

fn store(name: &str) -> (FleetStore, String) {
    let prefix = format!("fs_{name}_{}", std::process::id());
    (FleetStore::new(&pg_url(), &prefix).unwrap(), prefix)
}

async fn drop_tables(store: &FleetStore, prefix: &str) {
    // The store has no "drop": a plain connection does it.
    let (client, conn) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "DROP TABLE {prefix}_sites, {prefix}_processes, {prefix}_checkpoints, {prefix}_quarantine"
        ))
        .await
        .unwrap();
    let _ = store;
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("s{i:03}")).collect()
}

const LONG: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (scripts/pg.sh)"]
async fn concurrent_claims_never_share_a_site_and_respect_the_count() {
    let (store, prefix) = store("claims");
    let sites = ids(100);
    store.add_sites(&sites).await.unwrap();
    // Eight claimers at once, each for up to 20: SKIP LOCKED hands out each site once.
    let mut tasks = Vec::new();
    for p in 0..8 {
        let store = store.clone();
        let sites = sites.clone();
        tasks.push(tokio::spawn(async move {
            store
                .claim(&format!("p{p}"), &sites, 20, LONG)
                .await
                .unwrap()
        }));
    }
    let mut won = Vec::new();
    for t in tasks {
        let got = t.await.unwrap();
        assert!(got.len() <= 20);
        won.extend(got.into_iter().map(|l| l.site));
    }
    let unique: BTreeSet<&String> = won.iter().collect();
    assert_eq!(unique.len(), won.len(), "a site was claimed twice");
    assert_eq!(won.len(), 100, "every site claimed by someone");
    // Nothing left to claim.
    assert!(
        store
            .claim("late", &sites, 10, LONG)
            .await
            .unwrap()
            .is_empty()
    );
    drop_tables(&store, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (scripts/pg.sh)"]
async fn a_stale_owner_cannot_save_and_the_new_owner_resumes_from_the_last_valid_save() {
    let (store, prefix) = store("fence");
    let sites = ids(1);
    store.add_sites(&sites).await.unwrap();
    let short = Duration::from_millis(300);
    let old = store.claim("a", &sites, 1, short).await.unwrap().remove(0);
    assert_eq!(old.epoch, 1);
    let a = SiteCheckpointStore::new(store.clone(), "a", old.clone());
    a.save("cdr", &Checkpoint::new("10")).await.unwrap();
    // A live lease cannot be claimed by another.
    assert!(store.claim("b", &sites, 1, LONG).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Expired: "a" can neither renew nor save, even before anyone takes over.
    assert!(
        store
            .renew("a", std::slice::from_ref(&old), LONG)
            .await
            .unwrap()
            .is_empty()
    );
    let refused = a.save("cdr", &Checkpoint::new("11")).await.unwrap_err();
    assert!(
        matches!(refused, Error::LeaseLost { ref site, epoch: 1 } if site == "s000"),
        "{refused}"
    );
    // "b" takes over with a higher epoch and reads the last valid save.
    let new = store.claim("b", &sites, 1, LONG).await.unwrap().remove(0);
    assert_eq!(new.epoch, 2);
    let b = SiteCheckpointStore::new(store.clone(), "b", new.clone());
    assert_eq!(b.load("cdr").await.unwrap(), Some(Checkpoint::new("10")));
    b.save("cdr", &Checkpoint::new("20")).await.unwrap();
    // The old owner, continued after a pause, is refused and changes nothing.
    assert!(matches!(
        a.save("cdr", &Checkpoint::new("12")).await,
        Err(Error::LeaseLost { .. })
    ));
    assert_eq!(b.load("cdr").await.unwrap(), Some(Checkpoint::new("20")));
    // The new owner renews; a release frees the site at once.
    assert_eq!(
        store
            .renew("b", std::slice::from_ref(&new), LONG)
            .await
            .unwrap(),
        vec![new.clone()]
    );
    store.release("b", &new).await.unwrap();
    assert!(matches!(
        b.save("cdr", &Checkpoint::new("21")).await,
        Err(Error::LeaseLost { .. })
    ));
    let third = store.claim("c", &sites, 1, LONG).await.unwrap();
    assert_eq!(
        third,
        vec![Lease {
            site: "s000".into(),
            epoch: 3
        }]
    );
    drop_tables(&store, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (scripts/pg.sh)"]
async fn heartbeats_count_live_processes_and_removed_sites_go() {
    let (store, prefix) = store("census");
    store.add_sites(&ids(7)).await.unwrap();
    store.heartbeat("a", LONG, "127.0.0.1:1").await.unwrap();
    store
        .heartbeat("b", Duration::from_millis(200), "127.0.0.1:2")
        .await
        .unwrap();
    assert_eq!(store.census().await.unwrap(), (2, 7));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.census().await.unwrap(), (1, 7));
    store.leave("a").await.unwrap();
    assert_eq!(store.census().await.unwrap(), (0, 7));
    // A site held by another live owner stays; a free one goes.
    let held = store
        .claim("x", &["s001".to_owned()], 1, LONG)
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    store.remove_site("y", "s001").await.unwrap();
    store.remove_site("y", "s002").await.unwrap();
    let left: Vec<String> = store
        .sites()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.site)
        .collect();
    assert!(
        left.contains(&"s001".to_owned()) && !left.contains(&"s002".to_owned()),
        "{left:?}"
    );
    drop_tables(&store, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (scripts/pg.sh)"]
async fn a_site_quarantine_keeps_its_entries_by_site() {
    use pbx_sources::delivery::Quarantine;
    let (store, prefix) = store("quarantine");
    let entry = pbx_core::delivery::QuarantineEntry {
        at: chrono::DateTime::UNIX_EPOCH,
        checkpoint: "cp-1".into(),
        location: "line 1".into(),
        reason: "a test".into(),
        record: "Call 1,broken".into(),
    };
    let q = pbx_sources::fleet::SiteQuarantine::new(store.clone(), "berlin");
    q.put(&entry).unwrap();
    store.quarantine("paris", &entry).await.unwrap();
    let berlin = store.quarantined("berlin").await.unwrap();
    assert_eq!(berlin.len(), 1);
    assert_eq!(berlin[0].1, entry);
    store.unquarantine("berlin", &[berlin[0].0]).await.unwrap();
    assert!(store.quarantined("berlin").await.unwrap().is_empty());
    assert_eq!(store.quarantined("paris").await.unwrap().len(), 1);
    drop_tables(&store, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (scripts/pg.sh)"]
async fn a_site_replay_sends_its_quarantine_again_and_keeps_what_still_fails() {
    let (store, prefix) = store("replay");
    let dir = std::env::temp_dir().join(format!("pbx-fleet-replay-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sites")).unwrap();
    let calls = dir.join("calls.jsonl");
    std::fs::write(
        dir.join("sites").join("berlin.yml"),
        format!(
            "source: {{kind: file, path: '{}'}}\ncall_api: {{base_url: 'file:{}'}}\n",
            dir.join("cdr.log").display(),
            calls.display()
        ),
    )
    .unwrap();
    let config = pbx_sources::fleet::FleetConfig::from_yaml(
        &format!(
            "store: {{url: '{}', prefix: {prefix}}}\nsites_dir: '{}'\ndefaults: {{extensions: {{default_email: 'pbx@example.com'}}}}\n",
            pg_url(),
            dir.join("sites").display()
        ),
        &|_: &str| None,
    )
    .unwrap();
    let line = include_str!("../../examples/data/cdr-sample.log")
        .lines()
        .next()
        .unwrap();
    let entry = |location: &str, record: &str| pbx_core::delivery::QuarantineEntry {
        at: chrono::DateTime::UNIX_EPOCH,
        checkpoint: "cp".into(),
        location: location.into(),
        reason: "the call API rejected it (HTTP 422)".into(),
        record: record.into(),
    };
    // A CDR line (replayable: delivered now) and a database row (not replayable: kept).
    store
        .quarantine("berlin", &entry("line 1", line))
        .await
        .unwrap();
    store
        .quarantine("berlin", &entry("row 7", ""))
        .await
        .unwrap();
    store
        .quarantine("paris", &entry("line 1", line))
        .await
        .unwrap();
    let fleet = pbx_sources::fleet::Fleet::new(config, |_| None).unwrap();
    let report = fleet.replay("berlin").await.unwrap();
    assert_eq!(
        (report.entries, report.delivered, report.not_replayable),
        (2, 1, 1),
        "{report:?}"
    );
    let left = store.quarantined("berlin").await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].1.location, "row 7");
    assert_eq!(
        store.quarantined("paris").await.unwrap().len(),
        1,
        "another site's quarantine is left alone"
    );
    assert_eq!(std::fs::read_to_string(&calls).unwrap().lines().count(), 1);
    // A site without a file is a configuration error naming it.
    let e = fleet.replay("oslo").await.unwrap_err();
    assert!(e.is_config() && e.to_string().contains("oslo"), "{e}");
    drop_tables(&store, &prefix).await;
    std::fs::remove_dir_all(&dir).unwrap();
}
