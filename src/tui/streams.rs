//! The backend's streams (logs, stats, pull and build progress, events) as the [`Action`]s the UI gets
//! from them: opened with the one-shot timeout, log lines batched as they are ready, each
//! stream's end or failure said once. The [`Runner`](super::runner::Runner) forwards these to
//! the UI; the UI tests read the same streams.

use futures::StreamExt;
use futures::stream::{self, BoxStream};

use super::action::{Action, Failure};
use super::build::BuildRequest;
use super::effect::timed;
use crate::backend::AnyBackend;
use crate::backend::prelude::*;
use crate::model::{BuildEvent, LogOptions, PullProgress, PullStatus};

/// Most lines sent in one batch: a burst of lines costs one redraw.
const LOG_BATCH: usize = 1024;

/// A container's log: batches of lines as they are ready, then its end (with the error when
/// it failed).
pub async fn logs(
    backend: &AnyBackend,
    id: String,
    options: LogOptions,
) -> BoxStream<'static, Action> {
    let chunks = match timed(backend.container_logs(&id, options)).await {
        Ok(s) => s.ready_chunks(LOG_BATCH),
        Err(f) => return stream::iter([Action::LogEnded(id, Some(f.message))]).boxed(),
    };
    stream::unfold(Some((chunks, id)), |state| async move {
        let (mut chunks, id) = state?;
        let Some(chunk) = chunks.next().await else {
            return Some((vec![Action::LogEnded(id, None)], None));
        };
        let mut lines = Vec::with_capacity(chunk.len());
        for item in chunk {
            match item {
                Ok(line) => lines.push(line),
                Err(e) => {
                    let failed = Failure::from(e).message;
                    let last = vec![
                        Action::LogLines(id.clone(), lines),
                        Action::LogEnded(id, Some(failed)),
                    ];
                    return Some((last, None));
                }
            }
        }
        Some((
            vec![Action::LogLines(id.clone(), lines)],
            Some((chunks, id)),
        ))
    })
    .flat_map(stream::iter)
    .boxed()
}

/// The merged logs of several containers, under the one key `key`: their histories
/// fetched at once and interleaved by time (the last `tail` of them all), then, with
/// `follow`, every container followed from where its history ended, each batch in time
/// order. A container whose logs cannot be read is named in the end's message; the others
/// go on.
pub async fn merged_logs(
    backend: &AnyBackend,
    key: String,
    members: Vec<(String, String)>,
    options: LogOptions,
) -> BoxStream<'static, Action> {
    let started = crate::util::time::unix_now();
    let history = LogOptions {
        follow: false,
        ..options
    };
    let fetched = futures::future::join_all(members.iter().map(|(id, _)| async move {
        let lines = timed(backend.container_logs(id, history)).await?;
        let lines: Vec<_> = lines.collect().await;
        lines
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(Failure::from)
    }))
    .await;
    let mut failed = Vec::new();
    let mut lines: Vec<(u16, crate::model::LogLine)> = Vec::new();
    let mut last = vec![i128::MIN; members.len()];
    for (i, result) in fetched.into_iter().enumerate() {
        match result {
            Ok(history) => {
                if let Some(l) = history.last() {
                    last[i] = l.timestamp_ns;
                }
                lines.extend(history.into_iter().map(|l| (i as u16, l)));
            }
            Err(f) => failed.push(format!("{}: {}", members[i].1, f.message)),
        }
    }
    // Stable: a container's lines keep their order when two have the same time.
    lines.sort_by_key(|(_, l)| l.timestamp_ns);
    if let Some(tail) = options.tail {
        lines.drain(..lines.len().saturating_sub(tail));
    }
    let ended = move |failed: &[String]| {
        (!failed.is_empty()).then(|| format!("cannot read the logs of {}", failed.join("; ")))
    };
    let mut first = vec![Action::MergedLogLines(key.clone(), lines)];
    if !options.follow {
        first.push(Action::LogEnded(
            key,
            ended(&failed).or(Some("end of the logs".into())),
        ));
        return stream::iter(first).boxed();
    }
    let mut follows = Vec::new();
    for (i, (id, name)) in members.iter().enumerate() {
        if failed.iter().any(|f| f.starts_with(&format!("{name}: "))) {
            continue;
        }
        // From the second its history ended in (or the start), without what it already had.
        let from = if last[i] == i128::MIN {
            started
        } else {
            (last[i] / 1_000_000_000) as i64
        };
        let follow = LogOptions {
            follow: true,
            tail: None,
            since: Some(from),
        };
        match timed(backend.container_logs(id, follow)).await {
            Ok(s) => {
                let after = last[i];
                follows.push(
                    s.filter_map(move |item| async move {
                        match item {
                            Ok(l) if l.timestamp_ns <= after => None,
                            other => Some((i as u16, other)),
                        }
                    })
                    .boxed(),
                );
            }
            Err(f) => failed.push(format!("{name}: {}", f.message)),
        }
    }
    if let Some(message) = ended(&failed) {
        first.push(Action::LogEnded(key.clone(), Some(message)));
    }
    let names: Vec<String> = members.into_iter().map(|(_, n)| n).collect();
    let rest = stream::select_all(follows)
        .ready_chunks(LOG_BATCH)
        .map(move |chunk| {
            let mut lines = Vec::with_capacity(chunk.len());
            let mut actions = Vec::new();
            for (i, item) in chunk {
                match item {
                    Ok(l) => lines.push((i, l)),
                    Err(e) => actions.push(Action::LogEnded(
                        key.clone(),
                        Some(format!(
                            "the logs of {} failed: {}",
                            names[usize::from(i)],
                            Failure::from(e).message
                        )),
                    )),
                }
            }
            lines.sort_by_key(|(_, l)| l.timestamp_ns);
            actions.insert(0, Action::MergedLogLines(key.clone(), lines));
            stream::iter(actions)
        })
        .flatten();
    stream::iter(first).chain(rest).boxed()
}

