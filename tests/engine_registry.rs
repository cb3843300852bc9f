//! Pull and push against a real registry on loopback (Debian `docker-registry`, filled by
//! skopeo), anonymous and behind htpasswd, with gzip and zstd layers.

mod common;

use std::sync::Mutex;

use common::images;
use common::registry::Registry;
use dockhand::engine::image::ImageStore;
use dockhand::engine::image::archive::load;
use dockhand::engine::layer::{Driver, Snapshotter};
use dockhand::engine::registry::{
    Credential, CredentialStore, RegistryError, RegistrySettings, pull::pull, push::push,
};
use dockhand::engine::store::Root;
use dockhand::model::Reference;
use dockhand::model::{PullProgress, PullStatus};
use dockhand::util::registry_login::{LoginError, login};

struct Env {
    dir: tempfile::TempDir,
    store: ImageStore,
    settings: RegistrySettings,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let root = Root::open(dir.path().join("root")).unwrap();
    let settings = RegistrySettings {
        insecure: Vec::new(),
        credentials: CredentialStore {
            own: dir.path().join("auth.json"),
            docker: None,
        },
        parallel: 3,
    };
    Env {
        store: ImageStore::new(&root),
        dir,
        settings,
    }
}

async fn pull_with_events(
    env: &Env,
    reference: &str,
) -> (
    Result<dockhand::engine::store::Digest, RegistryError>,
    Vec<PullProgress>,
) {
    let events = Mutex::new(Vec::new());
    let r = Reference::parse(reference).unwrap();
    let result = pull(&env.store, &r, &env.settings, &|p| {
        events.lock().unwrap().push(p)
    })
    .await;
    (result, events.into_inner().unwrap())
}

/// The id a `docker save` archive's image has, from loading it into a scratch store.
fn archive_id(archive: &[u8]) -> dockhand::engine::store::Digest {
    let e = env();
    load(&e.store, archive).unwrap()[0].id.clone()
}

fn assert_view(env: &Env, id: &dockhand::engine::store::Digest) {
    let snapshots = Snapshotter::new(env.store.layers(), Driver::Overlay);
    let ctr = env.dir.path().join("ctr");
    let chain = env.store.image(id).unwrap().record.chain();
    let rootfs = snapshots.prepare(&chain, &ctr).unwrap();
    let motd = std::fs::read_to_string(rootfs.join("etc/motd"));
    let gone = rootfs.join("data/gone.txt").exists();
    snapshots.remove(&ctr).unwrap();
    assert_eq!(motd.unwrap(), "built by the dockhand tests\n");
    assert!(!gone);
}

#[tokio::test]
async fn pulls_gzip_and_zstd_images_and_reuses_what_it_has() {
    let registry = Registry::start(None);
    let archive = images::busybox_archive("busybox:gz");
    registry.push_archive(&archive, "busybox:gz", &[]);
    let layout = tempfile::tempdir().unwrap();
    images::busybox_oci_layout_zstd(layout.path(), "busybox:zst");
    registry.skopeo_copy(
        &format!("oci:{}:zst", layout.path().display()),
        "busybox:zst",
        &[],
    );
    let env = env();

    let reference = format!("{}/busybox:gz", registry.host);
    let (result, events) = pull_with_events(&env, &reference).await;
    let id = result.unwrap();
    assert_eq!(
        id,
        archive_id(&archive),
        "the same image as loading the archive"
    );
    assert_eq!(env.store.resolve(&reference).unwrap(), id);
    let record = env.store.record(&id).unwrap();
    assert_eq!(
        record.repo_digests,
        [format!(
            "{}/busybox@{}",
            registry.host,
            registry.digest("busybox:gz")
        )]
    );
    assert!(events.iter().any(|e| e.status == PullStatus::Complete));
    assert!(matches!(
        events.last().unwrap().status,
        PullStatus::Done { .. }
    ));
    assert_view(&env, &id);

    // Pulling again finds every layer there.
    let (again, events) = pull_with_events(&env, &reference).await;
    assert_eq!(again.unwrap(), id);
    let already = events
        .iter()
        .filter(|e| e.status == PullStatus::AlreadyExists)
        .count();
    assert_eq!(already, 3, "{events:?}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.status, PullStatus::Downloading { .. }))
    );

    // zstd layers in an OCI manifest: different blobs, the same unpacked layers.
    let zref = format!("{}/busybox:zst", registry.host);
    let zid = pull_with_events(&env, &zref).await.0.unwrap();
    let zrecord = env.store.record(&zid).unwrap();
    assert!(
        zrecord
            .layers
            .iter()
            .all(|l| l.media_type.ends_with("+zstd")),
        "{zrecord:?}"
    );
    assert_eq!(env.store.layers().list().unwrap().len(), 3, "layers shared");
    assert_view(&env, &zid);
}

