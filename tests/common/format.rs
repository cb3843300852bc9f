//! `--format` and docker's filters, the same expectations on every backend: `run` runs the
//! binary against one backend and returns stdout (asserting success); the objects named
//! exist there (a running container with label `tier=web`, its image, a volume, a network).

/// The names the checks look for.
pub struct Objects<'a> {
    /// A running container labelled `tier=web`.
    pub container: &'a str,
    /// Its image, as `repository:tag`.
    pub image: &'a str,
    /// A volume.
    pub volume: &'a str,
    /// A user-defined network.
    pub network: &'a str,
}

/// Runs the checks.
pub fn check(run: impl Fn(&[&str]) -> String, o: &Objects<'_>) {
    let name_filter = format!("name=^{}$", o.container);
    let ps = run(&[
        "ps",
        "-f",
        &name_filter,
        "--format",
        "{{.Names}} {{.State}} {{.Labels}}",
    ]);
    assert!(ps.starts_with(&format!("{} running ", o.container)), "{ps}");
    // The image's labels (sorted) with the container's own among them.
    assert!(
        ps.contains("org.dockhand.test=busybox") && ps.contains("tier=web"),
        "{ps}"
    );
    // name= is a regular expression, as docker has it.
    let partial = format!("name=^{}", &o.container[..o.container.len() - 2]);
    assert!(run(&["ps", "-q", "-f", &partial]).lines().count() >= 1);
    let none = run(&["ps", "-q", "-f", &format!("name=^{}x$", o.container)]);
    assert!(none.trim().is_empty(), "{none}");
    // table: a header from the same template, then aligned rows.
    let table = run(&[
        "ps",
        "-f",
        &name_filter,
        "--format",
        "table {{.Names}}\\t{{.Image}}",
    ]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("NAMES") && lines[0].contains("IMAGE"),
        "{table}"
    );
    assert!(
        lines[1].starts_with(o.container) && lines[1].contains(o.image),
        "{table}"
    );
    // json: one document a line.
    let doc: serde_json::Value =
        serde_json::from_str(run(&["ps", "-f", &name_filter, "--format", "json"]).trim()).unwrap();
    assert_eq!(doc["Names"], o.container);
    let (repo, tag) = o.image.rsplit_once(':').unwrap();
    let images = run(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(
        images.lines().any(|l| l == format!("{repo}:{tag}")),
        "{images}"
    );
    let vols = run(&["volume", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    assert!(
        vols.lines().any(|l| l == format!("{} local", o.volume)),
        "{vols}"
    );
    let nets = run(&[
        "network",
        "ls",
        "-f",
        &format!("name={}", o.network),
        "--format",
        "{{.Name}} {{.Driver}}",
    ]);
    assert_eq!(nets.trim(), format!("{} bridge", o.network), "{nets}");
    let custom = run(&[
        "network",
        "ls",
        "-f",
        "type=custom",
        "--format",
        "{{.Name}}",
    ]);
    assert!(
        custom.lines().any(|l| l == o.network) && !custom.lines().any(|l| l == "host"),
        "{custom}"
    );
    // inspect -f over the Docker-shaped document.
    let pid: u64 = run(&["inspect", "-f", "{{.State.Pid}}", o.container])
        .trim()
        .parse()
        .unwrap();
    assert!(pid > 0);
    let labels = run(&["inspect", "-f", "{{json .Config.Labels}}", o.container]);
    let labels: serde_json::Value = serde_json::from_str(labels.trim()).unwrap();
    assert_eq!(labels["tier"], "web");
    assert_eq!(
        labels["org.dockhand.test"], "busybox",
        "the image's label too"
    );
    let tier = run(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"tier\"}}",
        o.container,
    ]);
    assert_eq!(tier.trim(), "web");
    let mount = run(&["inspect", "-f", "{{.Mountpoint}}", o.volume]);
    assert!(mount.trim().ends_with("/_data"), "{mount}");
    let subnet = run(&[
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
        o.network,
    ]);
    assert!(subnet.trim().contains('/'), "{subnet}");
    // network inspect gives each container's address.
    let listing = run(&["network", "inspect", o.network]);
    let doc: serde_json::Value = serde_json::from_str(&listing).unwrap();
    let ip = doc[0]["Containers"]
        .as_object()
        .and_then(|m| m.values().find(|c| c["Name"] == o.container))
        .and_then(|c| c["IPv4Address"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(
        ip.contains('.') && ip.contains('/'),
        "each container's address: {listing}"
    );
}
