//! Behaviour of the demo backend: it must change state the way Docker does.

use futures::StreamExt;

use super::*;
use crate::backend::prelude::*;

const NOW: i64 = 1_750_000_000;

fn backend() -> FakeBackend {
    FakeBackend::with_clock(Clock::Fixed(NOW))
}

#[tokio::test]
async fn lists_and_resolves_by_name_id_and_prefix() {
    let b = backend();
    let all = b.list_containers(true).await.unwrap();
    let running = b.list_containers(false).await.unwrap();
    assert!(all.len() > running.len());
    assert!(running.iter().all(|c| c.state != ContainerState::Exited));
    let web = all.iter().find(|c| c.name == "web").unwrap();
    for r in [web.id.as_str(), "web", "/web", &web.id[..8]] {
        assert_eq!(b.inspect_container(r).await.unwrap().summary.id, web.id);
    }
    let err = b.inspect_container("nope").await.unwrap_err();
    assert_eq!(err.to_string(), "no such container: nope");
}

#[tokio::test]
async fn lifecycle_changes_state_and_emits_events() {
    let b = backend();
    let mut events = b.events().await.unwrap();
    b.stop_container("web", None).await.unwrap();
    let web = b.inspect_container("web").await.unwrap().summary;
    assert_eq!(web.state, ContainerState::Exited);
    assert_eq!(web.status_text(NOW + 60), "Exited (0) About a minute ago");
    let ev = events.next().await.unwrap().unwrap();
    assert_eq!(
        (ev.action.as_str(), ev.name.as_deref()),
        ("die", Some("web"))
    );

    b.start_container("web").await.unwrap();
    b.pause_container("web").await.unwrap();
    let err = b.pause_container("web").await.unwrap_err();
    assert!(matches!(err, BackendError::Conflict { .. }), "{err}");
    b.unpause_container("web").await.unwrap();
    b.kill_container("web", Some("TERM")).await.unwrap();
    assert_eq!(b.wait_container("web").await.unwrap(), 143);
}

#[tokio::test]
async fn removing_a_running_container_needs_force() {
    let b = backend();
    let err = b
        .remove_container("db", RemoveOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("stop it first"), "{err}");
    assert!(b.inspect_container("db").await.is_ok());
    b.remove_container(
        "db",
        RemoveOptions {
            force: true,
            volumes: false,
        },
    )
    .await
    .unwrap();
    assert!(b.inspect_container("db").await.is_err());
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let b = backend();
    let before = b.list_containers(true).await.unwrap();
    let spec = ContainerSpec {
        image: "nginx:1.27-alpine".into(),
        name: Some("web".into()),
        ..ContainerSpec::default()
    };
    assert!(matches!(
        b.create_container(spec).await,
        Err(BackendError::Conflict { .. })
    ));
    let spec = ContainerSpec {
        image: "nosuch:image".into(),
        ..ContainerSpec::default()
    };
    assert!(matches!(
        b.create_container(spec).await,
        Err(BackendError::NotFound { .. })
    ));
    assert!(b.rename_container("web", "bad name!").await.is_err());
    assert!(b.kill_container("web", Some("SIGNOPE")).await.is_err());
    assert_eq!(b.list_containers(true).await.unwrap(), before);
}

#[tokio::test]
async fn images_in_use_are_protected_and_tags_untag_first() {
    let b = backend();
    let err = b
        .remove_image("nginx:1.27-alpine", false)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("used by container web"), "{err}");
    b.tag_image("busybox:1.36", "localhost:5000/tools:v1")
        .await
        .unwrap();
    let report = b
        .remove_image("localhost:5000/tools:v1", false)
        .await
        .unwrap();
    assert_eq!(report, vec!["Untagged: localhost:5000/tools:v1"]);
    assert!(b.tag_image("busybox:1.36", "Bad/Name").await.is_err());
    let pruned = b.prune_images(false).await.unwrap();
    assert_eq!(pruned.deleted.len(), 1, "only the dangling image goes");
}

#[tokio::test]
async fn pull_reports_progress_then_stores_the_image() {
    let b = backend();
    let steps: Vec<PullProgress> = b
        .pull_image("hello-world")
        .await
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert!(matches!(
        steps.last().unwrap().status,
        PullStatus::Done { .. }
    ));
    assert!(
        steps
            .iter()
            .any(|s| matches!(s.status, PullStatus::Downloading { .. }))
    );
    assert!(b.inspect_image("hello-world:latest").await.is_ok());
    assert!(b.pull_image("nosuch/thing").await.is_err());
}

#[tokio::test]
async fn logs_honour_tail_and_keep_streams_apart() {
    let b = backend();
    let lines: Vec<LogLine> = b
        .container_logs(
            "api",
            LogOptions {
                tail: Some(50),
                ..LogOptions::default()
            },
        )
        .await
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(lines.len(), 50);
    assert!(
        lines
            .windows(2)
            .all(|w| w[0].timestamp_ns < w[1].timestamp_ns)
    );
    assert!(lines.iter().any(|l| l.stream == LogStream::Stdout));
    let created: Vec<_> = b
        .container_logs("proxy", LogOptions::default())
        .await
        .unwrap()
        .collect()
        .await;
    assert!(created.is_empty(), "a never-started container has no logs");
}

#[tokio::test]
async fn volumes_and_networks_in_use_cannot_be_removed() {
    let b = backend();
    assert!(b.remove_volume("pgdata", false).await.is_err());
    b.remove_volume("old-backups", false).await.unwrap();
    assert!(b.remove_network("app-net").await.is_err());
    assert!(b.remove_network("bridge").await.is_err());
    let id = b
        .create_network(NetworkSpec {
            name: "test-net".into(),
            ..NetworkSpec::default()
        })
        .await
        .unwrap();
    b.connect_network("test-net", "web", ConnectOptions::default())
        .await
        .unwrap();
    assert!(b.remove_network(&id).await.is_err());
    b.disconnect_network("test-net", "web", false)
        .await
        .unwrap();
    b.remove_network(&id).await.unwrap();
}

#[tokio::test]
async fn stats_stream_ends_for_stopped_containers() {
    let b = backend();
    let sample = b
        .container_stats("api")
        .await
        .unwrap()
        .next()
        .await
        .unwrap()
        .unwrap();
    assert!(sample.memory_usage > 0 && sample.memory_limit == 512 * 1024 * 1024);
    assert!(
        b.container_stats("worker")
            .await
            .unwrap()
            .next()
            .await
            .is_none()
    );
}
