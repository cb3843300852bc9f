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
RUN echo "$GREETING from build" > out.txt && date +%s%N > /app/ran
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
