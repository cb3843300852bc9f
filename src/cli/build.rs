//! `build`: the Dockerfile and context read here (a directory, a Dockerfile on stdin, or a
//! context tarball on stdin unpacked into a temporary directory), the build's progress
//! printed as Docker's plain progress (`#N` lines) or, on a terminal, as step lines with
//! their output indented; `-q` prints only the image id.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use futures::StreamExt;

use crate::backend::AnyBackend;
use crate::backend::prelude::*;
use crate::model::{BuildEvent, BuildSpec};

/// `build`'s flags.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Name the image (NAME[:TAG]); may be given several times.
    #[arg(short = 't', long = "tag")]
    pub tags: Vec<String>,
    /// The Dockerfile (default: CONTEXT/Dockerfile); - reads it from stdin.
    #[arg(short = 'f', long = "file")]
    pub file: Option<String>,
    /// A build argument, KEY=VALUE (or KEY, taken from the environment).
    #[arg(long = "build-arg")]
    pub build_args: Vec<String>,
    /// The stage to build.
    #[arg(long)]
    pub target: Option<String>,
    /// Run every step again.
    #[arg(long)]
    pub no_cache: bool,
    /// Pull base images even when they are here.
    #[arg(long)]
    pub pull: bool,
    /// A label for the image, KEY=VALUE.
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Network of RUN steps: bridge (default), host or none.
    #[arg(long)]
    pub network: Option<String>,
    /// Print only the image id.
    #[arg(short, long)]
    pub quiet: bool,
    /// Progress output: auto, plain or tty.
    #[arg(long, default_value = "auto")]
    pub progress: String,
    /// Write the image id to this file.
    #[arg(long)]
    pub iidfile: Option<PathBuf>,
    /// The context directory, or - for a Dockerfile or a context tarball on stdin.
    pub context: String,
}

fn pairs(items: &[String], what: &str, from_env: bool) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for i in items {
        match i.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            None if from_env && !i.is_empty() => {
                if let Ok(v) = std::env::var(i) {
                    out.insert(i.clone(), v);
                }
            }
            _ => bail!("{what} {i:?}: write KEY=VALUE"),
        }
    }
    Ok(out)
}

/// The spec, and a temporary directory holding an unpacked context tarball.
fn spec(a: &BuildArgs) -> Result<(BuildSpec, Option<tempfile::TempDir>)> {
    let mut stdin_used = false;
    let mut read_stdin = || -> Result<Vec<u8>> {
        if stdin_used {
            bail!("stdin cannot be both the context and the Dockerfile");
        }
        stdin_used = true;
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .context("cannot read stdin")?;
        Ok(data)
    };
    let mut unpacked = None;
    let mut dockerfile: Option<String> = None;
    let context = if a.context == "-" {
        let data = read_stdin()?;
        let is_tar = data.len() >= 512 && &data[257..262] == b"ustar";
        if is_tar {
            let dir = tempfile::tempdir().context("cannot make a directory for the context")?;
            tar::Archive::new(&data[..])
                .unpack(dir.path())
                .context("cannot unpack the context tarball from stdin")?;
            let path = dir.path().to_path_buf();
            unpacked = Some(dir);
            Some(path)
        } else {
            dockerfile =
                Some(String::from_utf8(data).context("the Dockerfile on stdin is not UTF-8")?);
            None
        }
    } else {
        let dir = PathBuf::from(&a.context);
        if !dir.is_dir() {
            bail!(
                "the build context {} is not a directory; give a directory or -",
                a.context
            );
        }
        Some(std::path::absolute(&dir).unwrap_or(dir))
    };
    let mut dockerfile_path = None;
    if dockerfile.is_none() {
        let text = match a.file.as_deref() {
            Some("-") => {
                String::from_utf8(read_stdin()?).context("the Dockerfile on stdin is not UTF-8")?
            }
            given => {
                let path = match (given, &context) {
                    (Some(f), _) => PathBuf::from(f),
                    (None, Some(c)) => c.join("Dockerfile"),
                    (None, None) => bail!("no Dockerfile: give one with -f"),
                };
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!(
                        "cannot read the Dockerfile {}; give another with -f",
                        path.display()
                    )
                })?;
                dockerfile_path = Some(path);
                text
            }
        };
        dockerfile = Some(text);
    }
    Ok((
        BuildSpec {
            context,
            dockerfile: dockerfile.unwrap_or_default(),
            dockerfile_path,
            tags: a.tags.clone(),
            build_args: pairs(&a.build_args, "--build-arg", true)?,
            target: a.target.clone(),
            no_cache: a.no_cache,
            pull: a.pull,
            labels: pairs(&a.labels, "--label", false)?,
            network: a.network.clone(),
        },
        unpacked,
    ))
}

