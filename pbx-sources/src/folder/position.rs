//! What a CDR directory's checkpoint says is done, in by-name mode (no `processed_dir`).
//!
//! One high-water name ("every file sorting at or before `cdr-…` is done") hides a file that
//! appears later with a name sorting before it — which is what a PBX whose clock stepped back
//! writes. So the checkpoint names the finished files themselves:
//!
//! ```text
//! v2/<floor>/<below>/<lines>/<current>/<done>/<done>/…
//! ```
//!
//! - `done`: the files finished, by name, only those still in the directory, and at most
//!   [`MAX_DONE`] of them (more only while a file not finished holds the floor);
//! - `floor`: files whose name sorts before it count as done (empty: none). It rises only when
//!   `done` is over [`MAX_DONE`], to the oldest names evicted, and never past a file present
//!   and not done, so it claims only names older than the last [`MAX_DONE`] files finished;
//! - `below`: how many files in the directory sorted before `floor` (and are not in `done`)
//!   when the checkpoint was made (a restart that finds more says a file appeared there
//!   while nothing was running);
//! - `lines`/`current`: the first `lines` lines of `current` are handled (empty: none).
//!
//! File names cannot contain `/`, so the segments need no quoting. The first form
//! (`<n>/<name>`, `done/<name>`: everything sorting before `name` done) is still read: it is
//! migrated to a floor at `name`.

use crate::CheckpointError;
use std::collections::BTreeSet;
use std::fmt::Write as _;

use pbx_core::Checkpoint;

use crate::Error;

/// The most finished files a checkpoint names (about 30 bytes each for 3CX's names).
pub(crate) const MAX_DONE: usize = 256;

/// A by-name checkpoint, decoded; see the [module docs](self).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Position {
    /// Files whose name sorts before it are done.
    pub(crate) floor: Option<String>,
    /// Files in the directory sorting before `floor` when the checkpoint was made (`None`:
    /// unknown, a migrated checkpoint).
    pub(crate) below: Option<u64>,
    /// The file being read and how many of its lines are handled.
    pub(crate) current: Option<(u64, String)>,
    /// Finished files at or after the floor.
    pub(crate) done: BTreeSet<String>,
}

/// The first form of the checkpoint (`<n>/<name>` or `done/<name>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// The first `n` lines of the file are handled.
    Lines(u64),
    /// The whole file is handled.
    Done,
}

/// Reads the first form: `(progress, name)`.
pub(crate) fn parse_v1(cp: &Checkpoint) -> Result<(Progress, String), Error> {
    let (p, name) = cp.as_str().split_once('/').ok_or_else(|| bad(cp))?;
    if name.is_empty() || name.contains('/') {
        return Err(bad(cp));
    }
    let p = match p {
        "done" => Progress::Done,
        n => Progress::Lines(n.parse().map_err(|_| bad(cp))?),
    };
    Ok((p, name.to_owned()))
}

fn bad(cp: &Checkpoint) -> Error {
    Error::Checkpoint(CheckpointError::BadCheckpoint {
        checkpoint: cp.to_string(),
        expected: "a CDR directory position (v2/<floor>/<below>/<lines>/<current>/<done>…, \
                   <n>/<name> or done/<name>)",
    })
}

