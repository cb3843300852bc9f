//! COPY and ADD as steps: sources and destination read from the instruction with variables
//! replaced, ownership flags, the files planned from the context or from ADD's downloads
//! (for the cache key) or
//! found in another stage's or image's root filesystem once it is mounted, then written by
//! `copy`'s file step.

use super::cache::next_key;
use super::copy::{self, Ownership, Plan, Tree};
use super::parse::{Args, Raw};
use super::state::State;
use super::step::{Scope, describe, flag, shown};
use super::{Build, BuildError, fetch, words};

impl Build<'_> {
    pub(super) fn copy(
        &self,
        stage: usize,
        state: &mut State,
        scope: &mut Scope,
        raw: &Raw,
        lookup: words::Lookup,
        now: &str,
    ) -> Result<(), BuildError> {
        let escape = self.plan.escape;
        let at = |e: String| BuildError::at(raw.line, e);
        let mut list = match &raw.args {
            Args::Json(v) => v.clone(),
            Args::Shell(t) => words::words(t, escape, lookup).map_err(at)?,
        };
        if list.len() < 2 {
            return Err(at(format!(
                "{} needs a source and a destination",
                raw.keyword
            )));
        }
        let dest_given = list.pop().expect("two words");
        let sources = list;
        let mut dest = if dest_given.starts_with('/') {
            dest_given.clone()
        } else {
            format!("{}/{dest_given}", state.workdir().trim_end_matches('/'))
        };
        let several = sources.len() > 1 || sources.iter().any(|s| s.contains(['*', '?', '[']));
        if several && !dest.ends_with('/') {
            return Err(at(format!(
                "{} with several sources needs a directory as destination: end {dest_given} with /",
                raw.keyword
            )));
        }
        let dest_is_dir = dest.ends_with('/');
        if dest.len() > 1 {
            dest = dest.trim_end_matches('/').to_string();
        }
        let own = Ownership {
            chown: flag(raw, "chown")
                .flatten()
                .map(|c| words::word(c, escape, lookup))
                .transpose()
                .map_err(at)?,
            chmod: flag(raw, "chmod")
                .flatten()
                .map(copy::parse_chmod)
                .transpose()
                .map_err(at)?,
            keep: flag(raw, "from").is_some(),
        };
        let from = match flag(raw, "from").flatten() {
            Some(v) => {
                let v = words::word(v, escape, lookup).map_err(at)?;
                let base = self.plan.from_ref(&v, stage);
                if base == super::Base::Image("scratch".into()) {
                    Some(State::scratch())
                } else {
                    Some(self.state_of(&base, raw.line)?)
                }
            }
            None => None,
        };
        // The files from the context (known now, for the cache key) or a heredoc.
        let mut plan = Plan::default();
        let context = match (&from, &self.request.context) {
            (None, Some(dir)) => Some(Tree {
                root: dir.clone(),
                ignore: Some(self.request.ignore.clone()),
            }),
            _ => None,
        };
        let heredoc = |word: &str| {
            raw.heredocs.iter().find(|h| {
                word.trim_start_matches(|c: char| c.is_ascii_digit())
                    .trim_start_matches("<<")
                    .trim_start_matches('-')
                    .trim_matches(['"', '\''])
                    == h.name
                    && word.contains("<<")
            })
        };
        let mut from_patterns = Vec::new();
        // Downloads stay until the step has written them.
        let mut downloads: Option<tempfile::TempDir> = None;
        for src in &sources {
            if let Some(h) = heredoc(src) {
                let body = if h.expand {
                    words::heredoc(&h.body, escape, lookup).map_err(at)?
                } else {
                    h.body.clone()
                };
                plan.add_data(&h.name, dest_is_dir || several, body.into_bytes());
                continue;
            }
            if fetch::is_url(src) {
                if raw.keyword != "ADD" {
                    return Err(at(format!(
                        "COPY {src}: COPY takes files of the build context; ADD downloads from URLs"
                    )));
                }
                let into_dir = dest_is_dir || several;
                let name = match fetch::file_name(src) {
                    Ok(n) => n,
                    Err(_) if !into_dir => "download".to_string(),
                    Err(e) => return Err(at(e)),
                };
                let dir = match &downloads {
                    Some(d) => d,
                    None => downloads.insert(
                        tempfile::Builder::new()
                            .prefix("add-")
                            .tempdir_in(&self.tmp)
                            .map_err(|e| at(format!("cannot make a directory for {src}: {e}")))?,
                    ),
                };
                let checksum = flag(raw, "checksum")
                    .flatten()
                    .map(|c| words::word(c, escape, lookup))
                    .transpose()
                    .map_err(at)?;
                fetch::download(src, dir.path(), &name, checksum.as_deref()).map_err(at)?;
                let tree = Tree {
                    root: dir.path().to_path_buf(),
                    ignore: None,
                };
                plan.add_source(&tree, &copy::Source { rel: name }, into_dir);
                continue;
            }
            if flag(raw, "checksum").is_some() {
                return Err(at(format!(
                    "ADD --checksum {src}: --checksum verifies downloads; give a URL"
                )));
            }
            if from.is_some() {
                from_patterns.push(src.clone());
                continue;
            }
            let Some(tree) = &context else {
                return Err(at(format!(
                    "{} {src}: this build has no context; give a directory to build from",
                    raw.keyword
                )));
            };
            for found in tree.resolve(src).map_err(at)? {
                let host = tree.root.join(&found.rel);
                if raw.keyword == "ADD" && host.is_file() && copy::is_tarball(&host) {
                    plan.add_tar(host);
                } else {
                    plan.add_source(tree, &found, dest_is_dir || several);
                }
            }
        }
        let extra = match &from {
            Some(f) => format!("from={} {}", f.key, from_patterns.join(" ")),
            None => plan.digest(),
        };
        let key = next_key(
            &next_key(&state.key, &describe(raw)),
            &format!("{extra} workdir={}", state.workdir()),
        );
        let created_by = format!("{} {} {}", raw.keyword, sources.join(" "), dest_given);
        let shown = self.begin(scope, shown(raw));
        self.cached(state, key, Some(shown.0), |s| {
            let layer = copy::file_step(
                self.runtime.images(),
                self.runtime.driver(),
                &self.tmp,
                s,
                from.as_ref(),
                |rootfs, from_root| {
                    let mut plan = plan;
                    if let Some(fr) = from_root {
                        let tree = Tree {
                            root: fr.to_path_buf(),
                            ignore: None,
                        };
                        for p in &from_patterns {
                            for found in tree.resolve(p).map_err(at)? {
                                plan.add_source(&tree, &found, dest_is_dir || several);
                            }
                        }
                    }
                    let into_dir = dest_is_dir
                        || several
                        || crate::engine::container::files::stat(rootfs, &dest)?.unwrap_or(false)
                        || plan_is_dir(&plan);
                    copy::write(rootfs, &plan, &dest, into_dir, &own).map_err(at)
                },
            )?;
            s.push_layer(layer);
            s.history(&created_by, false, now);
            Ok(())
        })?;
        self.done(shown);
        Ok(())
    }
}

/// Whether a plan copies a directory's contents (its entries lie below the destination).
fn plan_is_dir(plan: &Plan) -> bool {
    !plan.is_empty() && !plan.writes_destination()
}
