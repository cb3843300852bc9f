//! Images made on the embedded engine, as root, through the binary on a temporary data root:
//! `build` of a multi-stage Dockerfile over the busybox test image (build arguments, ENV,
//! WORKDIR, USER, CMD, EXPOSE, heredocs, COPY from the context with .dockerignore and from
//! another stage), the cache hitting on a rebuild and missing after a copied file changed,
//! `--target`, errors naming the Dockerfile line that leave no image; `commit` with `-c`,
//! whose layer `diff` and `history` agree with, saved and loaded by docker.

mod common;

use common::engine::Engine;

fn context(e: &Engine, dockerfile: &str) -> std::path::PathBuf {
    let dir = e.dir.path().join("ctx");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::create_dir_all(dir.join("skip")).unwrap();
    std::fs::write(dir.join("src/a.txt"), "hello file\n").unwrap();
    std::fs::write(dir.join("skip/x"), "left out\n").unwrap();
    std::fs::write(dir.join("x.log"), "left out\n").unwrap();
    std::fs::write(dir.join(".dockerignore"), "skip\n*.log\n").unwrap();
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    dir
}

/// `build --progress plain` of the test context with the usual arguments; its output.
fn build_app(e: &Engine, tag: &str, base_arg: &str, ctx: &str) -> std::process::Output {
    e.run(&[
        "build",
        "-t",
        tag,
        "--build-arg",
        base_arg,
        "--build-arg",
        "GREETING=hello",
        "--progress",
        "plain",
        ctx,
    ])
}

const MULTI: &str = r#"# syntax=docker/dockerfile:1
ARG BASE
FROM ${BASE} AS build
ARG GREETING=hi
ENV APP=/app
WORKDIR $APP
COPY src/ ./
COPY . /all/
RUN echo "$GREETING from build" > out.txt && cat /proc/sys/kernel/random/uuid > /app/ran
RUN <<EOF
echo heredoc ran > /app/heredoc.txt
EOF

FROM ${BASE}
# A global ARG is seen in a stage once declared there again.
ARG BASE
COPY --from=build /app/out.txt /app/heredoc.txt /app/ran /dist/
COPY --from=build /all /all
COPY <<EOF /etc/conf
name=${BASE}
EOF
WORKDIR /dist
USER 1000:1000
EXPOSE 8080 53/udp
CMD ["cat", "/dist/out.txt"]
"#;

