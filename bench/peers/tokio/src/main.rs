//! Tokio's side of bench/peers: the same problems as brigade/brigade_peer.cpp
//! and the other peers, one output line per figure:
//!   case=<name> peer=<peer> value=<number> unit=<unit>
//!
//!   tokio_peer <case> <ct|mt> [n]
//!
//! ct is the current_thread runtime, mt the multi_thread one with 2 workers.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn report(case: &str, peer: &str, value: f64, unit: &str) {
    println!(
        "case={} peer={} value={:.6} unit={}",
        case, peer, value, unit
    );
}

fn per(start: Instant, n: u64) -> f64 {
    start.elapsed().as_nanos() as f64 / n as f64
}

fn statm_rss() -> i64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: i64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn peak_rss() -> i64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in s.lines() {
        if let Some(rest) = line.strip_prefix("VmHWM:") {
            let kib: i64 = rest
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .unwrap_or(0);
            return kib * 1024;
        }
    }
    0
}

/// xorshift64: the same delay sequence in every peer's timer case.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

async fn spawn_join_round(n: u64) -> f64 {
    let mut handles = Vec::with_capacity(n as usize);
    let start = Instant::now();
    for _ in 0..n {
        handles.push(tokio::spawn(async {}));
    }
    for h in handles {
        h.await.unwrap();
    }
    per(start, n)
}

fn fib(n: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if n < 2 {
            return n;
        }
        let child = tokio::spawn(fib(n - 1));
        let b = fib(n - 2).await;
        child.await.unwrap() + b
    })
}

