//! One followed path: the file at it now, the files that were at it before and still hold
//! lines not read (rotated, or a copy left by copytruncate), and the files seen at it since,
//! held open in the order they came so that no further rotation can lose them. A file is
//! known by its inode and its first bytes ([`FileId`]): a truncation, or a file deleted and
//! created again under the old inode, is a new file read from its start.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use crate::checkpoint::{SavedSource, Shape};
use crate::fileid::FileId;
use crate::input::{Origin, Sink};
use crate::lines::{Line, LineReader};
use crate::multiline::{Assembler, Rule};
use crate::rotated::{Rotated, Sibling, open_regular};
use crate::tracker::Position;

/// The read buffer of each open file (a hundred followed files hold 6.4 MiB of them).
const BUFFER: usize = 64 * 1024;
/// The fewest first bytes that tell a copy of a file by its content alone (a shorter head,
/// such as a timestamp, is shared by many files).
const MIN_COPY_HEAD: u64 = 256;
/// Files of the path remembered for the checkpoint's list of files still to read.
const CHAIN: usize = 64;

/// What every source is read with.
#[derive(Clone, Debug)]
pub struct Settings {
    pub rotated: Rotated,
    /// How long a file replaced at its path is still read (a logger may write to it late).
    pub rotate_wait: Duration,
    /// The longest line held.
    pub max_line: usize,
    pub multiline: Option<Rule>,
}

/// What a look at the file being read found.
enum Checked {
    Same,
    /// Rotated, grown past its fingerprint, or the next file is read.
    Changed,
    /// Shorter than what was read, or other bytes where it began.
    Truncated,
}

/// What a step did.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Read or handed in something: step again soon.
    Busy,
    /// Nothing new.
    Idle,
    /// A line waits for the checkpoint to reserve past it.
    NeedsReserve,
    /// The run is stopping: the producer takes no more.
    Stopped,
}

/// The file being read.
struct Reading {
    reader: BufReader<File>,
    lines: LineReader,
    id: FileId,
    name: String,
    /// A copy read for what its truncated original lost: to its end, then the next file.
    copy: bool,
}

impl Reading {
    fn at(file: File, id: FileId, name: String, offset: u64, max: usize) -> io::Result<Reading> {
        let mut reader = BufReader::with_capacity(BUFFER, file);
        reader.seek(SeekFrom::Start(offset))?;
        Ok(Reading {
            reader,
            lines: LineReader::new(max, offset, 0),
            id,
            name,
            copy: false,
        })
    }
}

/// A file to read after the current one, held open.
struct Queued {
    file: File,
    id: FileId,
    name: String,
    /// When another file took its place at the path (its grace period runs from there).
    replaced_at: Option<Instant>,
}

/// What goes to the producer, in order.
enum Item {
    Line(Line, FileId),
    /// The source moved on to here without a line (a new file, a truncation).
    Passed(Position),
}

/// One followed path.
pub struct Source {
    pub index: usize,
    pub path: PathBuf,
    name: String,
    key: Option<String>,
    reading: Option<Reading>,
    queue: VecDeque<Queued>,
    /// The files of the path in reading order: recent ones read, the one being read, queued.
    chain: VecDeque<FileId>,
    /// When the file being read was seen replaced at the path.
    replaced_at: Option<Instant>,
    assembler: Assembler,
    ready: VecDeque<Item>,
    reserved: Option<Position>,
    /// Bytes read since the last reservation, and when it was made: the reading rate.
    read_since: u64,
    reserved_at: Instant,
    modified_ns: u64,
    waiting_said: bool,
    complete: Vec<Line>,
}