#[test]
fn multi_stage_build_with_cache_and_target() {
    let (e, image) = Engine::with_busybox();
    let ctx = context(&e, MULTI);
    let ctx = ctx.to_str().unwrap();
    let tag = format!("{}:1", common::unique("app"));
    let base_arg = format!("BASE={image}");
    let out = build_app(&e, &tag, &base_arg, ctx);
    let log = common::stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        !log.contains("CACHED"),
        "a first build runs every step: {log}"
    );
    assert_eq!(
        e.ok(&["run", "--rm", "--network", "none", &tag]).trim(),
        "hello from build"
    );
    let inside = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        &tag,
        "sh",
        "-c",
        "id -u; pwd; cat heredoc.txt /etc/conf; ls /all | sort | tr '\\n' ' '",
    ]);
    let lines: Vec<&str> = inside.lines().collect();
    assert_eq!(lines[0], "1000");
    assert_eq!(lines[1], "/dist");
    assert_eq!(lines[2], "heredoc ran");
    assert_eq!(lines[3], format!("name={image}"));
    assert_eq!(
        lines[4].trim(),
        "Dockerfile src",
        ".dockerignore leaves out skip/ and *.log"
    );
    let cfg = e.inspect(&tag);
    let config = &cfg["Config"];
    assert!(config["Env"].to_string().contains("PATH="), "{config}");
    assert!(
        !config["Env"].to_string().contains("APP="),
        "ENV of another stage stays there: {config}"
    );
    assert_eq!(config["User"], "1000:1000");
    assert_eq!(config["WorkingDir"], "/dist");
    assert_eq!(config["Cmd"], serde_json::json!(["cat", "/dist/out.txt"]));
    assert!(config["ExposedPorts"]["8080/tcp"].is_object(), "{config}");
    assert!(config["ExposedPorts"]["53/udp"].is_object(), "{config}");
    let history = e.ok(&["history", "--no-trunc", &tag]);
    assert!(
        history.contains("CMD [\"cat\",\"/dist/out.txt\"]"),
        "{history}"
    );
    let first_id = cfg["Id"].clone();
    let ran = e.ok(&["run", "--rm", "--network", "none", &tag, "cat", "/dist/ran"]);

    // A rebuild comes from the cache: the RUN does not run again, the image is the same.
    let out = build_app(&e, &tag, &base_arg, ctx);
    let log = common::stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.matches("CACHED").count() >= 8, "{log}");
    assert_eq!(e.inspect(&tag)["Id"], first_id);
    assert_eq!(
        e.ok(&["run", "--rm", "--network", "none", &tag, "cat", "/dist/ran"]),
        ran
    );

    // A changed source file misses from its COPY on: the RUN after it runs again.
    std::fs::write(e.dir.path().join("ctx/src/a.txt"), "changed\n").unwrap();
    let out = build_app(&e, &tag, &base_arg, ctx);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_ne!(e.inspect(&tag)["Id"], first_id);
    assert_ne!(
        e.ok(&["run", "--rm", "--network", "none", &tag, "cat", "/dist/ran"]),
        ran
    );
    // A file left out by .dockerignore changes nothing.
    std::fs::write(e.dir.path().join("ctx/x.log"), "other\n").unwrap();
    let before = e.inspect(&tag)["Id"].clone();
    let out = e.run(&[
        "build",
        "-q",
        "-t",
        &tag,
        "--build-arg",
        &base_arg,
        "--build-arg",
        "GREETING=hello",
        ctx,
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(common::stdout(&out).trim(), before.as_str().unwrap());

    // --target builds the first stage alone.
    let first = format!("{}:1", common::unique("first"));
    e.ok(&[
        "build",
        "-q",
        "--target",
        "build",
        "-t",
        &first,
        "--build-arg",
        &base_arg,
        ctx,
    ]);
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            &first,
            "cat",
            "/app/out.txt"
        ])
        .trim(),
        "hi from build"
    );
    // No step container is left behind.
    assert_eq!(e.ok(&["ps", "-aq"]).trim(), "");
}

#[test]
fn build_errors_name_the_line_and_make_nothing() {
    let (e, image) = Engine::with_busybox();
    let cases = [
        (
            format!("FROM {image}\nFROBNICATE x\n"),
            "line 2: unknown instruction: FROBNICATE",
        ),
        (
            format!("FROM {image}\nCOPY --frm=x a b\n"),
            "line 2: COPY does not take --frm",
        ),
        (
            format!("FROM {image}\n\nCOPY missing.txt /x\n"),
            "line 3: missing.txt: not found",
        ),
        (
            format!("FROM {image}\nCOPY skip/x /x\n"),
            "left out by .dockerignore",
        ),
        (
            format!("FROM {image}\nRUN echo first; echo to-stderr >&2; exit 3\n"),
            "line 2: RUN echo first; echo to-stderr >&2; exit 3 exited with status 3",
        ),
        ("RUN true\n".to_string(), "only ARG may come before FROM"),
        (format!("FROM {image}\nRUN <<EOF\ntrue\n"), "not closed"),
    ];
    for (dockerfile, needle) in cases {
        let ctx = context(&e, &dockerfile);
        let out = e.run(&[
            "build",
            "-t",
            "never:1",
            "--progress",
            "plain",
            ctx.to_str().unwrap(),
        ]);
        let err = common::stderr(&out);
        assert!(!out.status.success(), "{dockerfile}");
        assert!(err.contains(needle), "{dockerfile}: {err}");
        if needle.contains("status 3") {
            assert!(
                err.contains("to-stderr"),
                "the failure shows the last output: {err}"
            );
        }
        assert!(e.run(&["image", "inspect", "never:1"]).status.code() != Some(0));
        assert_eq!(e.ok(&["ps", "-aq"]).trim(), "", "{dockerfile}");
    }
}

