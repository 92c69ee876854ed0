//! Which input lines are settled, to know how far a checkpoint may go: a position is safe once
//! every line before it is acknowledged (or skipped as bad), whatever order the outcomes
//! arrive in.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// A place in a file: the file's identity (device and inode) and a byte offset in it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub dev: u64,
    pub ino: u64,
    pub offset: u64,
}

impl Position {
    /// True when `self` and `other` are in the same file.
    pub fn same_file(&self, other: &Position) -> bool {
        (self.dev, self.ino) == (other.dev, other.ino)
    }
}

#[derive(Debug)]
struct Entry {
    /// Where the input stands once this record is settled (after its line, and after any
    /// skipped lines or file switches that followed it).
    end: Position,
    line: u64,
    done: bool,
}

/// The records in flight, by producer id (ids are given in the order records are handed in).
#[derive(Debug, Default)]
pub struct Tracker {
    base: u64,
    entries: VecDeque<Entry>,
    settled: Option<Position>,
    failed: bool,
}

impl Tracker {
    /// Starts at `at` (the checkpoint), with nothing in flight.
    pub fn new(at: Option<Position>) -> Tracker {
        Tracker {
            settled: at,
            ..Tracker::default()
        }
    }

    /// A record for input line `line` ending at `end` is about to be handed in; its id.
    pub fn sending(&mut self, line: u64, end: Position) -> u64 {
        self.entries.push_back(Entry {
            end,
            line,
            done: false,
        });
        self.base + self.entries.len() as u64 - 1
    }

    /// The record just announced by [`Tracker::sending`] was not handed in after all (it
    /// broke a limit): its line counts as passed.
    pub fn not_sent(&mut self) {
        if let Some(e) = self.entries.pop_back() {
            self.passed(e.end);
        }
    }

    /// The input moved on to `end` without a record (a skipped line, another file).
    pub fn passed(&mut self, end: Position) {
        match self.entries.back_mut() {
            Some(last) => last.end = end,
            None if !self.failed => self.settled = Some(end),
            None => {}
        }
    }

    /// Record `id` has its outcome; its input line number. A failed record holds the safe
    /// position where it is for good.
    pub fn delivered(&mut self, id: u64, acknowledged: bool) -> Option<u64> {
        let i = usize::try_from(id.checked_sub(self.base)?).ok()?;
        let entry = self.entries.get_mut(i)?;
        entry.done = true;
        let line = entry.line;
        if !acknowledged {
            self.failed = true;
        }
        // Settled entries leave either way (memory stays bounded by what is in flight); the
        // position stops at the first failure.
        while self.entries.front().is_some_and(|e| e.done) {
            let e = self.entries.pop_front().expect("front exists");
            self.base += 1;
            if !self.failed {
                self.settled = Some(e.end);
            }
        }
        Some(line)
    }

    /// Where every line before is settled.
    pub fn settled(&self) -> Option<Position> {
        self.settled
    }

    #[cfg(test)]
    /// True once a record failed (the position no longer advances).
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
            dev: 1,
            ino: 2,
            offset,
        }
    }

    #[test]
    fn the_position_advances_only_over_settled_lines() {
        let mut t = Tracker::new(Some(at(0)));
        let a = t.sending(1, at(10));
        let b = t.sending(2, at(20));
        t.passed(at(30)); // line 3 skipped after line 2
        let c = t.sending(4, at(40));
        assert_eq!(t.delivered(b, true), Some(2));
        assert_eq!(t.settled(), Some(at(0)), "line 1 is not acknowledged yet");
        assert_eq!(t.delivered(a, true), Some(1));
        assert_eq!(t.settled(), Some(at(30)), "lines 1-3 settled");
        assert_eq!(t.in_flight(), 1);
        assert_eq!(t.delivered(c, true), Some(4));
        assert_eq!(t.settled(), Some(at(40)));
        t.passed(at(50));
        assert_eq!(t.settled(), Some(at(50)));
        let d = t.sending(6, at(60));
        t.not_sent();
        assert_eq!(t.settled(), Some(at(60)));
        let e = t.sending(7, at(70));
        assert_eq!(e, d, "an id not handed in is given again");
        assert_eq!(t.delivered(e, false), Some(7));
        let f = t.sending(8, at(80));
        t.delivered(f, true);
        assert!(t.failed());
        assert_eq!(t.settled(), Some(at(60)), "held before the failed record");
        assert_eq!(t.in_flight(), 0);
        assert!(
            t.entries.is_empty(),
            "settled entries leave after a failure too"
        );
        t.passed(at(90));
        assert_eq!(t.settled(), Some(at(60)));
    }
}
