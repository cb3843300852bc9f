//! The Docker backend against a real dockerd (Debian `docker.io`, started by scripts/test.sh),
//! with images built from busybox and loaded through the backend. Every test uses unique
//! names and removes what it made, also when it fails.

mod common;

use std::time::Duration;

use common::{Cleanup, byte_stream, images, unique};
use dockhand::backend::docker::Endpoint;
use dockhand::backend::*;
use dockhand::model::*;
use futures::StreamExt;

const SOCKET: &str = "unix:///var/run/docker.sock";

fn docker() -> AnyBackend {
    AnyBackend::Docker(DockerBackend::new(Endpoint {
        url: SOCKET.into(),
        tls: None,
    }))
}

/// Loads the three-layer busybox image under a unique tag; removed with `cleanup`.
async fn busybox(b: &AnyBackend, cleanup: &mut Cleanup) -> String {
    let tag = format!("{}:latest", unique("busybox"));
    cleanup.images.push(tag.clone());
    let loaded = b
        .load_images(byte_stream(images::busybox_archive(&tag)))
        .await
        .unwrap_or_else(|e| panic!("loading the test image into dockerd at {SOCKET}: {e} (scripts/test.sh starts dockerd)"));
    assert_eq!(loaded, vec![format!("Loaded image: {tag}")]);
    tag
}

fn spec(image: &str, name: &str, cmd: &[&str]) -> ContainerSpec {
    ContainerSpec {
        image: image.into(),
        name: Some(name.into()),
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        ..ContainerSpec::default()
    }
}

async fn all_logs(b: &AnyBackend, id: &str, options: LogOptions) -> Vec<LogLine> {
    let stream = b.container_logs(id, options).await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(20),
        stream.map(|l| l.unwrap()).collect(),
    )
    .await
    .expect("logs did not end")
}

#[tokio::test]
async fn info_names_the_daemon_and_the_negotiated_api() {
    let b = docker();
    b.ping().await.unwrap();
    let info = b.info().await.unwrap();
    assert_eq!(info.backend, "docker");
    assert_eq!(info.endpoint, SOCKET);
    assert!(!info.server_version.is_empty());
    let api = info.api_version.unwrap();
    assert!(api.starts_with("1."), "{api}");
}

#[tokio::test]
async fn an_unreachable_socket_is_reported_as_unavailable() {
    let b = AnyBackend::Docker(DockerBackend::new(Endpoint {
        url: "unix:///nonexistent/dockhand-test.sock".into(),
        tls: None,
    }));
    let err = b.list_containers(true).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("/nonexistent/dockhand-test.sock") && text.contains("daemon running"),
        "{text}"
    );
}

#[tokio::test]
async fn a_loaded_image_has_its_layers_whiteouts_and_opaque_dirs() {
    let b = docker();
    let mut cleanup = Cleanup::new(&b);
    let image = busybox(&b, &mut cleanup).await;
    let details = b.inspect_image(&image).await.unwrap();
    assert_eq!(details.layers.len(), 3);
    assert_eq!(details.cmd, ["sh"]);
    assert_eq!(b.image_history(&image).await.unwrap().len(), 3);
    assert!(
        b.list_images(false)
            .await
            .unwrap()
            .iter()
            .any(|i| i.repo_tags.contains(&image))
    );

    let name = unique("layers");
    cleanup.containers.push(name.clone());
    let id = b
        .create_container(spec(
            &image,
            &name,
            &["sh", "-c", "ls /data; echo --; ls /opaque; cat /etc/motd"],
        ))
        .await
        .unwrap();
    b.start_container(&id).await.unwrap();
    assert_eq!(b.wait_container(&id).await.unwrap(), 0);
    let text: Vec<String> = all_logs(&b, &id, LogOptions::default())
        .await
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(
        text,
        [
            "keep.txt",
            "new.txt",
            "--",
            "fresh.txt",
            "built by the dockhand tests"
        ],
        "the whiteout removes gone.txt and the opaque dir hides old.txt"
    );
}