#[test]
fn commit_makes_a_layer_of_the_changes() {
    let (e, image) = Engine::with_busybox();
    let name = common::unique("commit");
    e.ok(&[
        "run",
        "--name",
        &name,
        "--network",
        "none",
        &image,
        "sh",
        "-c",
        "echo new > /etc/new; rm /etc/motd; mkdir -p /app/x; echo y > /app/x/f",
    ]);
    let tag = format!("{}:2", common::unique("committed"));
    let id = e.ok(&[
        "commit",
        "-a",
        "someone",
        "-m",
        "my change",
        "-c",
        "ENV A=1",
        "-c",
        "CMD [\"cat\", \"/etc/new\"]",
        &name,
        &tag,
    ]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    assert_eq!(
        e.ok(&["run", "--rm", "--network", "none", &tag]).trim(),
        "new"
    );
    let inside = e.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        &tag,
        "sh",
        "-c",
        "ls /etc/motd 2>&1; cat /app/x/f; echo $A",
    ]);
    assert!(
        inside.contains("No such file"),
        "the deletion is a whiteout: {inside}"
    );
    assert!(inside.contains("y\n1"), "{inside}");
    let history = e.ok(&["history", &tag]);
    assert!(
        history.lines().nth(1).unwrap().contains("my change"),
        "{history}"
    );
    let cfg = e.inspect(&tag);
    assert_eq!(cfg["Author"], "someone");
    // A container of the new image has changed nothing yet.
    let fresh = common::unique("fresh");
    e.ok(&["create", "--name", &fresh, "--network", "none", &tag]);
    assert_eq!(e.ok(&["diff", &fresh]).trim(), "");
    // docker loads and runs it the same.
    let saved = e.dir.path().join("committed.tar");
    e.ok(&["save", "-o", saved.to_str().unwrap(), &tag]);
    let load = std::process::Command::new("docker")
        .args(["load", "-i", saved.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(load.status.success(), "{}", common::stderr(&load));
    let ran = std::process::Command::new("docker")
        .args(["run", "--rm", &tag])
        .output()
        .unwrap();
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &tag])
        .output();
    assert_eq!(
        common::stdout(&ran).trim(),
        "new",
        "{}",
        common::stderr(&ran)
    );
    // Bad changes are refused by name, making nothing.
    let err = e.fails(&["commit", "-c", "RUN make", &name, "bad:1"], 125);
    assert!(err.contains("RUN"), "{err}");
}

/// A two-stage Dockerfile within what dockerd 20.10's built-in BuildKit frontend reads (no
/// heredocs, no `# syntax` line, which would pull a frontend image).
const COMPARED: &str = r#"ARG BASE
FROM ${BASE} AS build
ARG GREETING=hi
ENV APP=/app
WORKDIR $APP
COPY src/ ./
COPY . /all/
RUN echo "$GREETING from build" > out.txt && mkdir -p sub/deep && echo x > sub/deep/y && chmod 750 sub

FROM ${BASE}
ARG BASE
ENV MODE=prod PATH=/dist/bin:$PATH
LABEL org.example.kind=compared
COPY --from=build /app/out.txt /dist/
COPY --from=build /app/sub /dist/sub
COPY --from=build /all /all
COPY --chown=1000:1000 src/a.txt /dist/owned.txt
ADD @URL@ /dist/
RUN mkdir /state && echo seeded > /state/seed && rm /etc/motd /data/keep.txt
WORKDIR /dist/work
USER 1000:1000
EXPOSE 8080 53/udp
VOLUME /state
ENTRYPOINT ["sh", "-c"]
CMD ["cat /dist/out.txt"]
"#;

/// What a built image is made of, as far as the builders must agree: its config and every
/// file outside the mounts a container gets.
#[derive(Debug, PartialEq)]
struct Made {
    config: Vec<(String, serde_json::Value)>,
    files: String,
    output: String,
}

/// The listing run inside the image: path, type, mode, owner and size of every file, but
/// for what the runtimes add to a container (docker's init layer has /etc/mtab and
/// /.dockerenv).
const LIST: &str = "find / -xdev \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -print \
    | grep -v -e '^/etc/hosts$' -e '^/etc/hostname$' -e '^/etc/resolv.conf$' -e '^/.dockerenv$' \
      -e '^/etc/mtab$' -e '^/proc$' -e '^/sys$' -e '^/dev$' \
    | sort | while read -r f; do stat -c '%n %F %a %u:%g %s' \"$f\"; done";

fn made(inspect: &serde_json::Value, files: String, output: String) -> Made {
    let config = &inspect["Config"];
    let config = [
        "Env",
        "WorkingDir",
        "User",
        "Cmd",
        "Entrypoint",
        "ExposedPorts",
        "Volumes",
        "Labels",
    ]
    .iter()
    .map(|k| (k.to_string(), config[k].clone()))
    .collect();
    Made {
        config,
        files,
        output,
    }
}

