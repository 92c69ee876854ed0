//! Heap allocations counted per thread (a test-only global allocator), to hold the answer path
//! to no allocation per record acknowledged.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting the allocations each thread makes.
struct Counting;

thread_local! {
    // Counts only: a test reads its own thread's allocations, whatever the other tests do.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is passed on to the system allocator unchanged; only a count is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Allocations this thread makes while running `f`.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (out, ALLOCATIONS.with(Cell::get) - before)
}

/// A JSON answer of `n` records, all stored, as DIS writes it.
fn stored_answer(n: usize) -> Vec<u8> {
    let entries: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"partition_id":"shardId-000000000{}","sequence_number":"{}"}}"#,
                i % 4,
                1_000_000 + i
            )
        })
        .collect();
    format!(
        r#"{{"failed_record_count":0,"records":[{}]}}"#,
        entries.join(",")
    )
    .into_bytes()
}

#[test]
fn reading_an_answer_allocates_per_answer_not_per_record() {
    let mut counts = Vec::new();
    for n in [10, 500] {
        let body = stored_answer(n);
        let (outcome, count) = allocations(|| {
            let result = crate::answer::json(&body, n).expect("readable");
            crate::outcome::SendOutcome::from_result(result, n, None).expect("paired")
        });
        assert_eq!(outcome.results.len(), n);
        counts.push(count);
    }
    // The same few buffers (the entries, the results) whatever the number of records.
    assert_eq!(
        counts[0], counts[1],
        "allocations for 10 and 500 records: {counts:?}"
    );
    assert!(counts[1] <= 4, "{counts:?}");
    // Refused records carry their code and message: those are allocated, stored ones not.
    assert!(
        counts.iter().all(|&c| c > 0),
        "the test counts nothing: {counts:?}"
    );
}