#[tokio::test]
async fn the_container_lifecycle_follows_docker() {
    let b = docker();
    let mut cleanup = Cleanup::new(&b);
    let image = busybox(&b, &mut cleanup).await;
    let name = unique("life");
    cleanup.containers.push(name.clone());
    // PID 1 ignores signals it has no handler for; this one exits 3 on SIGTERM.
    let mut s = spec(
        &image,
        &name,
        &[
            "sh",
            "-c",
            "trap 'exit 3' TERM; while :; do sleep 0.2; done",
        ],
    );
    s.env = vec!["GREETING=hello".into()];
    s.labels.insert("org.dockhand.test".into(), "life".into());
    let id = b.create_container(s).await.unwrap();
    assert_eq!(id.len(), 64);

    let find = |list: Vec<ContainerSummary>| list.into_iter().find(|c| c.name == name);
    let row = find(b.list_containers(true).await.unwrap()).unwrap();
    assert_eq!(
        (row.state, row.status_text(dockhand::util::time::unix_now())),
        (ContainerState::Created, "Created".into())
    );
    assert!(
        find(b.list_containers(false).await.unwrap()).is_none(),
        "ps without -a hides created containers"
    );

    b.start_container(&name).await.unwrap();
    b.start_container(&name).await.unwrap(); // already started: no error, as docker
    let details = b.inspect_container(&id[..12]).await.unwrap();
    assert_eq!(details.summary.state, ContainerState::Running);
    assert!(details.env.contains(&"GREETING=hello".to_string()));
    assert!(details.pid.is_some());
    assert!(details.inspect["State"]["Running"].as_bool().unwrap());
    let row = find(b.list_containers(false).await.unwrap()).unwrap();
    assert!(
        row.status_text(dockhand::util::time::unix_now())
            .starts_with("Up "),
        "{row:?}"
    );

    // Right after start, the process may still be runc's init before it execs the command.
    let mut top = b.top_container(&name).await.unwrap();
    for _ in 0..50 {
        if top.processes.iter().any(|p| p.join(" ").contains("trap")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        top = b.top_container(&name).await.unwrap();
    }
    assert!(
        top.processes.iter().any(|p| p.join(" ").contains("trap")),
        "{top:?}"
    );

    b.pause_container(&name).await.unwrap();
    assert_eq!(
        b.inspect_container(&name).await.unwrap().summary.state,
        ContainerState::Paused
    );
    let err = b.pause_container(&name).await.unwrap_err();
    assert!(matches!(err, BackendError::Conflict { .. }), "{err}");
    b.unpause_container(&name).await.unwrap();

    let err = b
        .remove_container(&name, RemoveOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, BackendError::Conflict { .. }),
        "removing a running container: {err}"
    );

    b.kill_container(&name, Some("TERM")).await.unwrap();
    assert_eq!(b.wait_container(&name).await.unwrap(), 3);
    b.restart_container(&name, Some(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(
        b.inspect_container(&name).await.unwrap().summary.state,
        ContainerState::Running
    );
    b.stop_container(&name, Some(Duration::from_secs(5)))
        .await
        .unwrap();
    let stopped = b.inspect_container(&name).await.unwrap().summary;
    assert_eq!(stopped.state, ContainerState::Exited);
    assert_eq!(stopped.exit_code, Some(3), "stop sends SIGTERM first");

    let renamed = unique("renamed");
    cleanup.containers.push(renamed.clone());
    b.rename_container(&name, &renamed).await.unwrap();
    assert!(matches!(
        b.inspect_container(&name).await,
        Err(BackendError::NotFound { .. })
    ));
    b.remove_container(&renamed, RemoveOptions::default())
        .await
        .unwrap();
    let err = b.inspect_container(&renamed).await.unwrap_err();
    assert_eq!(err.to_string(), format!("no such container: {renamed}"));
}

#[tokio::test]
async fn bad_requests_are_refused_with_meaningful_errors() {
    let b = docker();
    let mut cleanup = Cleanup::new(&b);
    let image = busybox(&b, &mut cleanup).await;
    let err = b
        .create_container(spec("dh-test-no-such-image:1", &unique("x"), &["true"]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            BackendError::NotFound {
                kind: ObjectKind::Image,
                ..
            }
        ),
        "{err}"
    );
    let name = unique("dup");
    cleanup.containers.push(name.clone());
    b.create_container(spec(&image, &name, &["true"]))
        .await
        .unwrap();
    let err = b
        .create_container(spec(&image, &name, &["true"]))
        .await
        .unwrap_err();
    assert!(matches!(err, BackendError::Conflict { .. }), "{err}");
    let err = b.kill_container(&name, None).await.unwrap_err();
    assert!(
        matches!(err, BackendError::Conflict { .. }),
        "killing a stopped container: {err}"
    );
    let err = b.remove_image(&image, false).await.unwrap_err();
    assert!(
        matches!(err, BackendError::Conflict { .. }),
        "removing an image in use: {err}"
    );
}

#[tokio::test]
async fn logs_keep_stdout_and_stderr_apart_and_follow() {
    let b = docker();
    let mut cleanup = Cleanup::new(&b);
    let image = busybox(&b, &mut cleanup).await;
    let name = unique("logs");
    cleanup.containers.push(name.clone());
    let id = b
        .create_container(spec(
            &image,
            &name,
            &["sh", "-c", "echo out; echo err >&2; sleep 1; echo later"],
        ))
        .await
        .unwrap();
    b.start_container(&id).await.unwrap();
    // Following from the start sees the line written after a second, then the end.
    let follow = LogOptions {
        follow: true,
        ..LogOptions::default()
    };
    let lines = all_logs(&b, &id, follow).await;
    let got: Vec<(LogStream, &str)> = lines.iter().map(|l| (l.stream, l.text.as_str())).collect();
    assert!(got.contains(&(LogStream::Stdout, "out")), "{got:?}");
    assert!(got.contains(&(LogStream::Stderr, "err")), "{got:?}");
    assert_eq!(got.last(), Some(&(LogStream::Stdout, "later")));
    assert!(
        lines
            .windows(2)
            .all(|w| w[0].timestamp_ns <= w[1].timestamp_ns)
    );
    let tail = LogOptions {
        tail: Some(1),
        ..LogOptions::default()
    };
    let last: Vec<String> = all_logs(&b, &id, tail)
        .await
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert_eq!(last, ["later"]);
}

#[tokio::test]
async fn stats_stream_while_running_and_not_after() {
    let b = docker();
    let mut cleanup = Cleanup::new(&b);
    let image = busybox(&b, &mut cleanup).await;
    let name = unique("stats");
    cleanup.containers.push(name.clone());
    let mut s = spec(&image, &name, &["sleep", "300"]);
    s.resources.memory = Some(64 * 1024 * 1024);
    s.resources.nano_cpus = Some(500_000_000);
    let id = b.create_container(s).await.unwrap();
    b.start_container(&id).await.unwrap();
    let mut stream = b.container_stats(&id).await.unwrap();
    let sample = tokio::time::timeout(Duration::from_secs(20), stream.next())
        .await
        .expect("no stats sample")
        .unwrap()
        .unwrap();
    assert!(sample.memory_usage > 0, "{sample:?}");
    assert_eq!(sample.memory_limit, 64 * 1024 * 1024);
    assert!(sample.pids >= 1);
    // What the charts measure CPU against: the container's limit, the host's cores.
    assert_eq!(sample.cpu_limit, Some(0.5), "{sample:?}");
    assert!(sample.host_cpus >= 1, "{sample:?}");
    assert_eq!(
        sample.cpus_available(),
        0.5f64.min(f64::from(sample.host_cpus))
    );
    b.kill_container(&id, None).await.unwrap();
    let mut stopped = b.container_stats(&id).await.unwrap();
    assert!(
        stopped.next().await.is_none(),
        "a stopped container has no stats"
    );
}

#[tokio::test]
async fn events_report_what_happens() {
    let b = docker();
    let mut cleanup = Cleanup::new(&b);
    let image = busybox(&b, &mut cleanup).await;
    let mut events = b.events().await.unwrap();
    let name = unique("events");
    cleanup.containers.push(name.clone());
    let id = b
        .create_container(spec(&image, &name, &["true"]))
        .await
        .unwrap();
    b.start_container(&id).await.unwrap();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !seen.contains(&"die".to_string()) {
        let event = tokio::time::timeout_at(deadline, events.next())
            .await
            .expect("events did not arrive")
            .unwrap()
            .unwrap();
        if event.id == id {
            assert_eq!(event.kind, ObjectKind::Container);
            assert_eq!(event.name.as_deref(), Some(name.as_str()));
            seen.push(event.action);
        }
    }
    assert_eq!(seen[..2], ["create", "start"]);
}

#[tokio::test]
async fn volumes_and_networks_can_be_made_used_and_removed() {
    let b = docker();
    let mut cleanup = Cleanup::new(&b);
    let image = busybox(&b, &mut cleanup).await;
    let volume = unique("vol");
    cleanup.volumes.push(volume.clone());
    let v = b
        .create_volume(VolumeSpec {
            name: Some(volume.clone()),
            ..VolumeSpec::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (v.name.as_str(), v.driver.as_str()),
        (volume.as_str(), "local")
    );

    let network = unique("net");
    cleanup.networks.push(network.clone());
    let subnet = common::unused_subnet();
    b.create_network(NetworkSpec {
        name: network.clone(),
        subnet: Some(subnet.clone()),
        ..NetworkSpec::default()
    })
    .await
    .unwrap();
    let n = b.inspect_network(&network).await.unwrap();
    assert_eq!(n.subnet.as_deref(), Some(subnet.as_str()));

    let name = unique("user");
    cleanup.containers.push(name.clone());
    let mut s = spec(&image, &name, &["sleep", "300"]);
    s.mounts = vec![Mount::new(MountKind::Volume, &volume, "/data", false)];
    s.network = Some(network.clone());
    let id = b.create_container(s).await.unwrap();
    b.start_container(&id).await.unwrap();

    let listed = b
        .list_volumes()
        .await
        .unwrap()
        .into_iter()
        .find(|v| v.name == volume)
        .unwrap();
    assert_eq!(listed.used_by, std::slice::from_ref(&name));
    let err = b.remove_volume(&volume, false).await.unwrap_err();
    assert!(matches!(err, BackendError::Conflict { .. }), "{err}");
    let nets = b.list_networks().await.unwrap();
    let net = nets.iter().find(|n| n.name == network).unwrap();
    assert_eq!(net.containers, std::slice::from_ref(&name));
    assert_eq!(
        b.inspect_network(&network).await.unwrap().containers,
        std::slice::from_ref(&name)
    );
    let err = b.remove_network(&network).await.unwrap_err();
    assert!(matches!(err, BackendError::Conflict { .. }), "{err}");

    b.disconnect_network(&network, &name, true).await.unwrap();
    assert!(
        b.inspect_network(&network)
            .await
            .unwrap()
            .containers
            .is_empty()
    );
    b.connect_network(&network, &name, ConnectOptions::default())
        .await
        .unwrap();
    b.remove_container(
        &name,
        RemoveOptions {
            force: true,
            volumes: false,
        },
    )
    .await
    .unwrap();
    b.remove_network(&network).await.unwrap();
    b.remove_volume(&volume, false).await.unwrap();
    assert!(matches!(
        b.inspect_volume(&volume).await,
        Err(BackendError::NotFound {
            kind: ObjectKind::Volume,
            ..
        })
    ));
}

#[tokio::test]
async fn images_tag_save_import_and_remove() {
    let b = docker();
    let mut cleanup = Cleanup::new(&b);
    let image = busybox(&b, &mut cleanup).await;
    let tag = format!("{}:v2", unique("tagged"));
    cleanup.images.push(tag.clone());
    b.tag_image(&image, &tag).await.unwrap();
    let a = b.inspect_image(&image).await.unwrap().summary.id;
    assert_eq!(b.inspect_image(&tag).await.unwrap().summary.id, a);

    let archive = collect_bytes(b.save_images(std::slice::from_ref(&tag)).await.unwrap())
        .await
        .unwrap();
    let mut names = Vec::new();
    for entry in tar::Archive::new(archive.as_slice()).entries().unwrap() {
        names.push(entry.unwrap().path().unwrap().display().to_string());
    }
    assert!(names.contains(&"manifest.json".to_string()), "{names:?}");
    assert_eq!(
        b.remove_image(&tag, false).await.unwrap(),
        [format!("Untagged: {tag}")]
    );
    // Loading the saved archive brings the tag back.
    let loaded = b.load_images(byte_stream(archive)).await.unwrap();
    assert_eq!(loaded, [format!("Loaded image: {tag}")]);

    let imported = format!("{}:latest", unique("imported"));
    cleanup.images.push(imported.clone());
    let changes = vec![
        "CMD [\"echo\", \"imported\"]".to_string(),
        "ENV STAGE=test".to_string(),
    ];
    let id = b
        .import_image(
            byte_stream(images::busybox_rootfs()),
            Some(&imported),
            &changes,
        )
        .await
        .unwrap();
    let details = b.inspect_image(&imported).await.unwrap();
    assert_eq!(details.summary.id, id);
    assert_eq!(details.cmd, ["echo", "imported"]);
    assert!(details.env.contains(&"STAGE=test".to_string()));
    let err = b
        .import_image(
            byte_stream(images::busybox_rootfs()),
            None,
            &["RUN make".into()],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("accepted: CMD"), "{err}");

    let err = b
        .load_images(byte_stream(b"not an archive".to_vec()))
        .await
        .unwrap_err();
    assert!(matches!(err, BackendError::InvalidInput { .. }), "{err}");
}

#[tokio::test]
async fn pulling_from_a_registry_that_does_not_answer_fails_clearly() {
    let b = docker();
    let result = match b.pull_image("127.0.0.1:9/dockhand/nothing:1").await {
        Err(e) => Err(e),
        Ok(stream) => stream
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .find_map(|r| r.err())
            .map_or(Ok(()), Err),
    };
    let err = result.unwrap_err();
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
}

/// Push through dockerd to a registry on loopback (dockerd allows plain HTTP there), and disk
/// usage counting the image.
#[tokio::test]
async fn push_goes_through_the_daemon_and_disk_usage_counts_images() {
    let registry = common::registry::Registry::start(None);
    let b = docker();
    let mut cleanup = Cleanup::new(&b);
    let tag = busybox(&b, &mut cleanup).await;
    let target = format!("{}/{}", registry.host, unique("pushed"));
    let target_tag = format!("{target}:v1");
    b.tag_image(&tag, &target_tag).await.unwrap();
    cleanup.images.push(target_tag.clone());
    let progress: Vec<PushProgress> = b
        .push_image(&target_tag)
        .await
        .unwrap()
        .map(|p| p.unwrap())
        .collect()
        .await;
    assert!(
        progress
            .iter()
            .any(|p| p.status.contains("digest: sha256:")),
        "{progress:?}"
    );
    let name = target.split_once('/').unwrap().1;
    assert!(
        registry
            .digest(&format!("{name}:v1"))
            .starts_with("sha256:")
    );

    let usage = b.disk_usage().await.unwrap();
    assert!(usage.images.total >= 1);
    assert!(usage.images.size > 0);
    assert!(usage.images.reclaimable <= usage.images.size);
}

#[tokio::test]
async fn diff_and_export_read_the_containers_filesystem() {
    let b = docker();
    let mut cleanup = Cleanup::new(&b);
    let image = busybox(&b, &mut cleanup).await;
    let name = unique("diff");
    cleanup.containers.push(name.clone());
    let script = "echo mine > /data/new-file; rm /data/keep.txt";
    b.create_container(spec(&image, &name, &["sh", "-c", script]))
        .await
        .unwrap();
    b.start_container(&name).await.unwrap();
    assert_eq!(b.wait_container(&name).await.unwrap(), 0);
    let changes = b.container_changes(&name).await.unwrap();
    let seen: Vec<(char, &str)> = changes
        .iter()
        .map(|c| (c.kind.letter(), c.path.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ('C', "/data"),
            ('D', "/data/keep.txt"),
            ('A', "/data/new-file")
        ]
    );
    let tar = collect_bytes(b.export_container(&name).await.unwrap())
        .await
        .unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    let paths: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(paths.iter().any(|p| p == "data/new-file"), "{paths:?}");
    assert!(!paths.iter().any(|p| p == "data/keep.txt"));
    assert!(matches!(
        b.export_container("no-such-container").await,
        Err(BackendError::NotFound { .. })
    ));
}