/// `/usr/bin/docker` (Debian's docker.io client, whose BuildKit is built in) with `args`.
fn docker_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new("/usr/bin/docker")
        .args(args)
        .env("DOCKER_BUILDKIT", "1")
        .env_remove("DOCKER_HOST")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("docker (Debian docker.io; scripts/test.sh installs it)")
}

/// Images and containers a test made on the test dockerd, removed when dropped.
struct OnDocker(Vec<String>);

impl Drop for OnDocker {
    fn drop(&mut self) {
        for image in &self.0 {
            let _ = docker_cli(&["rmi", "-f", image]);
        }
    }
}

#[test]
fn the_engine_and_docker_build_the_same_image() {
    let (e, image) = Engine::with_busybox();
    let server = common::http::Server::start();
    server.put("/files/fetched.txt", b"from a server\n");
    let ctx = context(
        &e,
        &COMPARED.replace("@URL@", &server.url("/files/fetched.txt")),
    );
    let ctx = ctx.to_str().unwrap();
    let base_arg = format!("BASE={image}");
    let mut on_docker = OnDocker(vec![image.clone()]);
    let archive = e.dir.path().join("busybox.tar");
    common::ok(docker_cli(&["load", "-i", archive.to_str().unwrap()]));

    // The engine.
    let tag = format!("{}:1", common::unique("same"));
    let out = build_app(&e, &tag, &base_arg, ctx);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let run = |args: &[&str]| {
        let mut all = vec!["run", "--rm", "--network", "none"];
        all.extend_from_slice(args);
        e.ok(&all)
    };
    let engine = made(
        &e.inspect(&tag),
        run(&["--entrypoint", "sh", &tag, "-c", LIST]),
        run(&[&tag]),
    );
    assert_eq!(engine.output, "hello from build\n");

    // docker build, with BuildKit.
    let kit = format!("{}:1", common::unique("buildkit"));
    on_docker.0.push(kit.clone());
    let built = docker_cli(&[
        "build",
        "-t",
        &kit,
        "--build-arg",
        &base_arg,
        "--build-arg",
        "GREETING=hello",
        ctx,
    ]);
    assert!(built.status.success(), "{}", common::stderr(&built));
    let docker_run = |args: &[&str]| {
        let mut all = vec!["run", "--rm", "--network", "none"];
        all.extend_from_slice(args);
        common::ok(docker_cli(&all))
    };
    // What an image on the test dockerd is made of.
    let on_docker_made = |tag: &str| {
        let inspected = common::ok(docker_cli(&["image", "inspect", tag]));
        let inspected: serde_json::Value = serde_json::from_str(&inspected).unwrap();
        made(
            &inspected[0],
            docker_run(&["--entrypoint", "sh", tag, "-c", LIST]),
            docker_run(&[tag]),
        )
    };
    let buildkit = on_docker_made(&kit);
    assert_eq!(engine, buildkit, "the engine's build and BuildKit's differ");

    // The engine's image saved and loaded by docker is the same image there.
    let saved = e.dir.path().join("built.tar");
    e.ok(&["save", "-o", saved.to_str().unwrap(), &tag]);
    on_docker.0.push(tag.clone());
    common::ok(docker_cli(&["load", "-i", saved.to_str().unwrap()]));
    let loaded = on_docker_made(&tag);
    assert_eq!(
        engine, loaded,
        "docker sees another image than the engine made"
    );

    // The same command on the Docker backend (the daemon's builder, through the API).
    let api = format!("{}:1", common::unique("api"));
    on_docker.0.push(api.clone());
    let out = e.run(&[
        "-H",
        "docker",
        "build",
        "-t",
        &api,
        "--build-arg",
        &base_arg,
        "--build-arg",
        "GREETING=hello",
        "--progress",
        "plain",
        ctx,
    ]);
    let log = common::stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("from build"), "RUN output is streamed: {log}");
    let through_api = on_docker_made(&api);
    assert_eq!(engine, through_api, "-H docker build and the engine differ");
    // A failing build on Docker names its step and exits 1, tagging nothing.
    std::fs::write(
        e.dir.path().join("ctx/Dockerfile"),
        format!("FROM {image}\nRUN echo failing; exit 4\n"),
    )
    .unwrap();
    let never = format!("{}:1", common::unique("never"));
    let out = e.run(&["-H", "docker", "build", "-t", &never, ctx]);
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("exit 4") || err.contains("code: 4"), "{err}");
    assert!(!docker_cli(&["image", "inspect", &never]).status.success());
    // A Dockerfile from outside the context is sent along, but no COPY sees it.
    let outside = e.write(
        "outside.Dockerfile",
        format!("FROM {image}\nCOPY . /all/\nCMD [\"ls\", \"-a\", \"/all\"]\n").as_bytes(),
    );
    let other = format!("{}:1", common::unique("outside"));
    on_docker.0.push(other.clone());
    let out = e.run(&[
        "-H",
        "docker",
        "build",
        "-q",
        "-t",
        &other,
        "-f",
        outside.to_str().unwrap(),
        ctx,
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let listed = docker_run(&[&other]);
    assert!(
        listed.contains("src") && !listed.contains(".dockhand"),
        "{listed}"
    );
}

#[test]
fn the_build_cache_outlives_its_images_until_pruned() {
    let (e, image) = Engine::with_busybox();
    let ctx = context(
        &e,
        &format!("FROM {image}\nRUN head -c 300000 /dev/urandom > /blob\nCMD [\"true\"]\n"),
    );
    let ctx = ctx.to_str().unwrap();
    let tag = format!("{}:1", common::unique("cached"));
    let build = || {
        let out = e.run(&["build", "--progress", "plain", "-t", &tag, ctx]);
        assert!(out.status.success(), "{}", common::stderr(&out));
        common::stderr(&out)
    };
    assert!(!build().contains("CACHED"));
    e.ok(&["rmi", &tag]);
    // The image is gone, but not what the cache holds: the rebuild is all cached.
    let df = e.ok(&["system", "df"]);
    let line = df
        .lines()
        .find(|l| l.starts_with("Build Cache"))
        .unwrap_or_else(|| panic!("no Build Cache row: {df}"));
    assert!(line.contains("kB") || line.contains("MB"), "{line}");
    let check = e.ok(&["system", "check"]);
    assert!(
        check.contains("No problems found") && !check.contains("unused"),
        "{check}"
    );
    let log = build();
    assert!(
        log.contains("#2 CACHED"),
        "the RUN comes from the cache: {log}"
    );

    // While an image holds the layers, a plain prune leaves the entries (they free nothing);
    // --all drops them, and the next build runs every step again.
    let out = e.ok(&["builder", "prune", "-f"]);
    assert!(out.contains("Total reclaimed space: 0B"), "{out}");
    assert!(build().contains("CACHED"));
    e.ok(&["rmi", &tag]);
    let out = e.ok(&["builder", "prune", "-f"]);
    assert!(out.contains("Deleted build cache objects:"), "{out}");
    assert!(!out.contains("Total reclaimed space: 0B"), "{out}");
    assert!(!build().contains("CACHED"));
    let out = e.ok(&["builder", "prune", "-a", "-f"]);
    assert!(out.contains("Deleted build cache objects:"), "{out}");
    assert!(!build().contains("CACHED"));
}

/// Whether a process runs `sleep SECONDS`.
fn sleeping(seconds: &str) -> bool {
    let wanted = format!("sleep\0{seconds}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .any(|p| std::fs::read(p.path().join("cmdline")).is_ok_and(|c| c == wanted.as_bytes()))
}

#[tokio::test]
async fn dropping_a_build_stops_its_silent_run_and_tags_nothing() {
    use dockhand::backend::prelude::*;
    use futures::StreamExt;
    let (e, image) = Engine::with_busybox();
    let seconds = format!("{}", 3000 + std::process::id() % 1000);
    let backend = e.backend();
    let tag = format!("{}:1", common::unique("cancelled"));
    let spec = dockhand::model::BuildSpec {
        dockerfile: format!("FROM {image}\nRUN sleep {seconds}\n"),
        tags: vec![tag.clone()],
        network: Some("none".into()),
        ..Default::default()
    };
    let mut events = backend.build_image(spec).await.unwrap();
    while let Some(event) = events.next().await {
        if let dockhand::model::BuildEvent::Step { name, .. } = event.unwrap() {
            if name.contains("RUN") {
                break;
            }
        }
    }
    // The engine's tasks run on this test's runtime: wait without blocking it.
    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        let start = std::time::Instant::now();
        while !done() {
            assert!(start.elapsed().as_secs() < 30, "timed out: {what}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    until("the RUN to start", || sleeping(&seconds)).await;
    drop(events);
    until("the step to be killed and removed", || {
        !sleeping(&seconds)
            && std::fs::read_dir(e.root().join("containers"))
                .unwrap()
                .flatten()
                .all(|d| !d.path().join("config.json").exists())
    })
    .await;
    assert!(e.run(&["image", "inspect", &tag]).status.code() != Some(0));
}

#[test]
fn add_downloads_urls_as_docker_does() {
    use sha2::Digest as _;
    let (e, image) = Engine::with_busybox();
    let server = common::http::Server::start();
    server.put("/files/tool.txt", b"version 1\n");
    let url = server.url("/files/tool.txt");
    let sum = format!("{:x}", sha2::Sha256::digest(b"version 1\n"));
    let ctx = context(
        &e,
        &format!(
            "FROM {image}\nADD {url} /opt/\nADD --checksum=sha256:{sum} {url} /opt/renamed.txt\nRUN cat /opt/tool.txt > /opt/copied\n"
        ),
    );
    let ctx = ctx.to_str().unwrap();
    let tag = format!("{}:1", common::unique("fetched"));
    let build = || {
        let out = e.run(&["build", "--progress", "plain", "-t", &tag, ctx]);
        assert!(out.status.success(), "{}", common::stderr(&out));
        common::stderr(&out)
    };
    build();
    // busybox runs its applets from sh, with or without their links.
    let stat = |path: &str| {
        let script = format!("stat -c '%a %u:%g %Y %s' {path}");
        e.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            &tag,
            "sh",
            "-c",
            &script,
        ])
        .trim()
        .to_string()
    };
    let want = format!("600 0:0 {} 10", common::http::MODIFIED.1);
    assert_eq!(
        stat("/opt/tool.txt"),
        want,
        "mode, owner and time as Docker gives them"
    );
    assert_eq!(stat("/opt/renamed.txt"), want);
    // Unchanged downloads come from the cache; a changed one misses from its step on.
    let log = build();
    assert_eq!(log.matches(" CACHED").count(), 3, "{log}");
    server.put("/files/tool.txt", b"version 2\n");
    let out = e.run(&["build", "--progress", "plain", "-t", &tag, ctx]);
    let err = common::stderr(&out);
    assert!(
        !out.status.success(),
        "the checksum no longer matches: {err}"
    );
    assert!(
        err.contains("line 3:") && err.contains("checksum is sha256:"),
        "{err}"
    );
    std::fs::write(
        e.dir.path().join("ctx/Dockerfile"),
        format!("FROM {image}\nADD {url} /opt/\nRUN cat /opt/tool.txt > /opt/copied\n"),
    )
    .unwrap();
    // The failed build cached the new download's step already; the RUN after it runs again.
    let log = build();
    assert!(!log.contains("#3 CACHED"), "{log}");
    assert_eq!(
        e.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            &tag,
            "cat",
            "/opt/copied"
        ]),
        "version 2\n"
    );
    // What cannot be fetched or copied is named with its line, and makes nothing.
    for (dockerfile, needle) in [
        (
            format!("FROM {image}\nADD {} /opt/\n", server.url("/files/missing")),
            "line 2: ".to_string()
                + &server.url("/files/missing")
                + ": the server answered 404 Not Found",
        ),
        (
            format!("FROM {image}\nCOPY {url} /opt/\n"),
            "line 2: COPY ".to_string()
                + &url
                + ": COPY takes files of the build context; ADD downloads from URLs",
        ),
        (
            format!("FROM {image}\nADD {} /opt/\n", server.url("/")),
            "cannot tell a file name from the URL".to_string(),
        ),
    ] {
        std::fs::write(e.dir.path().join("ctx/Dockerfile"), &dockerfile).unwrap();
        let out = e.run(&["build", "-t", "never:1", ctx]);
        let err = common::stderr(&out);
        assert!(!out.status.success(), "{dockerfile}");
        assert!(err.contains(&needle), "{dockerfile}: {err}");
        assert!(e.run(&["image", "inspect", "never:1"]).status.code() != Some(0));
    }
}