/// A container's resource samples, then their end.
pub async fn stats(backend: &AnyBackend, id: String) -> BoxStream<'static, Action> {
    let samples = match timed(backend.container_stats(&id)).await {
        Ok(s) => s,
        Err(f) => return stream::iter([Action::StatsEnded(id, Some(f.message))]).boxed(),
    };
    stream::unfold(Some((samples, id)), |state| async move {
        let (mut samples, id) = state?;
        match samples.next().await {
            Some(Ok(sample)) => Some((Action::Stats(id.clone(), sample), Some((samples, id)))),
            Some(Err(e)) => Some((Action::StatsEnded(id, Some(Failure::from(e).message)), None)),
            None => Some((Action::StatsEnded(id, None), None)),
        }
    })
    .boxed()
}

/// The samples of a container on screen for its CPU and MEM columns, until its stream ends.
pub async fn usage(backend: &AnyBackend, id: String) -> BoxStream<'static, Action> {
    let samples = match timed(backend.container_usage(&id)).await {
        Ok(s) => s,
        Err(_) => return stream::iter([Action::UsageEnded(id)]).boxed(),
    };
    // An error ends the stream as its end does.
    let samples = samples
        .take_while(|r| std::future::ready(r.is_ok()))
        .filter_map(|r| std::future::ready(r.ok()));
    let ended = Action::UsageEnded(id.clone());
    samples
        .map(move |sample| Action::Usage(id.clone(), sample))
        .chain(stream::iter([ended]))
        .boxed()
}

/// A pull's progress, ending with the report that it is done or why it failed.
pub async fn pull(backend: &AnyBackend, reference: String) -> BoxStream<'static, Action> {
    let progress = match timed(backend.pull_image(&reference)).await {
        Ok(s) => s,
        Err(f) => return stream::iter([Action::Pulled(reference, Err(f.message))]).boxed(),
    };
    stream::unfold(Some((progress, reference)), |state| async move {
        let (mut progress, reference) = state?;
        let item = progress.next().await?.map_err(|e| Failure::from(e).message);
        let end = matches!(
            &item,
            Err(_)
                | Ok(PullProgress {
                    status: PullStatus::Done { .. },
                    ..
                })
        );
        let action = Action::Pulled(reference.clone(), item);
        Some((action, (!end).then_some((progress, reference))))
    })
    .boxed()
}

/// A build's progress, ending with the image made or why the build failed. The Dockerfile
/// is read off the UI thread.
pub async fn build(backend: &AnyBackend, request: BuildRequest) -> BoxStream<'static, Action> {
    let spec = tokio::task::spawn_blocking(move || request.spec())
        .await
        .unwrap_or_else(|e| Err(format!("reading the Dockerfile failed: {e}")));
    let spec = match spec {
        Ok(s) => s,
        Err(e) => return stream::iter([Action::Building(Err(e))]).boxed(),
    };
    let progress = match timed(backend.build_image(spec)).await {
        Ok(s) => s,
        Err(f) => return stream::iter([Action::Building(Err(f.message))]).boxed(),
    };
    stream::unfold(Some(progress), |state| async move {
        let mut progress = state?;
        let item = match progress.next().await {
            Some(item) => item.map_err(|e| Failure::from(e).message),
            None => Err("the build ended without an image".to_string()),
        };
        let end = matches!(&item, Err(_) | Ok(BuildEvent::Built { .. }));
        Some((Action::Building(item), (!end).then_some(progress)))
    })
    .boxed()
}

/// The backend's changes as they happen, then the end of the stream.
pub async fn events(backend: &AnyBackend) -> BoxStream<'static, Action> {
    let changes = match backend.events().await {
        Ok(s) => s,
        Err(e) => {
            return stream::iter([Action::EventsEnded(Some(Failure::from(e).message))]).boxed();
        }
    };
    stream::unfold(Some(changes), |state| async move {
        let mut changes = state?;
        match changes.next().await {
            Some(Ok(event)) => Some((Action::Backend(event), Some(changes))),
            Some(Err(e)) => Some((Action::EventsEnded(Some(Failure::from(e).message)), None)),
            None => Some((Action::EventsEnded(None), None)),
        }
    })
    .boxed()
}
