//! The sideloader runtime as a library (`pbx_sources::runtime::Sideloader`), on the same
//! PostgreSQL site-table scenario as the binary (`tests/postgres.rs`) and the Node and Python
//! bindings (`pbx-node/__test__/sideloader_pg.test.mjs`, `pbx-py/tests/test_sideloader.py`):
//! 2 345 rows to a call API double that records `pbxCallId`s — every call delivered exactly
//! once, a second drain delivers nothing, and the summary is the binary's line; `run` stopped
//! during delivery saves the checkpoint. Also: configuration errors keep the binary's message
//! and exit-code class.
//!
//! `scripts/pg.sh` (and `scripts/test.sh`) start a private cluster and set `PBX_TEST_PG_URL`;
//! without it the PostgreSQL tests print "skipped" — and fail under `CI=true`.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    BIN, CallApi, SharedCallApi, accepted_ids, pg_connect, pg_url, scratch, serve_call_api,
    site_source, site_table, stored_checkpoint,
};
use pbx_core::config::Config;
use pbx_sources::runtime::Sideloader;

const ROWS: u32 = 2_345;

/// The configuration of the scenario (the one the Node and Python tests write too).
fn config_yaml(dir: &Path, url: &str, schema: &str, base_url: &str) -> String {
    format!(
        "pbx: {{timezone: America/Anchorage}}\n{}\
         call_api: {{base_url: '{base_url}', timeout_secs: 5, concurrency: 16}}\n\
         extensions: {{default_email: 'pbx@example.com'}}\n\
         polling: {{interval_secs: 1, batch_size: 500}}\n\
         checkpoint: {{kind: postgres, url: '{url}', table: {schema}.pbx_checkpoint}}\n\
         quarantine: {{path: '{}/quarantine.jsonl'}}\n\
         logging: {{level: error}}\n",
        site_source(url, schema),
        dir.display()
    )
}

fn load(yaml: &str) -> Config {
    Config::from_yaml(yaml, &|_| None).expect("the scenario's configuration is valid")
}

