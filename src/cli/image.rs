//! Image commands: images, pull (with per-layer progress), load, save, import, tag, rmi,
//! history and image prune.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::output::{Table, confirm, ellipsis};
use crate::backend::prelude::*;
use crate::backend::{AnyBackend, ByteStream};
use crate::model::PullStatus;
use crate::util::time::{ago, unix_now};
use crate::util::units::human_size;

/// `images`.
pub async fn images(
    b: &AnyBackend,
    all: bool,
    quiet: bool,
    filter: Option<&str>,
    format: Option<&str>,
) -> Result<()> {
    let format = format.map(super::format::Format::parse).transpose()?;
    let mut list = b.list_images(all).await?;
    list.sort_by_key(|x| std::cmp::Reverse(x.created));
    if quiet {
        for i in &list {
            println!("{}", i.short_id());
        }
        return Ok(());
    }
    let now = unix_now();
    let mut t = Table::new(&["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]);
    let mut rows = Vec::new();
    for i in &list {
        // One row per tag, as docker prints them; an untagged image gets one <none> row.
        let refs: Vec<String> = if i.repo_tags.is_empty() {
            vec![String::new()]
        } else {
            i.repo_tags.clone()
        };
        for r in refs {
            let mut single = i.clone();
            single.repo_tags = if r.is_empty() { vec![] } else { vec![r] };
            let (repo, tag) = single.repo_and_tag();
            if filter.is_some_and(|f| !repo.contains(f)) {
                continue;
            }
            rows.push(serde_json::json!({
                "Repository": repo, "Tag": tag, "ID": i.short_id(),
                "CreatedSince": ago(i.created, now),
                "CreatedAt": crate::util::time::rfc3339(i.created),
                "Size": human_size(i.size),
            }));
            t.row(vec![
                repo,
                tag,
                i.short_id().to_string(),
                ago(i.created, now),
                human_size(i.size),
            ]);
        }
    }
    match format {
        Some(f) => f.print(
            &serde_json::json!({
                "Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID",
                "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
            }),
            &rows,
        ),
        None => {
            t.print();
            Ok(())
        }
    }
}

/// Pulls with per-layer progress: bars on a terminal, one line per layer change otherwise.
pub async fn pull_with_progress(b: &AnyBackend, reference: &str) -> Result<()> {
    let mut stream = b.pull_image(reference).await?;
    let tty = std::io::stderr().is_terminal();
    let multi = MultiProgress::with_draw_target(if tty {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let style =
        ProgressStyle::with_template("{prefix}: {msg:<12} [{bar:30}] {bytes}/{total_bytes}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    let mut bars: BTreeMap<String, ProgressBar> = BTreeMap::new();
    let mut last: BTreeMap<String, &'static str> = BTreeMap::new();
    let mut downloaded = false;
    while let Some(item) = stream.next().await {
        let p = item?;
        let word = match &p.status {
            PullStatus::Waiting => "Waiting",
            PullStatus::AlreadyExists => "Already exists",
            PullStatus::Downloading { .. } => {
                downloaded = true;
                "Downloading"
            }
            PullStatus::Verifying => "Verifying",
            PullStatus::Extracting { .. } => "Extracting",
            PullStatus::Complete => "Pull complete",
            PullStatus::Done { digest } => {
                multi.clear().ok();
                if !digest.is_empty() {
                    println!("Digest: {digest}");
                }
                if downloaded {
                    println!("Status: Downloaded newer image for {reference}");
                } else {
                    println!("Status: Image is up to date for {reference}");
                }
                println!("{reference}");
                return Ok(());
            }
        };
        if tty {
            let bar = bars.entry(p.id.clone()).or_insert_with(|| {
                let bar = multi.add(ProgressBar::new(0));
                bar.set_style(style.clone());
                bar.set_prefix(p.id.clone());
                bar
            });
            match p.status {
                PullStatus::Downloading { current, total }
                | PullStatus::Extracting { current, total } => {
                    bar.set_length(total.unwrap_or(current));
                    bar.set_position(current);
                }
                _ => {}
            }
            bar.set_message(word);
        } else if last.get(&p.id) != Some(&word) {
            println!("{}: {word}", p.id);
            last.insert(p.id.clone(), word);
        }
    }
    bail!("the pull of {reference} ended without confirmation; run it again")
}

/// Streams a file (or stdin for `-`) in chunks.
pub fn read_stream(path: Option<&Path>) -> Result<ByteStream> {
    let reader: Box<dyn Read + Send> = match path {
        Some(p) if p != Path::new("-") => Box::new(
            std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        ),
        _ => {
            if std::io::stdin().is_terminal() {
                bail!("no input: give a file with -i (or as argument) or pipe the archive in");
            }
            Box::new(std::io::stdin())
        }
    };
    let stream = futures::stream::unfold(Some(reader), |reader| async move {
        let mut reader = reader?;
        let (reader, chunk) = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; 1 << 20];
            let r = reader.read(&mut buf).map(|n| {
                buf.truncate(n);
                buf
            });
            (reader, r)
        })
        .await
        .ok()?;
        match chunk {
            Ok(buf) if buf.is_empty() => None,
            Ok(buf) => Some((Ok(bytes::Bytes::from(buf)), Some(reader))),
            Err(e) => Some((Err(e), None)),
        }
    });
    Ok(stream.boxed())
}

/// `load`.
pub async fn load(b: &AnyBackend, input: Option<&Path>, quiet: bool) -> Result<()> {
    let loaded = b.load_images(read_stream(input)?).await?;
    if !quiet {
        for line in loaded {
            println!("{line}");
        }
    }
    Ok(())
}

/// `save`.
pub async fn save(b: &AnyBackend, output: Option<&Path>, images: &[String]) -> Result<()> {
    refuse_terminal(output)?;
    let stream = b.save_images(images).await?;
    write_archive(output, stream).await
}

/// An archive is not written to a terminal, as docker refuses to.
pub fn refuse_terminal(output: Option<&Path>) -> Result<()> {
    if output.is_none() && std::io::stdout().is_terminal() {
        bail!("cowardly refusing to write an archive to a terminal; use the -o flag or redirect");
    }
    Ok(())
}

/// Writes an archive to `output` (stdout when `None`). The file is made only once the
/// archive starts, and removed again when it fails half-way.
pub async fn write_archive(
    output: Option<&Path>,
    mut stream: crate::backend::ByteStream,
) -> Result<()> {
    let mut out: Box<dyn Write> = match output {
        Some(p) => Box::new(
            std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let mut copy = async || -> Result<()> {
        while let Some(chunk) = stream.next().await {
            out.write_all(&chunk.context("reading the archive")?)
                .context("writing the archive")?;
        }
        out.flush()?;
        Ok(())
    };
    let result = copy().await;
    if let (Err(_), Some(p)) = (&result, output) {
        let _ = std::fs::remove_file(p);
    }
    result
}

/// `import`.
pub async fn import(
    b: &AnyBackend,
    file: &Path,
    reference: Option<&str>,
    changes: &[String],
) -> Result<()> {
    let id = b
        .import_image(read_stream(Some(file))?, reference, changes)
        .await?;
    println!("{id}");
    Ok(())
}

/// `rmi`.
pub async fn rmi(b: &AnyBackend, images: &[String], force: bool) -> Result<i32> {
    let mut failed = false;
    for i in images {
        match b.remove_image(i, force).await {
            Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    Ok(i32::from(failed))
}

/// `history`.
pub async fn history(b: &AnyBackend, image: &str, no_trunc: bool, quiet: bool) -> Result<()> {
    let steps = b.image_history(image).await?;
    let now = unix_now();
    let short = |id: &str| match id.strip_prefix("sha256:") {
        Some(h) if !no_trunc => h[..12.min(h.len())].to_string(),
        _ => id.to_string(),
    };
    if quiet {
        steps.iter().for_each(|s| println!("{}", short(&s.id)));
        return Ok(());
    }
    let mut t = Table::new(&["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]);
    for s in steps {
        let by = if no_trunc {
            s.created_by.clone()
        } else {
            ellipsis(&s.created_by, 45)
        };
        t.row(vec![
            short(&s.id),
            ago(s.created, now),
            by,
            human_size(s.size),
            s.comment,
        ]);
    }
    t.print();
    Ok(())
}

/// `image prune`.
pub async fn prune(b: &AnyBackend, all: bool, force: bool) -> Result<()> {
    let warning = if all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !force && !confirm(&format!("{warning}\nAre you sure you want to continue?")) {
        return Ok(());
    }
    let r = b.prune_images(all).await?;
    if !r.deleted.is_empty() {
        println!("Deleted Images:");
        r.deleted.iter().for_each(|d| println!("deleted: {d}"));
        println!();
    }
    println!("Total reclaimed space: {}", human_size(r.space_reclaimed));
    Ok(())
}