/// `build`: exit status 0 when the image is made, 1 when the build failed.
pub async fn build(b: &AnyBackend, a: &BuildArgs) -> Result<i32> {
    let tty = match a.progress.as_str() {
        "auto" => std::io::stderr().is_terminal(),
        "tty" => true,
        "plain" => false,
        other => bail!("--progress {other}: write auto, plain or tty"),
    };
    let (spec, _context_dir) = spec(a)?;
    let mut stream = b.build_image(spec).await?;
    let mut err = std::io::stderr().lock();
    let mut started: BTreeMap<usize, std::time::Instant> = BTreeMap::new();
    let mut built = None;
    while let Some(event) = stream.next().await {
        let event = match event {
            Ok(e) => e,
            Err(e) => {
                let _ = writeln!(err, "ERROR: {e}");
                return Ok(1);
            }
        };
        if a.quiet {
            if let BuildEvent::Built { id, .. } = &event {
                built = Some(id.clone());
            }
            continue;
        }
        let line = match &event {
            BuildEvent::Step { step, name } => {
                started.insert(*step, std::time::Instant::now());
                if tty {
                    format!("=> {name}")
                } else {
                    format!("#{step} {name}")
                }
            }
            BuildEvent::Output { step, line } => {
                let at = started.get(step).map_or(0.0, |t| t.elapsed().as_secs_f64());
                if tty {
                    format!("   {line}")
                } else {
                    format!("#{step} {at:.3} {line}")
                }
            }
            BuildEvent::Cached { step } => {
                if tty {
                    "   CACHED".to_string()
                } else {
                    format!("#{step} CACHED")
                }
            }
            BuildEvent::Done { step, seconds } => {
                if tty {
                    format!("   done {seconds:.1}s")
                } else {
                    format!("#{step} DONE {seconds:.1}s")
                }
            }
            BuildEvent::Warning(w) => format!("WARNING: {w}"),
            BuildEvent::Built { id, tags } => {
                built = Some(id.clone());
                let mut s = format!("writing image {id} done");
                for t in tags {
                    s.push_str(&format!("\nnaming to {t} done"));
                }
                s
            }
        };
        let _ = writeln!(err, "{line}");
    }
    let Some(id) = built else {
        let _ = writeln!(err, "ERROR: the build ended without an image");
        return Ok(1);
    };
    if a.quiet {
        println!("{id}");
    }
    if let Some(f) = &a.iidfile {
        std::fs::write(f, &id).with_context(|| format!("cannot write {}", f.display()))?;
    }
    Ok(0)
}

/// `builder …`.
#[derive(Debug, clap::Subcommand)]
pub enum BuilderCmd {
    /// Remove build cache.
    Prune {
        /// Remove all build cache, not just what no image uses.
        #[arg(short, long)]
        all: bool,
        /// Do not ask.
        #[arg(short, long)]
        force: bool,
    },
}

/// `builder prune`.
pub async fn builder(b: &AnyBackend, cmd: &BuilderCmd) -> Result<i32> {
    let BuilderCmd::Prune { all, force } = cmd;
    let warning = if *all {
        "WARNING! This will remove all build cache."
    } else {
        "WARNING! This will remove all dangling build cache."
    };
    if !force && !super::output::confirm(&format!("{warning}\nAre you sure you want to continue?"))
    {
        return Ok(0);
    }
    let r = b.prune_build_cache(*all).await?;
    if !r.deleted.is_empty() {
        println!("Deleted build cache objects:");
        r.deleted.iter().for_each(|d| println!("{d}"));
        println!();
    }
    println!(
        "Total reclaimed space: {}",
        crate::util::units::human_size(r.space_reclaimed)
    );
    Ok(0)
}