impl Position {
    /// Decodes either form of the checkpoint.
    ///
    /// # Errors
    /// [`CheckpointError::BadCheckpoint`] for anything else.
    pub(crate) fn parse(cp: &Checkpoint) -> Result<Position, Error> {
        let Some(rest) = cp.as_str().strip_prefix("v2/") else {
            // The first form: everything before `name` done, `name` itself as it says.
            let (progress, name) = parse_v1(cp)?;
            let mut p = Position {
                floor: Some(name.clone()),
                ..Position::default()
            };
            match progress {
                Progress::Done => {
                    p.done.insert(name);
                }
                Progress::Lines(n) => p.current = Some((n, name)),
            }
            return Ok(p);
        };
        let mut parts = rest.split('/');
        let (Some(floor), Some(below), Some(lines), Some(current)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad(cp));
        };
        let below: u64 = below.parse().map_err(|_| bad(cp))?;
        let lines: u64 = lines.parse().map_err(|_| bad(cp))?;
        let mut done = BTreeSet::new();
        for name in parts {
            if name.is_empty() {
                return Err(bad(cp));
            }
            done.insert(name.to_owned());
        }
        if current.is_empty() && lines != 0 {
            return Err(bad(cp));
        }
        Ok(Position {
            floor: (!floor.is_empty()).then(|| floor.to_owned()),
            below: Some(below),
            current: (!current.is_empty()).then(|| (lines, current.to_owned())),
            done,
        })
    }

    /// The checkpoint string.
    pub(crate) fn encode(&self) -> Checkpoint {
        let mut s =
            String::with_capacity(16 + self.done.iter().map(|n| n.len() + 1).sum::<usize>());
        let (lines, current) = match &self.current {
            Some((n, name)) => (*n, name.as_str()),
            None => (0, ""),
        };
        let _ = write!(
            s,
            "v2/{}/{}/{lines}/{current}",
            self.floor.as_deref().unwrap_or(""),
            self.below.unwrap_or(0)
        );
        for name in &self.done {
            s.push('/');
            s.push_str(name);
        }
        Checkpoint::new(s)
    }

    /// Whether `name` sorts before the floor.
    pub(crate) fn below_floor(&self, name: &str) -> bool {
        self.floor.as_deref().is_some_and(|f| name < f)
    }

    /// Whether the file `name` is finished.
    pub(crate) fn is_done(&self, name: &str) -> bool {
        self.below_floor(name) || self.done.contains(name)
    }

    /// How many lines of `name` are handled already.
    pub(crate) fn lines_of(&self, name: &str) -> u64 {
        match &self.current {
            Some((n, at)) if at == name => *n,
            _ => 0,
        }
    }

    /// Whether a file already finished sorts after `name`.
    pub(crate) fn finished_after(&self, name: &str) -> bool {
        self.floor.as_deref().is_some_and(|f| name < f)
            || self.done.last().is_some_and(|last| name < last.as_str())
    }

    /// Forgets finished files no longer in the directory (`present`, sorted), then keeps
    /// [`MAX_DONE`] (see [`Position::finish`]).
    pub(crate) fn prune(&mut self, present: &[&str]) {
        self.done
            .retain(|n| present.binary_search(&n.as_str()).is_ok());
        if let Some((_, name)) = &self.current
            && present.binary_search(&name.as_str()).is_err()
        {
            self.current = None;
        }
        let first_open = present
            .iter()
            .find(|n| !self.is_done(n))
            .map(|n| (*n).to_owned());
        self.cap(first_open.as_deref(), present);
    }

    /// Marks `name` finished (even below the floor: a file that appeared there while this
    /// process watched is remembered by name); `next_open` is the first file in the
    /// directory after it that is not finished, `present` the directory's files, sorted.
    /// At most [`MAX_DONE`] names are kept: the oldest at or above the floor leave and the
    /// floor rises to the next one — never past `next_open` nor the file being read; names
    /// below the floor leave only when no other can.
    pub(crate) fn finish(&mut self, name: &str, next_open: Option<&str>, present: &[&str]) {
        if self.current.as_ref().is_some_and(|(_, at)| at == name) {
            self.current = None;
        }
        self.done.insert(name.to_owned());
        self.cap(next_open, present);
    }

    fn cap(&mut self, first_open: Option<&str>, present: &[&str]) {
        let mut moved = false;
        while self.done.len() > MAX_DONE {
            let from = self.floor.clone().unwrap_or_default();
            let mut above = self.done.range(from..);
            match (above.next(), above.next()) {
                (Some(first), Some(next)) => {
                    let blocked = first_open.is_some_and(|open| open < next.as_str())
                        || self
                            .current
                            .as_ref()
                            .is_some_and(|(_, at)| at.as_str() < next.as_str());
                    if blocked {
                        break;
                    }
                    let (first, next) = (first.clone(), next.clone());
                    self.done.remove(&first);
                    self.floor = Some(next);
                    moved = true;
                }
                _ if self.done.first().is_some_and(|n| self.below_floor(n)) => {
                    self.done.pop_first();
                }
                _ => break,
            }
        }
        if moved || self.below.is_none() {
            self.below = Some(self.count_below(present));
        }
    }

    /// How many of `present` (sorted) sort before the floor, not counting those named in
    /// `done` (files that appeared there while a process watched, and were read).
    pub(crate) fn count_below(&self, present: &[&str]) -> u64 {
        match &self.floor {
            Some(f) => {
                let all = present.partition_point(|n| *n < f.as_str());
                let named = self
                    .done
                    .iter()
                    .take_while(|n| n.as_str() < f.as_str())
                    .count();
                all.saturating_sub(named) as u64
            }
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_read_and_the_new_one_round_trips() {
        let p = Position::parse(&Checkpoint::new("done/b.log")).unwrap();
        assert!(p.is_done("a.log") && p.is_done("b.log") && !p.is_done("c.log"));
        let p = Position::parse(&Checkpoint::new("3/b.log")).unwrap();
        assert!(p.is_done("a.log") && !p.is_done("b.log"));
        assert_eq!(p.lines_of("b.log"), 3);
        let mut p = Position::default();
        p.done.insert("b.log".into());
        p.current = Some((2, "c.log".into()));
        let cp = p.encode();
        assert_eq!(cp.as_str(), "v2//0/2/c.log/b.log");
        assert_eq!(Position::parse(&cp).unwrap().encode(), cp);
        for bad in [
            "1:2:3",
            "v2/",
            "v2/a/x/0/",
            "v2/a/0/1//",
            "v2/a/0/0//b//c",
            "done/",
            "x/a",
            "1/a/b",
        ] {
            assert!(
                matches!(
                    Position::parse(&Checkpoint::new(bad)),
                    Err(Error::Checkpoint(CheckpointError::BadCheckpoint { .. }))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_floor_rises_only_past_finished_files() {
        let names: Vec<String> = (0..MAX_DONE + 10).map(|i| format!("f{i:05}")).collect();
        let present: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut p = Position::default();
        for (i, n) in present.iter().enumerate() {
            p.finish(n, present.get(i + 1).copied(), &present);
        }
        assert_eq!(p.done.len(), MAX_DONE);
        assert_eq!(p.floor.as_deref(), Some("f00010"));
        assert_eq!(p.below, Some(10));
        // A file not finished holds the floor below it.
        let mut p = Position::default();
        for n in present.iter().skip(1) {
            p.finish(n, Some("f00000"), &present);
        }
        p.prune(&present);
        assert_eq!(p.floor, None, "f00000 is not done");
        assert!(!p.is_done("f00000"));
    }

    #[test]
    fn files_named_below_the_floor_are_counted_unless_finished_by_name() {
        let p = Position::parse(&Checkpoint::new("v2/c/0/0//a/c/d")).unwrap();
        // `a` sorts before the floor but was read by name (it appeared while a process ran).
        assert_eq!(p.count_below(&["a", "b", "c", "d"]), 1, "only b");
        assert_eq!(p.count_below(&["a", "c", "d"]), 0);
        assert!(p.is_done("b") && p.is_done("a") && !p.is_done("e"));
        assert!(p.finished_after("b") && p.finished_after("c") && !p.finished_after("d"));
    }
}