/// The instant of `t` (a file's last write), at most an hour back.
fn since(t: SystemTime) -> Instant {
    let now = Instant::now();
    let ago = SystemTime::now().duration_since(t).unwrap_or_default();
    now.checked_sub(ago.min(Duration::from_secs(3600)))
        .unwrap_or(now)
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Source {
    /// The source of `path` (absolute), number `index`; `key`: every record's partition key.
    pub fn new(index: usize, path: PathBuf, key: Option<String>) -> Source {
        Source {
            index,
            name: path.display().to_string(),
            path,
            key,
            reading: None,
            queue: VecDeque::new(),
            chain: VecDeque::new(),
            replaced_at: None,
            assembler: Assembler::default(),
            ready: VecDeque::new(),
            reserved: None,
            read_since: 0,
            reserved_at: Instant::now(),
            modified_ns: 0,
            waiting_said: false,
            complete: Vec::new(),
        }
    }

    /// Where to start: with no checkpoint, the file at the path from its start (or its end,
    /// `at_end`); else the checkpointed file at its offset, wherever it went (rotated, or its
    /// copy when it was truncated), then the files that came after it, then the file at the
    /// path. Returns how many lines will be sent again although they may be stored already
    /// (those between the checkpoint and its reservation).
    pub fn resume(
        &mut self,
        saved: Option<&SavedSource>,
        at_end: bool,
        settings: &Settings,
    ) -> io::Result<u64> {
        let Some(saved) = saved else {
            if let Some(live) = open_regular(&self.path) {
                let offset = if at_end { live.len } else { 0 };
                self.start(live, offset, settings)?;
            }
            return Ok(0);
        };
        let mut candidates: Vec<Sibling> = open_regular(&self.path).into_iter().collect();
        for s in settings.rotated.siblings(&self.path) {
            if !candidates.iter().any(|c| c.id.same_inode_as(&s.id)) {
                candidates.push(s);
            }
        }
        let s = saved.settled;
        let exact = position(&candidates, |c| {
            Ok(c.id.same_inode_as(&s.file) && s.file.head_matches(&c.file)?)
        })?;
        let copy = |candidates: &[Sibling]| {
            position(candidates, |c| {
                Ok(s.file.head_len >= MIN_COPY_HEAD
                    && !c.id.same_inode_as(&s.file)
                    && c.len >= s.offset
                    && s.file.head_matches(&c.file)?)
            })
        };
        // Where the checkpoint goes on (its file, or a copy of it), and whether the lines past
        // it may have been sent (true unless the file was truncated).
        let mut first: Option<(Sibling, u64)> = None;
        let mut from_checkpoint = false;
        let mut truncated: Option<Sibling> = None;
        let reference = saved.modified_ns;
        if let Some(i) = exact {
            let c = candidates.remove(i);
            if c.len >= s.offset {
                eprintln!(
                    "{}: going on from the checkpoint at offset {}",
                    c.path.display(),
                    s.offset
                );
                first = Some((c, s.offset));
                from_checkpoint = true;
            } else {
                eprintln!(
                    "{}: shorter than the checkpoint's offset {} (truncated while stopped): read again from its start",
                    c.path.display(),
                    s.offset
                );
                truncated = Some(c);
            }
        }
        if first.is_none()
            && let Some(i) = copy(&candidates)?
        {
            let c = candidates.remove(i);
            eprintln!(
                "{}: holds the checkpointed file's lines (copied before a truncation): going on in it from offset {}",
                c.path.display(),
                s.offset
            );
            first = Some((c, s.offset));
            from_checkpoint = true;
        }
        if first.is_none() && truncated.is_none() {
            eprintln!(
                "{}: the checkpointed file is gone (deleted, compressed, or rotated more times than --rotated keeps): what it held past offset {} was not read",
                self.name, s.offset
            );
        }
        if let Some(t) = truncated {
            // Read after the copy (when there is one), from its start.
            candidates.insert(0, t);
        }
        // The files after it: those seen at the path before the stop, then rotated files
        // written after it (when it is no longer the file at the path), then the path's file.
        let live_is_first = first
            .as_ref()
            .is_some_and(|(c, _)| c.path == self.path && c.id.same_inode_as(&s.file));
        let mut after: Vec<Sibling> = Vec::new();
        for id in &saved.pending {
            // The file itself (renamed since), else a copy of it (copytruncate since).
            let found = match position(&candidates, |c| {
                Ok(c.id.same_inode_as(id) && id.head_matches(&c.file)?)
            })? {
                Some(i) => Some(i),
                None if id.head_len >= MIN_COPY_HEAD => {
                    position(&candidates, |c| id.head_matches(&c.file))?
                }
                None => None,
            };
            if let Some(i) = found {
                after.push(candidates.remove(i));
            }
        }
        if !live_is_first {
            let mut newer: Vec<Sibling> = Vec::new();
            let mut i = 0;
            while i < candidates.len() {
                let c = &candidates[i];
                let after_it = match &first {
                    Some((f, _)) => c.after(f),
                    None => nanos(c.modified) >= reference,
                };
                if c.path != self.path && after_it {
                    newer.push(candidates.remove(i));
                } else {
                    i += 1;
                }
            }
            newer.sort_by_key(Sibling::age);
            after.extend(newer);
        }
        if let Some(i) = candidates.iter().position(|c| c.path == self.path) {
            after.push(candidates.remove(i));
        }
        // How many lines may be stored already: from the checkpoint to its reservation.
        let mut resend = 0;
        if from_checkpoint && let Some((c, offset)) = &first {
            let r = saved.reserved;
            if r.file.same_inode_as(&s.file) {
                resend += count_lines(&c.file, *offset, Some(r.offset))?;
            } else if r != s {
                resend += count_lines(&c.file, *offset, None)?;
                for a in &after {
                    let here = a.id.same_inode_as(&r.file);
                    resend += count_lines(&a.file, 0, here.then_some(r.offset))?;
                    if here {
                        break;
                    }
                }
            }
        }
        // A file that is no longer at the path was replaced before the stop, when is not known:
        // its grace period runs from its last write.
        let first = first.or_else(|| (!after.is_empty()).then(|| (after.remove(0), 0)));
        if let Some((c, offset)) = first {
            let replaced = (c.path != self.path).then(|| since(c.modified));
            self.start(c, offset, settings)?;
            self.replaced_at = replaced;
        }
        let n = after.len();
        for (i, a) in after.into_iter().enumerate() {
            let replaced = (i + 1 < n || a.path != self.path).then(|| since(a.modified));
            self.chain.push_back(a.id);
            self.queue.push_back(Queued {
                name: a.path.display().to_string(),
                file: a.file,
                id: a.id,
                replaced_at: replaced,
            });
        }
        Ok(resend)
    }

    /// Starts reading `file` at `offset`.
    fn start(&mut self, file: Sibling, offset: u64, settings: &Settings) -> io::Result<()> {
        let name = file.path.display().to_string();
        self.chain.push_back(file.id);
        self.modified_ns = nanos(file.modified);
        let reading = Reading::at(file.file, file.id, name, offset, settings.max_line)?;
        self.ready.push_back(Item::Passed(Position {
            file: file.id,
            offset,
        }));
        self.reading = Some(reading);
        Ok(())
    }

    /// Reads and hands in up to `budget` bytes of lines; looks at the path when at the end of
    /// what is there (and every second while not).
    pub fn step(&mut self, sink: &Sink, settings: &Settings, budget: u64) -> io::Result<Step> {
        let mut step = self.hand(sink)?;
        if step != Step::Idle {
            return Ok(step);
        }
        if self.reading.is_none() {
            return self.appear(settings);
        }
        let now = Instant::now();
        let reading = self.reading.as_mut().expect("reading");
        let from = reading.lines.offset();
        let line_start = reading.lines.line_start();
        let held = self.ready.len();
        let mut at_end = false;
        loop {
            let reading = self.reading.as_mut().expect("reading");
            if reading.lines.offset().saturating_sub(from) >= budget {
                break;
            }
            let Some(line) = reading.lines.next(&mut reading.reader)? else {
                at_end = true;
                break;
            };
            step = Step::Busy;
            self.offer(line, settings, now);
        }
        let reading = self.reading.as_ref().expect("reading");
        self.read_since += reading.lines.offset().saturating_sub(from);
        // What was read is handed in only once the file is known to be the same one: a file
        // truncated and written again past the offset reads as if it had grown.
        match self.check(settings, at_end)? {
            Checked::Same => {}
            Checked::Changed => step = Step::Busy,
            Checked::Truncated => {
                self.ready.truncate(held);
                self.truncated(settings, line_start)?;
                step = Step::Busy;
            }
        }
        if let Some(rule) = &settings.multiline
            && let Some(event) = self.assembler.due(rule, Instant::now())
        {
            let id = self.reading.as_ref().map_or_else(FileId::default, |r| r.id);
            self.ready.push_back(Item::Line(event, id));
        }
        match self.hand(sink)? {
            Step::Idle => Ok(step),
            other => Ok(other),
        }
    }

    /// A line read: as it is, or into the multi-line event it belongs to.
    fn offer(&mut self, line: Line, settings: &Settings, now: Instant) {
        let id = self.reading.as_ref().map_or_else(FileId::default, |r| r.id);
        match &settings.multiline {
            None => self.ready.push_back(Item::Line(line, id)),
            Some(rule) => {
                self.assembler.push(rule, line, now, &mut self.complete);
                for l in self.complete.drain(..) {
                    self.ready.push_back(Item::Line(l, id));
                }
            }
        }
    }

    /// Hands in what is ready, up to the checkpoint's reservation.
    fn hand(&mut self, sink: &Sink) -> io::Result<Step> {
        let mut step = Step::Idle;
        while let Some(item) = self.ready.pop_front() {
            match item {
                Item::Passed(at) => {
                    sink.passed(self.index, at);
                }
                Item::Line(line, file) => {
                    let end = Position {
                        file,
                        offset: line.end(),
                    };
                    if sink.reserving
                        && !self
                            .reserved
                            .is_some_and(|r| r.same_file(&end) && end.offset <= r.offset)
                    {
                        self.ready.push_front(Item::Line(line, file));
                        return Ok(Step::NeedsReserve);
                    }
                    let origin = Origin {
                        source: self.index,
                        name: &self.name,
                        key: self.key.as_deref(),
                    };
                    if sink.line(&origin, line, end).is_err() {
                        return Ok(Step::Stopped);
                    }
                }
            }
            step = Step::Busy;
        }
        Ok(step)
    }

    /// Reserves ahead of what this source will hand in next: what it reads in `ahead` at the
    /// rate it read since its last reservation, within `bounds` bytes (each reservation is a
    /// synced write: a fast reader makes few of them).
    pub fn reserve(&mut self, ahead: Duration, bounds: (u64, u64)) {
        let elapsed = self.reserved_at.elapsed().as_secs_f64().max(1e-3);
        let rate = self.read_since as f64 / elapsed;
        let bytes = ((rate * ahead.as_secs_f64()) as u64).clamp(bounds.0, bounds.1.max(bounds.0));
        self.read_since = 0;
        self.reserved_at = Instant::now();
        let next = self.ready.iter().find_map(|item| match item {
            Item::Line(line, file) => Some(Position {
                file: *file,
                offset: line.end(),
            }),
            Item::Passed(_) => None,
        });
        let at = next.or_else(|| {
            self.reading.as_ref().map(|r| Position {
                file: r.id,
                offset: r.lines.offset(),
            })
        });
        if let Some(at) = at {
            self.reserved = Some(Position {
                file: at.file,
                offset: at.offset.saturating_add(bytes),
            });
        }
    }

    /// Bytes not read yet: the rest of the file being read and the files queued after it.
    pub fn behind(&self) -> u64 {
        let len = |f: &File| f.metadata().map_or(0, |m| m.len());
        let reading = self.reading.as_ref().map_or(0, |r| {
            len(r.reader.get_ref()).saturating_sub(r.lines.offset())
        });
        reading + self.queue.iter().map(|q| len(&q.file)).sum::<u64>()
    }

    /// What the checkpoint keeps of this source.
    pub fn shape(&self) -> Shape {
        Shape {
            path: self.path.clone(),
            reserved: self.reserved,
            chain: self.chain.iter().copied().collect(),
            modified_ns: self.modified_ns,
        }
    }

    /// No file yet: one that appeared at the path is read from its start.
    fn appear(&mut self, settings: &Settings) -> io::Result<Step> {
        match open_regular(&self.path) {
            Some(file) => {
                if self.waiting_said {
                    eprintln!("{}: appeared; reading it", self.name);
                }
                self.start(file, 0, settings)?;
                Ok(Step::Busy)
            }
            None => {
                if !self.waiting_said {
                    eprintln!("{}: not there yet; waiting for it", self.name);
                    self.waiting_said = true;
                }
                Ok(Step::Idle)
            }
        }
    }

    /// Looks at the file being read and at the path: truncated, grown, replaced. At the end of
    /// what is there and past the grace period of a replaced file, moves to the next file.
    /// True when something changed.
    fn check(&mut self, settings: &Settings, at_end: bool) -> io::Result<Checked> {
        let reading = self.reading.as_mut().expect("reading");
        let file = reading.reader.get_ref();
        let meta = file.metadata()?;
        let (len, offset) = (meta.len(), reading.lines.offset());
        let copy = reading.copy;
        let truncated = !copy && (len < offset || !reading.id.head_matches(file)?);
        let grown = reading.id.grown(file, len)?;
        self.modified_ns = meta.modified().map_or(self.modified_ns, nanos);
        if copy {
            return if at_end && self.next_file(settings)? {
                Ok(Checked::Changed)
            } else {
                Ok(Checked::Same)
            };
        }
        if truncated {
            return Ok(Checked::Truncated);
        }
        let current = reading.id;
        if grown != current {
            reading.id = grown;
            for f in self.chain.iter_mut().filter(|f| **f == current) {
                *f = grown;
            }
        }
        let old_name = reading.name.clone();
        let now = Instant::now();
        let mut changed = false;
        match fs::metadata(&self.path) {
            Ok(m) if grown.same_inode(&m) => self.replaced_at = None,
            Ok(m) => {
                self.replaced_at.get_or_insert(now);
                if m.is_file()
                    && !self.queue.iter().any(|q| q.id.same_inode(&m))
                    && let Some(new) = open_regular(&self.path)
                    && !self.chain.iter().any(|f| f.is(&new.file).unwrap_or(false))
                {
                    eprintln!(
                        "{}: rotated; {old_name} is read to its end (and for --rotate-wait), then the new file",
                        self.name
                    );
                    if let Some(last) = self.queue.back_mut() {
                        last.replaced_at.get_or_insert(now);
                    }
                    self.chain.push_back(new.id);
                    self.queue.push_back(Queued {
                        name: new.path.display().to_string(),
                        file: new.file,
                        id: new.id,
                        replaced_at: None,
                    });
                    changed = true;
                }
            }
            Err(_) => {
                self.replaced_at.get_or_insert(now);
            }
        }
        let waited = self
            .replaced_at
            .is_some_and(|t| now.saturating_duration_since(t) >= settings.rotate_wait);
        if at_end && waited && !self.queue.is_empty() {
            changed |= self.next_file(settings)?;
        }
        Ok(if changed {
            Checked::Changed
        } else {
            Checked::Same
        })
    }

    /// The file being read is done: its last line (even without a newline) and the event it
    /// holds go out, then the next file is read from its start.
    fn next_file(&mut self, settings: &Settings) -> io::Result<bool> {
        let Some(next) = self.queue.pop_front() else {
            return Ok(false);
        };
        self.finish_file(settings);
        let old = self.reading.take().map(|r| r.name).unwrap_or_default();
        eprintln!(
            "{old}: read to its end; reading {} from its start",
            next.name
        );
        self.modified_ns = next
            .file
            .metadata()
            .and_then(|m| m.modified())
            .map_or(self.modified_ns, nanos);
        self.replaced_at = next.replaced_at;
        let reading = Reading::at(next.file, next.id, next.name, 0, settings.max_line)?;
        self.ready.push_back(Item::Passed(Position {
            file: next.id,
            offset: 0,
        }));
        self.reading = Some(reading);
        while self.chain.len() > CHAIN {
            self.chain.pop_front();
        }
        Ok(true)
    }

    /// What the file being read still holds back: a last line without a newline, an event.
    fn finish_file(&mut self, settings: &Settings) {
        let Some(reading) = self.reading.as_mut() else {
            return;
        };
        if let Some(line) = reading.lines.finish() {
            self.offer(line, settings, Instant::now());
        }
        if let Some(event) = self.assembler.finish() {
            let id = self.reading.as_ref().map_or_else(FileId::default, |r| r.id);
            self.ready.push_back(Item::Line(event, id));
        }
    }

    /// The file being read was truncated (or written again from its start) before the lines
    /// from `from` on were read: they are sought in a copy beside it (copytruncate), then it is
    /// read from its start.
    fn truncated(&mut self, settings: &Settings, from: u64) -> io::Result<()> {
        // An event of lines read before goes out; one that took lines read since is not sure.
        let id = self.reading.as_ref().expect("reading").id;
        if self.assembler.end().is_some_and(|end| end <= from)
            && let Some(event) = self.assembler.finish()
        {
            self.ready.push_back(Item::Line(event, id));
        }
        self.assembler = Assembler::default();
        let reading = self.reading.as_mut().expect("reading");
        let old = reading.id;
        eprintln!(
            "{}: truncated; reading it again from the start",
            reading.name
        );
        let new = FileId::of(reading.reader.get_ref())?;
        self.chain.retain(|f| !f.same_inode_as(&old));
        let mut siblings = settings.rotated.siblings(&self.path);
        let copy = position(&siblings, |c| {
            Ok(old.head_len >= MIN_COPY_HEAD
                && !c.id.same_inode_as(&old)
                && c.len > from
                && old.head_matches(&c.file)?)
        })?
        .map(|i| siblings.swap_remove(i));
        match copy {
            Some(copy) => {
                eprintln!(
                    "{}: a copy of it from before the truncation: reading what was not read yet from offset {from}",
                    copy.path.display()
                );
                let live = self.reading.take().expect("reading");
                self.chain.push_back(copy.id);
                self.chain.push_back(new);
                self.queue.push_front(Queued {
                    file: live.reader.into_inner(),
                    id: new,
                    name: live.name,
                    replaced_at: None,
                });
                let name = copy.path.display().to_string();
                let mut reading = Reading::at(copy.file, copy.id, name, from, settings.max_line)?;
                reading.copy = true;
                self.ready.push_back(Item::Passed(Position {
                    file: copy.id,
                    offset: from,
                }));
                self.reading = Some(reading);
            }
            None => {
                reading.reader.seek(SeekFrom::Start(0))?;
                reading.lines.restart(0);
                reading.id = new;
                self.chain.push_back(new);
                self.ready.push_back(Item::Passed(Position {
                    file: new,
                    offset: 0,
                }));
            }
        }
        Ok(())
    }
}

/// The index of the first of `items` that `pred` holds for.
fn position<T>(items: &[T], pred: impl Fn(&T) -> io::Result<bool>) -> io::Result<Option<usize>> {
    for (i, item) in items.iter().enumerate() {
        if pred(item)? {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Lines that end in `file` after `from`, up to `to` (the end when `None`); the file's own
/// read position is not moved.
fn count_lines(file: &File, from: u64, to: Option<u64>) -> io::Result<u64> {
    let mut reader = BufReader::new(At { file, pos: from });
    // Only line ends are needed: no line is held.
    let mut lines = LineReader::new(0, from, 0);
    let mut n = 0;
    while let Some(line) = lines.next(&mut reader)? {
        if to.is_some_and(|to| line.end() > to) {
            return Ok(n);
        }
        n += 1;
    }
    Ok(n)
}

/// Reads a file by position, leaving its cursor alone.
struct At<'a> {
    file: &'a File,
    pos: u64,
}

impl io::Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt as _;
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}