#[tokio::test]
async fn a_pushed_image_comes_back_the_same_through_skopeo_and_pull() {
    let registry = Registry::start(None);
    let env = env();
    let archive = images::busybox_archive("busybox:local");
    let id = load(&env.store, &archive[..]).unwrap()[0].id.clone();
    let target = Reference::parse(&format!("{}/team/app:1.0", registry.host)).unwrap();
    let seen = Mutex::new(Vec::new());
    let digest = push(
        &env.store,
        "busybox:local",
        &target,
        &env.settings,
        &|id, what| seen.lock().unwrap().push(format!("{id}: {what}")),
    )
    .await
    .unwrap();
    assert_eq!(registry.digest("team/app:1.0"), digest.to_string());
    assert_eq!(
        seen.lock()
            .unwrap()
            .iter()
            .filter(|s| s.ends_with("Pushed"))
            .count(),
        4
    );
    let record = env.store.record(&id).unwrap();
    assert!(
        record
            .repo_digests
            .contains(&format!("{}/team/app@{digest}", registry.host))
    );

    // skopeo reads it back as a docker archive that loads to the same image.
    let back = tempfile::NamedTempFile::new().unwrap();
    std::fs::remove_file(back.path()).unwrap();
    registry.pull_archive("team/app:1.0", back.path());
    let other = self::env();
    let loaded = load(&other.store, std::fs::File::open(back.path()).unwrap()).unwrap();
    assert_eq!(loaded[0].id, id);

    // And a fresh store pulls it to the same id; a second push finds every blob there.
    let fresh = self::env();
    assert_eq!(
        pull_with_events(&fresh, &target.full()).await.0.unwrap(),
        id
    );
    seen.lock().unwrap().clear();
    push(
        &env.store,
        &id.to_string(),
        &target,
        &env.settings,
        &|id, what| seen.lock().unwrap().push(format!("{id}: {what}")),
    )
    .await
    .unwrap();
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|s| s.ends_with("Layer already exists"))
    );
}

#[tokio::test]
async fn a_registry_behind_htpasswd_needs_login() {
    let registry = Registry::start(Some(("tester", "s3cret")));
    registry.push_archive(
        &images::busybox_archive("busybox:auth"),
        "busybox:auth",
        &[],
    );
    let env = env();
    let reference = format!("{}/busybox:auth", registry.host);

    let err = pull_with_events(&env, &reference).await.0.unwrap_err();
    assert!(matches!(err, RegistryError::Denied { .. }), "{err}");
    assert!(err.to_string().contains("dockhand login"), "{err}");
    assert!(env.store.records().unwrap().is_empty());

    let wrong = Credential {
        username: "tester".into(),
        password: "wrong".into(),
    };
    let err = login(&registry.host, &wrong, true, &env.settings.credentials)
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::Denied(_)), "{err}");
    assert!(
        env.settings
            .credentials
            .get(&registry.host)
            .unwrap()
            .is_none(),
        "not stored"
    );

    let right = Credential {
        username: "tester".into(),
        password: "s3cret".into(),
    };
    login(&registry.host, &right, true, &env.settings.credentials)
        .await
        .unwrap();
    assert_eq!(
        env.settings.credentials.get(&registry.host).unwrap(),
        Some(right)
    );
    let id = pull_with_events(&env, &reference).await.0.unwrap();
    let target = Reference::parse(&format!("{}/pushed:auth", registry.host)).unwrap();
    push(
        &env.store,
        &id.to_string(),
        &target,
        &env.settings,
        &|_, _| {},
    )
    .await
    .unwrap();
    assert!(registry.digest("pushed:auth").starts_with("sha256:"));
}

#[tokio::test]
async fn missing_images_and_unreachable_registries_are_named() {
    let registry = Registry::start(None);
    let env = env();
    let err = pull_with_events(&env, &format!("{}/nothing:here", registry.host))
        .await
        .0
        .unwrap_err();
    assert!(matches!(err, RegistryError::NotFound(_)), "{err}");
    assert!(err.to_string().contains("nothing:here"), "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = pull_with_events(&env, &format!("127.0.0.1:{port}/busybox"))
        .await
        .0
        .unwrap_err();
    assert!(matches!(err, RegistryError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
    assert!(env.store.records().unwrap().is_empty());
    assert!(env.store.blobs().list().unwrap().is_empty());
}

#[tokio::test]
async fn a_manifest_list_resolves_to_this_platform() {
    let registry = Registry::start(None);
    let layout = tempfile::tempdir().unwrap();
    images::busybox_multiarch_layout(layout.path(), "busybox:multi");
    registry.skopeo_copy(
        &format!("oci:{}:multi", layout.path().display()),
        "busybox:multi",
        &["--all"],
    );
    let env = env();
    let reference = format!("{}/busybox:multi", registry.host);
    let id = pull_with_events(&env, &reference).await.0.unwrap();
    let image = env.store.image(&id).unwrap();
    let labels = image
        .config
        .config()
        .as_ref()
        .and_then(|c| c.labels().clone())
        .unwrap();
    assert_eq!(labels["org.dockhand.test.tag"], "busybox:multi-amd64");
    // The name records the list's digest, as `docker images --digests` shows it.
    assert_eq!(
        image.record.repo_digests,
        [format!(
            "{}/busybox@{}",
            registry.host,
            registry.digest("busybox:multi")
        )]
    );
    assert_view(&env, &id);
}