async fn echo_conn(mut s: tokio::net::TcpStream) {
    let mut buf = vec![0u8; 65536];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if s.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

const CONTENDERS: u64 = 4;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: tokio_peer <case> <ct|mt> [n]");
        std::process::exit(2);
    }
    let case = args[1].as_str();
    let mt = args[2] == "mt";
    let peer = if mt { "tokio-mt" } else { "tokio-ct" };
    let arg = |default: u64| -> u64 { args.get(3).and_then(|v| v.parse().ok()).unwrap_or(default) };
    let rt = if mt {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .unwrap();

    match case {
        "spawn_join" => {
            let n = arg(1_000_000);
            let (cold, warm) = rt.block_on(async move {
                // Spawned from a task, like every other peer (the block_on
                // future is not a task in Tokio).
                tokio::spawn(async move {
                    let cold = spawn_join_round(n).await;
                    let warm = spawn_join_round(n).await;
                    (cold, warm)
                })
                .await
                .unwrap()
            });
            report("spawn_join_cold", peer, cold, "ns");
            report("spawn_join_warm", peer, warm, "ns");
        }
        "yield" => {
            let n = arg(200_000);
            let v = rt.block_on(async move {
                tokio::spawn(async move {
                    for _ in 0..n / 10 {
                        tokio::task::yield_now().await;
                    }
                    let start = Instant::now();
                    for _ in 0..n {
                        tokio::task::yield_now().await;
                    }
                    per(start, n)
                })
                .await
                .unwrap()
            });
            report("yield", peer, v, "ns");
        }
        "fib" => {
            let n = arg(30);
            let start = Instant::now();
            let v = rt.block_on(async move { tokio::spawn(fib(n)).await.unwrap() });
            let ms = start.elapsed().as_secs_f64() * 1e3;
            if n == 30 && v != 832040 {
                eprintln!("fib(30) wrong: {}", v);
            }
            report("fib30", peer, ms, "ms");
        }
        "idle_bytes" => {
            // The cheapest wait: Notify::notified() on one shared Notify.
            let n = arg(100_000);
            let per_task = rt.block_on(async move {
                let notify = Arc::new(tokio::sync::Notify::new());
                let parked = Arc::new(AtomicUsize::new(0));
                let before = statm_rss();
                let mut handles = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let notify = notify.clone();
                    let parked = parked.clone();
                    handles.push(tokio::spawn(async move {
                        let wait = notify.notified();
                        parked.fetch_add(1, Ordering::SeqCst);
                        wait.await;
                    }));
                }
                while parked.load(Ordering::SeqCst) < n as usize {
                    tokio::task::yield_now().await;
                }
                // One more turn so every task is suspended in notified().
                tokio::task::yield_now().await;
                let after = statm_rss();
                notify.notify_waiters();
                for h in handles {
                    h.await.unwrap();
                }
                (after - before) as f64 / n as f64
            });
            report("idle_bytes", peer, per_task, "bytes");
        }
        "idle_timer_bytes" => {
            // Tasks each asleep for an hour, aborted at the end.
            let n = arg(100_000);
            let per_task = rt.block_on(async move {
                let parked = Arc::new(AtomicUsize::new(0));
                let before = statm_rss();
                let mut handles = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let parked = parked.clone();
                    handles.push(tokio::spawn(async move {
                        parked.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }));
                }
                while parked.load(Ordering::SeqCst) < n as usize {
                    tokio::task::yield_now().await;
                }
                tokio::task::yield_now().await;
                let after = statm_rss();
                for h in &handles {
                    h.abort();
                }
                for h in handles {
                    let _ = h.await;
                }
                (after - before) as f64 / n as f64
            });
            report("idle_timer_bytes", peer, per_task, "bytes");
        }
        "thread_create_join" => {
            let n = arg(10_000);
            for _ in 0..100 {
                std::thread::spawn(|| {}).join().unwrap();
            }
            let start = Instant::now();
            for _ in 0..n {
                std::thread::spawn(|| {}).join().unwrap();
            }
            report(
                "thread_create_join",
                "rust-thread",
                per(start, n) / 1e3,
                "us",
            );
        }
        "ping_pong" => {
            let n = arg(100_000);
            let v = rt.block_on(async move {
                let (to_pong, mut pong_rx) = tokio::sync::mpsc::channel::<u64>(1);
                let (to_ping, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(1);
                let pong = tokio::spawn(async move {
                    while let Some(v) = pong_rx.recv().await {
                        if to_ping.send(v).await.is_err() {
                            break;
                        }
                    }
                });
                let ping = tokio::spawn(async move {
                    let start = Instant::now();
                    for i in 0..n {
                        to_pong.send(i).await.unwrap();
                        ping_rx.recv().await.unwrap();
                    }
                    per(start, n)
                });
                let v = ping.await.unwrap();
                pong.await.unwrap();
                v
            });
            report("ping_pong", peer, v, "ns");
        }
        "timers" => {
            let n = arg(1_000_000);
            let start = Instant::now();
            rt.block_on(async move {
                let mut rng = XorShift(42);
                let mut handles = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let d = Duration::from_micros(rng.next() % 100_001);
                    handles.push(tokio::spawn(async move { tokio::time::sleep(d).await }));
                }
                for h in handles {
                    h.await.unwrap();
                }
            });
            report("timers", peer, start.elapsed().as_secs_f64() * 1e3, "ms");
            report("timers_rss", peer, peak_rss() as f64 / 1e6, "MB");
        }
        "echo" => {
            let port = arg(7000);
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port as u16))
                    .await
                    .unwrap();
                println!("listening");
                loop {
                    let (s, _) = listener.accept().await.unwrap();
                    s.set_nodelay(true).unwrap();
                    tokio::spawn(echo_conn(s));
                }
            });
        }
        "mutex" => {
            let n_each = arg(250_000);
            let v = rt.block_on(async move {
                tokio::spawn(async move {
                    let m = Arc::new(tokio::sync::Mutex::new(0u64));
                    let start = Instant::now();
                    let mut hs = Vec::new();
                    for _ in 0..CONTENDERS {
                        let m = m.clone();
                        hs.push(tokio::spawn(async move {
                            for _ in 0..n_each {
                                *m.lock().await += 1;
                            }
                        }));
                    }
                    for h in hs {
                        h.await.unwrap();
                    }
                    assert_eq!(*m.lock().await, n_each * CONTENDERS);
                    per(start, n_each * CONTENDERS)
                })
                .await
                .unwrap()
            });
            report("mutex", peer, v, "ns");
        }
        "mpsc" => {
            let n_each = arg(250_000);
            let v = rt.block_on(async move {
                tokio::spawn(async move {
                    let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(1024);
                    let start = Instant::now();
                    for _ in 0..CONTENDERS {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            for i in 0..n_each {
                                tx.send(i).await.unwrap();
                            }
                        });
                    }
                    drop(tx);
                    let mut sum = 0u64;
                    while let Some(v) = rx.recv().await {
                        sum += v;
                    }
                    assert_eq!(sum, CONTENDERS * (n_each * (n_each - 1) / 2));
                    per(start, n_each * CONTENDERS)
                })
                .await
                .unwrap()
            });
            report("mpsc", peer, v, "ns");
        }
        _ => println!("case={} peer={} na=no-such-case", case, peer),
    }
}
