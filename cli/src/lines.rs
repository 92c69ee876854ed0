//! Lines out of a byte stream, bounded: a line longer than the limit is not held, only
//! measured, and comes out as [`Line::TooLong`] with its offset; a line not yet ended at the
//! end of the input is kept until more arrives (a growing file) or the input ends.

use std::io::{self, BufRead};

/// One line of input: its number (from 1), where it starts and ends (the byte after its
/// newline) in the input.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line within the limit, without its `\n` (or `\r\n`).
    Data {
        bytes: Vec<u8>,
        number: u64,
        start: u64,
        end: u64,
    },
    /// A line over the limit: skipped, `len` bytes long.
    TooLong {
        number: u64,
        start: u64,
        end: u64,
        len: u64,
    },
}

impl Line {
    /// The offset just after the line.
    pub fn end(&self) -> u64 {
        match self {
            Line::Data { end, .. } | Line::TooLong { end, .. } => *end,
        }
    }
}

/// Splits input into [`Line`]s, holding at most `max` bytes of a line.
#[derive(Debug)]
pub struct LineReader {
    max: usize,
    partial: Vec<u8>,
    /// Bytes of the current line so far (may exceed `max`: then `partial` stopped growing).
    len: u64,
    start: u64,
    offset: u64,
    number: u64,
}

impl LineReader {
    /// A reader whose input starts at byte `offset` and line `number + 1`.
    pub fn new(max: usize, offset: u64, number: u64) -> LineReader {
        LineReader {
            max,
            partial: Vec::new(),
            len: 0,
            start: offset,
            offset,
            number,
        }
    }

    /// The offset of the next byte to read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Where the line not yet ended starts (the offset after the last complete line).
    pub fn line_start(&self) -> u64 {
        self.start
    }

    /// The next complete line, or `None` at the end of what `r` has now (a line not yet ended
    /// is kept for the next call).
    pub fn next(&mut self, r: &mut impl BufRead) -> io::Result<Option<Line>> {
        loop {
            let buf = match r.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(None);
            }
            let (take, ended) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (buf.len(), false),
            };
            let room = self.max.saturating_sub(self.partial.len());
            if self.len <= self.max as u64 {
                self.partial.extend_from_slice(&buf[..take.min(room + 1)]);
            }
            self.len += take as u64;
            let used = take + usize::from(ended);
            r.consume(used);
            self.offset += used as u64;
            if ended {
                return Ok(Some(self.emit()));
            }
        }
    }

    /// At the real end of the input: the last line when it has no newline.
    pub fn finish(&mut self) -> Option<Line> {
        (self.len > 0).then(|| self.emit())
    }

    /// Drops the pending partial line and starts again at `offset`, line 1 (a new or
    /// truncated file).
    pub fn restart(&mut self, offset: u64) {
        *self = LineReader::new(self.max, offset, 0);
    }

    fn emit(&mut self) -> Line {
        self.number += 1;
        let (start, len) = (self.start, self.len);
        self.start = self.offset;
        self.len = 0;
        let mut bytes = std::mem::take(&mut self.partial);
        if len > self.max as u64 && !(len == self.max as u64 + 1 && bytes.last() == Some(&b'\r')) {
            return Line::TooLong {
                number: self.number,
                start,
                end: self.offset,
                len,
            };
        }
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        Line::Data {
            bytes,
            number: self.number,
            start,
            end: self.offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], max: usize) -> Vec<Line> {
        let mut r = LineReader::new(max, 0, 0);
        let mut input = io::BufReader::with_capacity(3, input);
        let mut out = Vec::new();
        while let Some(l) = r.next(&mut input).unwrap() {
            out.push(l);
        }
        out.extend(r.finish());
        out
    }

    fn data(bytes: &str, number: u64, start: u64, end: u64) -> Line {
        Line::Data {
            bytes: bytes.into(),
            number,
            start,
            end,
        }
    }

    #[test]
    fn lines_offsets_crlf_and_a_last_line_without_newline() {
        let lines = all(b"ab\r\n\ncdef\ngh", 4);
        assert_eq!(
            lines,
            [
                data("ab", 1, 0, 4),
                data("", 2, 4, 5),
                data("cdef", 3, 5, 10),
                data("gh", 4, 10, 12)
            ]
        );
    }

    #[test]
    fn a_line_over_the_limit_is_measured_not_held() {
        let lines = all(b"abcde\nabcd\r\nxy\n", 4);
        assert_eq!(
            lines,
            [
                Line::TooLong {
                    number: 1,
                    start: 0,
                    end: 6,
                    len: 5
                },
                data("abcd", 2, 6, 12),
                data("xy", 3, 12, 15)
            ]
        );
        let mut r = LineReader::new(10, 0, 0);
        let big = vec![b'x'; 1 << 20];
        let mut input = io::BufReader::new(&big[..]);
        assert_eq!(r.next(&mut input).unwrap(), None);
        assert!(r.partial.capacity() < 64, "{}", r.partial.capacity());
    }

    #[test]
    fn a_partial_line_waits_for_the_rest() {
        let mut r = LineReader::new(100, 0, 0);
        assert_eq!(r.next(&mut &b"hel"[..]).unwrap(), None);
        assert_eq!(
            r.next(&mut &b"lo\nn"[..]).unwrap(),
            Some(data("hello", 1, 0, 6))
        );
        assert_eq!(r.offset(), 6, "the \"n\" after it is not read yet");
        r.restart(0);
        assert_eq!(r.finish(), None);
    }
}
