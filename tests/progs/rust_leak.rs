// rust_leak.rs: a Rust program under memprof (tests/integration/rust_program.sh). Four
// threads (each asks glibc about its own stack as it starts, which hung them under memprof
// once) each leak a list of 3 + i nodes of 64 bytes, whose head is lost and the rest
// reachable only through it, and make temporary vectors. leak_list is always inlined into
// the thread's closure: its frame comes from the DWARF of the inlined call.
use std::thread;

#[allow(dead_code)]
struct Node {
    next: Option<Box<Node>>,
    payload: [u8; 56],
}

#[inline(never)]
fn make_list(n: usize) -> Option<Box<Node>> {
    let mut head: Option<Box<Node>> = None;
    for i in 0..n {
        head = Some(Box::new(Node { next: head, payload: [i as u8; 56] }));
    }
    head
}

#[inline(always)]
fn leak_list(n: usize) {
    std::mem::forget(make_list(n));
}

fn main() {
    let workers: Vec<_> = (0..4)
        .map(|i| {
            thread::spawn(move || {
                leak_list(3 + i);
                let squares: Vec<u64> = (0..1000).map(|x| x * x).collect();
                squares.len()
            })
        })
        .collect();
    let total: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    println!("ok {}", total);
}
