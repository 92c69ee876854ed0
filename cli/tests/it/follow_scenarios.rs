//! `dis-records send --follow` under what logs really do, each with `kill -9` at random
//! moments: copytruncate followed at once by a burst past the old size, a file deleted and
//! created again with the same inode, two and three rotations while the shipper is down, a
//! line written late to a rotated file, a foreign file holding the checkpoint's inode, a glob
//! whose files appear during the run, and multi-line events. Afterwards every line is in
//! dis-local's read-back, nothing else is, and the copies are no more than the lines flagged
//! as possible duplicates.

use crate::support;

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use support::{Local, append, read_back};

/// A shipper run again and again against one endpoint, and what it must have shipped.
struct Run {
    local: Local,
    dir: PathBuf,
    args: Vec<String>,
    flagged: u64,
    kills: u32,
    rng: SmallRng,
    expected: Vec<Vec<u8>>,
    stderr: String,
}

/// The "possible duplicates: N lines" a run printed on stderr, summed.
fn flagged(stderr: &str) -> u64 {
    stderr
        .lines()
        .filter_map(|l| {
            l.strip_prefix("possible duplicates: ")?
                .split(' ')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// `n` lines `"{tag} {i}"`, and the records they make.
fn lines(tag: &str, n: usize) -> (String, Vec<Vec<u8>>) {
    let records: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("{tag} {i:05} padded to look like a log line").into_bytes())
        .collect();
    let mut text = Vec::new();
    for r in &records {
        text.extend_from_slice(r);
        text.push(b'\n');
    }
    (String::from_utf8(text).unwrap(), records)
}

/// A thread writing `chunks` chunks of `n` lines tagged `{tag}-{chunk}` to `path`, `pause`
/// apart; it returns the records they make.
fn writer(
    path: PathBuf,
    tag: String,
    chunks: usize,
    n: usize,
    pause: Duration,
) -> JoinHandle<Vec<Vec<u8>>> {
    std::thread::spawn(move || {
        let mut all = Vec::new();
        for chunk in 0..chunks {
            all.extend(write(&path, &format!("{tag}-{chunk}"), n));
            std::thread::sleep(pause);
        }
        all
    })
}

/// Appends `n` lines tagged `tag` to `path`; the records they make.
fn write(path: &Path, tag: &str, n: usize) -> Vec<Vec<u8>> {
    let (text, records) = lines(tag, n);
    append(path, &text);
    records
}

/// Removes `path` and creates files beside it until one gets its inode back, which then takes
/// its name (`as_name`); other files made meanwhile are removed after. False when the
/// filesystem gave no such inode in 2,000 creations (the file then has a new inode).
fn recreate_with_same_inode(path: &Path, as_name: &Path) -> bool {
    let ino = std::fs::metadata(path).unwrap().ino();
    std::fs::remove_file(path).unwrap();
    let dir = path.parent().unwrap();
    let mut made = Vec::new();
    let mut found = false;
    for i in 0..2_000 {
        let p = dir.join(format!(".scratch-{i}"));
        std::fs::File::create(&p).unwrap();
        if std::fs::metadata(&p).unwrap().ino() == ino {
            std::fs::rename(&p, as_name).unwrap();
            found = true;
            break;
        }
        made.push(p);
    }
    for p in made {
        let _ = std::fs::remove_file(p);
    }
    if !found {
        std::fs::File::create(as_name).unwrap();
        eprintln!("this filesystem gave no inode back in 2,000 files: a new inode is used");
    }
    found
}

impl Run {
    fn new(name: &str, follow: &[&str], extra: &[&str]) -> Run {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("follow-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let checkpoint = dir.join("ship.ckpt");
        let mut args = Vec::new();
        for f in follow {
            args.push("--follow".to_owned());
            args.push(dir.join(f).to_str().unwrap().to_owned());
        }
        args.extend(["--checkpoint".into(), checkpoint.to_str().unwrap().into()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        let seed: u64 = rand::rng().random();
        eprintln!("{name}: seed {seed}");
        Run {
            local: Local::start(),
            dir,
            args,
            flagged: 0,
            kills: 0,
            rng: SmallRng::seed_from_u64(seed),
            expected: Vec::new(),
            stderr: String::new(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn start(&self) -> Child {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let mut cmd = self.local.send(&args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().unwrap()
    }

    /// Kills `child` with SIGKILL and counts what it flagged.
    fn kill(&mut self, mut child: Child) {
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        self.flagged += flagged(&err);
        self.kills += 1;
        self.stderr.push_str(&err);
    }

    /// Runs the shipper for a random while, then kills it with SIGKILL.
    fn up_for_a_while(&mut self) {
        let child = self.start();
        let up = Duration::from_millis(self.rng.random_range(100..700));
        std::thread::sleep(up);
        self.kill(child);
    }

    /// Runs and kills the shipper at random moments until `writer` is done; takes the records
    /// it wrote as expected.
    fn chaos(&mut self, writer: JoinHandle<Vec<Vec<u8>>>) {
        while !writer.is_finished() {
            self.up_for_a_while();
            let down = Duration::from_millis(self.rng.random_range(0..200));
            std::thread::sleep(down);
        }
        self.expected.extend(writer.join().unwrap());
    }

    /// Runs the shipper until every expected record is stored (or `within`).
    fn ship_all(&mut self, within: Duration) -> Child {
        let child = self.start();
        // Past its start (a signal before it has its handler ends it at once).
        std::thread::sleep(Duration::from_millis(500));
        let until = Instant::now() + within;
        let want: HashSet<&Vec<u8>> = self.expected.iter().collect();
        while Instant::now() < until {
            let stored = read_back(&self.local.dis.endpoint(), "newstream");
            let stored: HashSet<&Vec<u8>> = stored.iter().collect();
            if want.iter().all(|w| stored.contains(*w)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        child
    }

    /// Ships every expected record, waits for the checkpoint to follow, then SIGKILL.
    fn ship_all_then_kill(&mut self) {
        let child = self.ship_all(Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(300));
        self.kill(child);
    }

    /// A last run to the end, stopped with SIGTERM; then every expected record is stored,
    /// nothing else is, and no record is stored more often than lines were flagged.
    fn check(mut self) -> String {
        let child = self.ship_all(Duration::from_secs(60));
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        self.flagged += flagged(&err);
        self.stderr.push_str(&err);
        assert_eq!(out.status.code(), Some(0), "{}", self.stderr);
        let stored = read_back(&self.local.dis.endpoint(), "newstream");
        let mut copies: HashMap<Vec<u8>, u64> = HashMap::new();
        for data in stored {
            *copies.entry(data).or_default() += 1;
        }
        let expected: HashSet<&Vec<u8>> = self.expected.iter().collect();
        let missing: Vec<String> = expected
            .iter()
            .filter(|e| !copies.contains_key(**e))
            .map(|e| String::from_utf8_lossy(e).into_owned())
            .collect();
        assert!(
            missing.is_empty(),
            "{} of {} lines missing, the first: {:?}\n{}",
            missing.len(),
            expected.len(),
            missing.iter().take(5).collect::<Vec<_>>(),
            self.stderr
        );
        let foreign: Vec<String> = copies
            .keys()
            .filter(|k| !expected.contains(k))
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .take(5)
            .collect();
        assert!(
            foreign.is_empty(),
            "records that are no line written: {foreign:?}"
        );
        let duplicates: u64 = copies.values().map(|n| n - 1).sum();
        eprintln!(
            "{} lines, {} kills, {duplicates} stored twice, {} flagged as possible duplicates",
            expected.len(),
            self.kills,
            self.flagged
        );
        assert!(
            duplicates <= self.flagged,
            "{duplicates} copies but {} flagged\n{}",
            self.flagged,
            self.stderr
        );
        let _ = std::fs::remove_dir_all(&self.dir);
        self.stderr
    }
}

#[test]
fn copytruncate_then_a_burst_past_the_old_size() {
    let mut run = Run::new("copytruncate", &["app.log"], &[]);
    let log = run.path("app.log");
    let dir = run.dir.clone();
    let writer = std::thread::spawn(move || {
        let mut all = Vec::new();
        for round in 0..6 {
            all.extend(write(&log, &format!("before-{round}"), 400));
            std::thread::sleep(Duration::from_millis(300));
            // logrotate's copytruncate (rotate 9): older copies shift, the log is copied, then
            // truncated; the logger writes on at once, past the size the log had.
            for n in (1..9).rev() {
                let from = dir.join(format!("app.log.{n}"));
                if from.exists() {
                    std::fs::rename(&from, dir.join(format!("app.log.{}", n + 1))).unwrap();
                }
            }
            std::fs::copy(&log, dir.join("app.log.1")).unwrap();
            std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&log)
                .unwrap();
            all.extend(write(&log, &format!("burst-{round}"), 3_000));
            std::thread::sleep(Duration::from_millis(300));
        }
        all
    });
    run.chaos(writer);
    run.check();
}

#[test]
fn deleted_and_created_again_with_the_same_inode_while_down() {
    let mut run = Run::new("same-inode", &["app.log"], &[]);
    let log = run.path("app.log");
    let mut reused = 0;
    for round in 0..3 {
        let tag = format!("gen-{round}");
        run.chaos(writer(log.clone(), tag, 10, 300, Duration::from_millis(60)));
        // Shipped to its end, then down; the file is replaced by one with its inode.
        run.ship_all_then_kill();
        reused += u32::from(recreate_with_same_inode(&log, &log));
    }
    let path = log.clone();
    let writer = std::thread::spawn(move || write(&path, "last", 3_000));
    run.chaos(writer);
    eprintln!("the inode came back {reused} times of 3");
    run.check();
}

#[test]
fn two_and_three_rotations_while_down() {
    let mut run = Run::new("rotations", &["app.log"], &[]);
    let log = run.path("app.log");
    let rotate = |dir: &Path| {
        for n in (1..9).rev() {
            let from = dir.join(format!("app.log.{n}"));
            if from.exists() {
                std::fs::rename(&from, dir.join(format!("app.log.{}", n + 1))).unwrap();
            }
        }
        std::fs::rename(dir.join("app.log"), dir.join("app.log.1")).unwrap();
    };
    let path = log.clone();
    let writer = std::thread::spawn(move || write(&path, "first", 2_000));
    run.chaos(writer);
    for (round, rotations) in [2, 3].into_iter().enumerate() {
        let child = run.start();
        std::thread::sleep(Duration::from_millis(run.rng.random_range(50..400)));
        run.kill(child);
        // Down: the log is written and rotated `rotations` times.
        for r in 0..rotations {
            let more = write(&log, &format!("down-{round}-{r}"), 1_000);
            run.expected.extend(more);
            rotate(&run.dir);
        }
        run.expected
            .extend(write(&log, &format!("live-{round}"), 500));
    }
    let path = log.clone();
    let writer = std::thread::spawn(move || write(&path, "last", 1_000));
    run.chaos(writer);
    run.check();
}

/// A run with `--rotate-wait 3s`, and a thread that rotates its log by rename, writes to the
/// new file, then 1.5 s later one line to the renamed file (a logger that has not reopened
/// its file yet), and more to the new file.
fn late_line(name: &str) -> (Run, JoinHandle<Vec<Vec<u8>>>) {
    let run = Run::new(name, &["app.log"], &["--rotate-wait", "3s"]);
    let (log, rotated) = (run.path("app.log"), run.path("app.log.1"));
    let writer = std::thread::spawn(move || {
        let mut all = write(&log, "before", 1_000);
        std::thread::sleep(Duration::from_millis(300));
        std::fs::rename(&log, &rotated).unwrap();
        all.extend(write(&log, "after", 500));
        std::thread::sleep(Duration::from_millis(1_500));
        all.extend(write(&rotated, "late", 1));
        all.extend(write(&log, "after-late", 500));
        std::thread::sleep(Duration::from_millis(300));
        all
    });
    (run, writer)
}

#[test]
fn a_late_line_to_a_rotated_file_within_the_grace_period() {
    // Up through the rotation and the late line: the grace period holds it.
    let (mut run, writer) = late_line("late-line");
    let child = run.start();
    run.chaos_with(child, writer);
    run.check();
    // The same with kill -9 at random moments.
    let (mut run, writer) = late_line("late-line-kills");
    run.chaos(writer);
    run.check();
}

impl Run {
    /// Keeps `child` running until `writer` is done, then kills it; takes what was written.
    fn chaos_with(&mut self, child: Child, writer: JoinHandle<Vec<Vec<u8>>>) {
        self.expected.extend(writer.join().unwrap());
        let want: HashSet<Vec<u8>> = self.expected.iter().cloned().collect();
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            let stored: HashSet<Vec<u8>> = read_back(&self.local.dis.endpoint(), "newstream")
                .into_iter()
                .collect();
            if want.is_subset(&stored) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill(child);
    }
}

#[test]
fn a_foreign_file_holding_the_checkpoints_inode_is_not_shipped() {
    let mut run = Run::new("foreign", &["app.log"], &[]);
    let log = run.path("app.log");
    run.chaos(writer(
        log.clone(),
        "own".into(),
        10,
        300,
        Duration::from_millis(50),
    ));
    run.ship_all_then_kill();
    // Down: the log goes; its inode comes back as a compressed rotation, then as another
    // file beside it, both holding other text.
    let gz = run.path("app.log.2.gz");
    recreate_with_same_inode(&log, &gz);
    append(&gz, &lines("foreign-gz", 500).0);
    append(&log, "");
    run.expected.extend(write(&log, "new", 200));
    run.up_for_a_while();
    run.ship_all_then_kill();
    let plain = run.path("app.log.bak");
    recreate_with_same_inode(&log, &plain);
    append(&plain, &lines("foreign-plain", 500).0);
    run.expected.extend(write(&log, "newer", 200));
    let path = log.clone();
    let writer = std::thread::spawn(move || write(&path, "last", 2_000));
    run.chaos(writer);
    run.check();
}

#[test]
fn a_glob_picks_up_files_that_appear_during_the_run() {
    let mut run = Run::new("glob", &["*.log"], &["--key-from", "path"]);
    let dir = run.dir.clone();
    // Up while a file appears: it is found and followed.
    run.expected
        .extend(write(&dir.join("first.log"), "first", 100));
    let child = run.start();
    std::thread::sleep(Duration::from_millis(1_500));
    run.expected
        .extend(write(&dir.join("second.log"), "second", 100));
    run.chaos_with(child, std::thread::spawn(Vec::new));
    assert!(run.stderr.contains("found; following it"), "{}", run.stderr);
    let writer = std::thread::spawn(move || {
        let mut all = write(&dir.join("a.log"), "a-start", 500);
        for round in 0..5 {
            for name in ["a", "b", "c", "d"].into_iter().take(round + 1) {
                all.extend(write(
                    &dir.join(format!("{name}.log")),
                    &format!("{name}-{round}"),
                    400,
                ));
            }
            if round == 2 {
                // A rotated file of a followed one is not followed as a file of its own.
                std::fs::rename(dir.join("a.log"), dir.join("a.log.1")).unwrap();
            }
            std::thread::sleep(Duration::from_millis(400));
        }
        all
    });
    run.chaos(writer);
    run.check();
}

#[test]
fn multi_line_events_stay_whole() {
    let mut run = Run::new(
        "multiline",
        &["app.log"],
        &[
            "--multiline-start",
            r"^\d{4}-\d{2}-\d{2} ",
            "--multiline-timeout",
            "300ms",
        ],
    );
    let log = run.path("app.log");
    let writer = std::thread::spawn(move || {
        let mut all = Vec::new();
        for chunk in 0..20 {
            let mut text = String::new();
            for i in 0..100 {
                let n = chunk * 100 + i;
                let mut event = format!("2026-12-07 ERROR event {n:05} failed");
                for frame in 0..(n % 4) {
                    event.push_str(&format!(
                        "\n\tat com.example.Frame{frame}.call(Frame.java:{n})"
                    ));
                }
                text.push_str(&event);
                text.push('\n');
                all.push(event.into_bytes());
            }
            append(&log, &text);
            std::thread::sleep(Duration::from_millis(100));
        }
        all
    });
    run.chaos(writer);
    run.check();
}
