//! Which input lines are settled, to know how far a checkpoint may go: a position of a source
//! (a followed path) is safe once every line handed in before it, from any source, is
//! acknowledged (or skipped as bad), whatever order the outcomes arrive in.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::fileid::FileId;

/// A place in a file: the file's identity and a byte offset in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub file: FileId,
    pub offset: u64,
}

impl Position {
    /// True when `self` and `other` are in the same file.
    pub fn same_file(&self, other: &Position) -> bool {
        self.file.same_inode_as(&other.file)
    }
}

#[derive(Debug)]
struct Entry {
    source: usize,
    /// Where the source stands once this record is settled (after its line, and after any
    /// skipped lines or file switches that followed it).
    end: Position,
    /// Other sources that moved on without a record after this one was handed in.
    others: Vec<(usize, Position)>,
    line: u64,
    done: bool,
}

/// The records in flight, by producer id (ids are given in the order records are handed in).
#[derive(Debug, Default)]
pub struct Tracker {
    base: u64,
    entries: VecDeque<Entry>,
    settled: Vec<Option<Position>>,
    /// How many times a settled position moved.
    moves: u64,
    failed: bool,
}

impl Tracker {
    /// Nothing settled and nothing in flight.
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// A record of `source` for input line `line` ending at `end` is about to be handed in;
    /// its id.
    pub fn sending(&mut self, source: usize, line: u64, end: Position) -> u64 {
        self.entries.push_back(Entry {
            source,
            end,
            others: Vec::new(),
            line,
            done: false,
        });
        self.base + self.entries.len() as u64 - 1
    }

    /// The record just announced by [`Tracker::sending`] was not handed in after all (it
    /// broke a limit): its line counts as passed.
    pub fn not_sent(&mut self) {
        if let Some(e) = self.entries.pop_back() {
            self.passed(e.source, e.end);
            for (source, at) in e.others {
                self.passed(source, at);
            }
        }
    }

    /// The record just announced by [`Tracker::sending`] was not handed in, and its line is
    /// not passed either (the run stopped first): the position stays before it.
    pub fn withdraw(&mut self) {
        if let Some(e) = self.entries.pop_back() {
            for (source, at) in e.others {
                self.passed(source, at);
            }
        }
    }

    /// `source` moved on to `end` without a record (a skipped line, another file).
    pub fn passed(&mut self, source: usize, end: Position) {
        match self.entries.back_mut() {
            Some(last) if last.source == source => last.end = end,
            Some(last) => match last.others.iter_mut().find(|(s, _)| *s == source) {
                Some(other) => other.1 = end,
                None => last.others.push((source, end)),
            },
            None if !self.failed => self.settle(source, end),
            None => {}
        }
    }

    /// Record `id` has its outcome; its input line number. A failed record holds every
    /// source's safe position where it is for good.
    pub fn delivered(&mut self, id: u64, acknowledged: bool) -> Option<u64> {
        let i = usize::try_from(id.checked_sub(self.base)?).ok()?;
        let entry = self.entries.get_mut(i)?;
        entry.done = true;
        let line = entry.line;
        if !acknowledged {
            self.failed = true;
        }
        // Settled entries leave either way (memory stays bounded by what is in flight); the
        // positions stop at the first failure.
        while self.entries.front().is_some_and(|e| e.done) {
            let e = self.entries.pop_front().expect("front exists");
            self.base += 1;
            if !self.failed {
                self.settle(e.source, e.end);
                for (source, at) in e.others {
                    self.settle(source, at);
                }
            }
        }
        Some(line)
    }

    fn settle(&mut self, source: usize, at: Position) {
        if self.settled.len() <= source {
            self.settled.resize(source + 1, None);
        }
        self.settled[source] = Some(at);
        self.moves += 1;
    }

    /// How many times a settled position moved so far.
    pub fn moves(&self) -> u64 {
        self.moves
    }

    /// Where every line of `source` before is settled.
    pub fn settled(&self, source: usize) -> Option<Position> {
        self.settled.get(source).copied().flatten()
    }

    #[cfg(test)]
    /// True once a record failed (the positions no longer advance).
    pub fn failed(&self) -> bool {
        self.failed
    }

    #[cfg(test)]
    /// Records handed in without an outcome yet.
    pub fn in_flight(&self) -> usize {
        self.entries.iter().filter(|e| !e.done).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: u64) -> Position {
        Position {
            file: FileId {
                dev: 1,
                ino: 2,
                ..FileId::default()
            },
            offset,
        }
    }

    #[test]
    fn the_position_advances_only_over_settled_lines() {
        let mut t = Tracker::new();
        t.passed(0, at(0));
        let a = t.sending(0, 1, at(10));
        let b = t.sending(0, 2, at(20));
        t.passed(0, at(30)); // line 3 skipped after line 2
        let c = t.sending(0, 4, at(40));
        assert_eq!(t.delivered(b, true), Some(2));
        assert_eq!(t.settled(0), Some(at(0)), "line 1 is not acknowledged yet");
        assert_eq!(t.delivered(a, true), Some(1));
        assert_eq!(t.settled(0), Some(at(30)), "lines 1-3 settled");
        assert_eq!(t.in_flight(), 1);
        assert_eq!(t.delivered(c, true), Some(4));
        assert_eq!(t.settled(0), Some(at(40)));
        t.passed(0, at(50));
        assert_eq!(t.settled(0), Some(at(50)));
        let d = t.sending(0, 6, at(60));
        t.not_sent();
        assert_eq!(t.settled(0), Some(at(60)));
        let e = t.sending(0, 7, at(70));
        assert_eq!(e, d, "an id not handed in is given again");
        assert_eq!(t.delivered(e, false), Some(7));
        let f = t.sending(0, 8, at(80));
        t.delivered(f, true);
        assert!(t.failed());
        assert_eq!(t.settled(0), Some(at(60)), "held before the failed record");
        assert_eq!(t.in_flight(), 0);
        assert!(
            t.entries.is_empty(),
            "settled entries leave after a failure too"
        );
        t.passed(0, at(90));
        assert_eq!(t.settled(0), Some(at(60)));
    }

    #[test]
    fn sources_settle_apart_but_never_past_a_line_in_flight() {
        let mut t = Tracker::new();
        let a = t.sending(0, 1, at(10));
        t.passed(1, at(100)); // source 1 skipped a line while source 0's record flies
        let b = t.sending(1, 2, at(110));
        assert_eq!(t.settled(1), None);
        t.delivered(b, true);
        assert_eq!(t.settled(1), None, "behind source 0's record in flight");
        t.delivered(a, true);
        assert_eq!(t.settled(0), Some(at(10)));
        assert_eq!(t.settled(1), Some(at(110)));
        assert_eq!(t.settled(2), None);
    }
}
