//! `--multiline-start REGEX`: lines that do not match it belong to the event before them (a
//! Java stack trace under its log line). An event is handed on when the next one starts, when
//! `--multiline-timeout` passed since its last line, or when its file ends; one that would grow
//! past a record's limit is handed on as it is, and the line that did not fit starts the next.

use std::time::{Duration, Instant};

use regex::bytes::Regex;

use crate::lines::Line;

/// How events start and how long one waits for more lines.
#[derive(Clone, Debug)]
pub struct Rule {
    pub start: Regex,
    pub timeout: Duration,
    /// The largest event, in bytes (a record's data).
    pub max: usize,
}

/// The event being put together for one file.
#[derive(Debug, Default)]
pub struct Assembler {
    event: Option<Event>,
}

#[derive(Debug)]
struct Event {
    bytes: Vec<u8>,
    number: u64,
    start: u64,
    end: u64,
    last: Instant,
}

impl Event {
    fn into_line(self) -> Line {
        Line::Data {
            bytes: self.bytes,
            number: self.number,
            start: self.start,
            end: self.end,
        }
    }
}

impl Assembler {
    /// Takes `line`; pushes onto `out` what is complete.
    pub fn push(&mut self, rule: &Rule, line: Line, now: Instant, out: &mut Vec<Line>) {
        let (bytes, number, start, end) = match line {
            Line::Data {
                bytes,
                number,
                start,
                end,
            } => (bytes, number, start, end),
            too_long @ Line::TooLong { .. } => {
                out.extend(self.finish());
                out.push(too_long);
                return;
            }
        };
        if let Some(event) = &mut self.event
            && !rule.start.is_match(&bytes)
            && event.bytes.len() + 1 + bytes.len() <= rule.max
        {
            event.bytes.push(b'\n');
            event.bytes.extend_from_slice(&bytes);
            event.end = end;
            event.last = now;
            return;
        }
        out.extend(self.finish());
        self.event = Some(Event {
            bytes,
            number,
            start,
            end,
            last: now,
        });
    }

    /// The event, when no line came for the rule's timeout.
    pub fn due(&mut self, rule: &Rule, now: Instant) -> Option<Line> {
        let event = self.event.as_ref()?;
        if now.saturating_duration_since(event.last) < rule.timeout {
            return None;
        }
        self.finish()
    }

    /// Where the event waiting for more lines ends.
    pub fn end(&self) -> Option<u64> {
        self.event.as_ref().map(|e| e.end)
    }

    /// The event, whatever its age (its file ended).
    pub fn finish(&mut self) -> Option<Line> {
        self.event.take().map(Event::into_line)
    }

    #[cfg(test)]
    /// True while an event waits for more lines.
    pub fn holds(&self) -> bool {
        self.event.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, number: u64, start: u64) -> Line {
        Line::Data {
            bytes: text.into(),
            number,
            start,
            end: start + text.len() as u64 + 1,
        }
    }

    fn text(l: &Line) -> String {
        match l {
            Line::Data { bytes, .. } => String::from_utf8(bytes.clone()).unwrap(),
            Line::TooLong { .. } => "<too long>".into(),
        }
    }

    #[test]
    fn stack_traces_join_their_line_within_the_limit_and_the_timeout() {
        let rule = Rule {
            start: Regex::new(r"^\d{4}-").unwrap(),
            timeout: Duration::from_secs(1),
            max: 40,
        };
        let t0 = Instant::now();
        let mut a = Assembler::default();
        let mut out = Vec::new();
        let mut offset = 0;
        let mut n = 0;
        for l in [
            "  orphan continuation",
            "2026-12-07 ERROR boom",
            "  at a.b(C.java:1)",
            "  at d.e(F.java:2)",
            "2026-12-07 INFO fine",
        ] {
            n += 1;
            let next = line(l, n, offset);
            offset = next.end();
            a.push(&rule, next, t0, &mut out);
        }
        let texts: Vec<String> = out.iter().map(text).collect();
        assert_eq!(
            texts,
            [
                "  orphan continuation",
                "2026-12-07 ERROR boom\n  at a.b(C.java:1)",
                "  at d.e(F.java:2)",
            ],
            "the second frame would pass 40 bytes: it starts an event of its own"
        );
        let Line::Data { number, end, .. } = &out[1] else {
            panic!()
        };
        assert_eq!((*number, *end), (2, 63), "from line 2 to the end of line 3");
        assert!(a.due(&rule, t0 + Duration::from_millis(999)).is_none());
        assert_eq!(
            text(&a.due(&rule, t0 + Duration::from_secs(1)).unwrap()),
            "2026-12-07 INFO fine"
        );
        assert!(!a.holds());
    }
}