async fn drop_schema(url: &str, schema: &str) {
    pg_connect(url)
        .await
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

#[test]
#[ignore = "needs PostgreSQL: PBX_TEST_PG_URL (scripts/test.sh runs it; scripts/pg.sh starts a private server)"]
fn the_library_and_the_binary_deliver_a_site_table_once_with_the_same_summary() {
    let url = pg_url();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = scratch("api");
    let (lib_schema, bin_schema) = (
        format!("rt_lib_{}", std::process::id()),
        format!("rt_bin_{}", std::process::id()),
    );
    let lib_api: SharedCallApi = Arc::new(Mutex::new(CallApi::default()));
    let bin_api: SharedCallApi = Arc::new(Mutex::new(CallApi::default()));
    let (lib_addr, bin_addr) = (serve_call_api(&rt, &lib_api), serve_call_api(&rt, &bin_api));
    rt.block_on(async {
        let client = pg_connect(&url).await;
        site_table(&client, &lib_schema, ROWS).await;
        site_table(&client, &bin_schema, ROWS).await;
    });

    // The binary, as in tests/postgres.rs.
    let bin_config = dir.join("bin.yml");
    std::fs::write(
        &bin_config,
        config_yaml(&dir, &url, &bin_schema, &format!("http://{bin_addr}")),
    )
    .unwrap();
    let binary = |args: &[&str]| {
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&bin_config)
            .args(args)
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let bin_first = binary(&["--once"]);

    // The library, on its own table and API.
    let config = load(&config_yaml(
        &dir,
        &url,
        &lib_schema,
        &format!("http://{lib_addr}"),
    ));
    let first = rt.block_on(async {
        let mut sideloader = Sideloader::from_config(&config).await.unwrap();
        sideloader.once().await.unwrap()
    });
    assert_eq!(first.counters.delivered, u64::from(ROWS));
    assert_eq!(first.checkpoint.as_deref(), Some(ROWS.to_string().as_str()));
    assert_eq!(accepted_ids(&lib_api), (1..=ROWS).collect());
    assert_eq!(
        lib_api.lock().unwrap().posts,
        u64::from(ROWS),
        "a call was posted twice"
    );
    // The binary prints the library's summary.
    let expected = format!(
        "{ROWS} delivered, 0 already delivered, 0 skipped (none), 0 quarantined; checkpoint {ROWS}; calls in "
    );
    assert_eq!(first.to_string(), format!("{expected}http://{lib_addr}"));
    assert_eq!(
        bin_first.trim_end(),
        format!("pbx-sideloader: {expected}http://{bin_addr}")
    );

    // A second drain, by a new sideloader on the same checkpoint: nothing.
    let second = rt.block_on(async {
        let mut sideloader = Sideloader::from_config(&config).await.unwrap();
        sideloader.once().await.unwrap()
    });
    assert_eq!(
        second.counts(),
        "0 delivered, 0 already delivered, 0 skipped (none), 0 quarantined"
    );
    assert!(binary(&["--once"]).starts_with(&format!("pbx-sideloader: {}", second.counts())));
    assert_eq!(lib_api.lock().unwrap().posts, u64::from(ROWS));
    assert_eq!(bin_api.lock().unwrap().posts, u64::from(ROWS));

    rt.block_on(async {
        drop_schema(&url, &lib_schema).await;
        drop_schema(&url, &bin_schema).await;
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "needs PostgreSQL: PBX_TEST_PG_URL (scripts/test.sh runs it; scripts/pg.sh starts a private server)"]
fn run_stopped_during_delivery_saves_the_checkpoint_and_the_next_drain_resumes() {
    let url = pg_url();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = scratch("stop");
    let schema = format!("rt_stop_{}", std::process::id());
    let api: SharedCallApi = Arc::new(Mutex::new(CallApi {
        delay: Duration::from_millis(5),
        ..CallApi::default()
    }));
    let addr = serve_call_api(&rt, &api);
    rt.block_on(async { site_table(&pg_connect(&url).await, &schema, ROWS).await });
    let config = load(&config_yaml(&dir, &url, &schema, &format!("http://{addr}")));

    rt.block_on(async {
        let mut sideloader = Sideloader::from_config(&config).await.unwrap();
        let handle = sideloader.handle();
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let result = sideloader.run(shutdown).await;
            (sideloader, result)
        });
        // Stop once some calls are delivered, well before all are.
        while handle.status().engine.counters.delivered < 200 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.send(true).unwrap();
        let (_, result) = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("run returns after shutdown")
            .unwrap();
        result.unwrap();
        let delivered = handle.status().engine.counters.delivered;
        assert!(
            delivered < u64::from(ROWS),
            "stopped too late to test anything"
        );
        let saved: u32 = stored_checkpoint(&url, &schema, "cdr")
            .await
            .expect("a checkpoint was saved")
            .parse()
            .unwrap();
        // Delivery is in order: the checkpoint is past every call the API acknowledged.
        assert_eq!(u64::from(saved), delivered);
        assert_eq!(accepted_ids(&api), (1..=saved).collect());

        // The next drain delivers the rest, nothing twice.
        let mut again = Sideloader::from_config(&config).await.unwrap();
        let rest = again.once().await.unwrap();
        assert_eq!(rest.counters.delivered, u64::from(ROWS - saved));
        assert_eq!(accepted_ids(&api), (1..=ROWS).collect());
        assert_eq!(api.lock().unwrap().posts, u64::from(ROWS));
        drop_schema(&url, &schema).await;
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn problems_keep_the_binarys_message_and_exit_class() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = scratch("config");
    // The sink's directory is a file: runtime state, not configuration (exit 1, so systemd
    // restarts it; exit 2 is only for a configuration that cannot work).
    std::fs::write(dir.join("a-file"), "").unwrap();
    let yaml = include_str!("../config/embedded-default.yml")
        .replace(
            "examples/data/",
            concat!(env!("CARGO_MANIFEST_DIR"), "/data/"),
        )
        .replace(
            "file:out/calls.jsonl",
            &format!("file:{}/a-file/calls.jsonl", dir.display()),
        )
        .replace("out/", &format!("{}/", dir.display()));
    let err = rt
        .block_on(Sideloader::from_config(&load(&yaml)))
        .expect_err("the sink cannot be opened");
    assert!(!err.is_config(), "{err:?}");
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.to_string().starts_with(&format!(
            "cannot open the call file {}/a-file/calls.jsonl: ",
            dir.display()
        )),
        "{err}"
    );
    // The same line from the binary, with exit code 1.
    let path = dir.join("config.yml");
    std::fs::write(&path, &yaml).unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .arg("--once")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!("pbx-sideloader: {err}")
    );

    // The embedded default drains through the library with the binary's counts.
    let yaml = yaml.replace(
        &format!("file:{}/a-file/calls.jsonl", dir.display()),
        &format!("file:{}/calls.jsonl", dir.display()),
    );
    let summary = rt.block_on(async {
        let mut s = Sideloader::from_config(&load(&yaml)).await.unwrap();
        let first = s.once().await.unwrap();
        // A second drain of the same sideloader counts only its own work.
        let second = s.once().await.unwrap();
        assert_eq!(second.counters.received, 0);
        first
    });
    assert_eq!(
        summary.counts(),
        "47 delivered, 0 already delivered, 18 skipped (internal 9, missed_unrouted 6, no_owner_email 3), 0 quarantined"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
