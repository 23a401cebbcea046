//! Ctrl-C (SIGINT), SIGTERM, which schedulers (Airflow, Kubernetes, systemd) send, and SIGHUP
//! (the session or terminal that ran the job closed), as one process-wide request to stop.
//! Drivers watch it while a query runs or a retry pauses, cancel the query in the warehouse,
//! and return [`interrupted`]; a second signal exits at once.
//!
//! Signals are process-wide by nature, so this is the one piece of global state: installed by
//! the first driver that connects (before that, a signal ends the process as usual: nothing
//! runs on a server yet).

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::Error;

/// SIGINT's number, the default when no signal has been seen.
const SIGINT: i32 = 2;
/// SIGTERM's number.
const SIGTERM: i32 = 15;
/// SIGHUP's number.
const SIGHUP: i32 = 1;

struct State {
    /// The signal received, 0 while none.
    signal: AtomicI32,
    /// Woken when a signal arrives, for threads that wait without a runtime.
    woken: Mutex<bool>,
    condvar: Condvar,
    /// The same for async waiters.
    watch: tokio::sync::watch::Sender<bool>,
}

static STATE: OnceLock<State> = OnceLock::new();

/// Where the message for a second signal goes; nowhere until [`report_to`] is called.
static EVENTS: Mutex<Option<crate::events::EventSink>> = Mutex::new(None);

/// Sends this module's messages (a second signal ending the process at once) to `events`.
pub fn report_to(events: crate::events::EventSink) {
    if let Ok(mut slot) = EVENTS.lock() {
        *slot = Some(events);
    }
}

fn state() -> &'static State {
    STATE.get_or_init(|| State {
        signal: AtomicI32::new(0),
        woken: Mutex::new(false),
        condvar: Condvar::new(),
        watch: tokio::sync::watch::channel(false).0,
    })
}

/// Records a stop request and wakes every waiter; a second request exits at once.
fn request(signal: i32) {
    let state = state();
    if state
        .signal
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        if let Ok(Some(events)) = EVENTS.lock().as_deref() {
            events.warn("error: interrupted again; exiting without waiting for the cancel");
        }
        std::process::exit(128 + signal);
    }
    if let Ok(mut woken) = state.woken.lock() {
        *woken = true;
    }
    state.condvar.notify_all();
    state.watch.send_replace(true);
}

/// Starts watching for SIGINT, SIGTERM and SIGHUP (once per process). Failing to install
/// leaves the default behaviour, which ends the process.
pub fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        state();
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        // Registered here, before returning, so no signal slips by before the thread runs.
        let registered = {
            let _entered = runtime.enter();
            listeners()
        };
        let Ok(mut listeners) = registered else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("segc-signals".into())
            .spawn(move || {
                runtime.block_on(async move {
                    loop {
                        let signal = listeners.next().await;
                        request(signal);
                    }
                })
            });
    });
}

#[cfg(unix)]
struct Listeners {
    interrupt: Option<tokio::signal::unix::Signal>,
    terminate: Option<tokio::signal::unix::Signal>,
    hangup: Option<tokio::signal::unix::Signal>,
}

/// The signals ignored when segc started: `nohup` ignores SIGHUP, a shell's background job
/// SIGINT, and a signal ignored so stays ignored (listening would replace the disposition).
/// Read from Linux's `/proc/self/status` (bit `n - 1` for signal `n`); elsewhere unknown.
#[cfg(unix)]
fn ignored_at_start() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let mask = status
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))?;
    u64::from_str_radix(mask.trim(), 16).ok()
}

#[cfg(unix)]
fn listeners() -> std::io::Result<Listeners> {
    use tokio::signal::unix::{SignalKind, signal};
    let ignored = ignored_at_start();
    let was_ignored = |number: i32| ignored.map(|bits| bits & (1 << (number - 1)) != 0);
    let listen = |number: i32, kind: SignalKind| -> std::io::Result<_> {
        match was_ignored(number) {
            Some(true) => Ok(None),
            _ => signal(kind).map(Some),
        }
    };
    Ok(Listeners {
        interrupt: listen(SIGINT, SignalKind::interrupt())?,
        terminate: listen(SIGTERM, SignalKind::terminate())?,
        // Only where segc can tell that it was not ignored.
        hangup: match was_ignored(SIGHUP) {
            Some(false) => Some(signal(SignalKind::hangup())?),
            _ => None,
        },
    })
}

/// The next delivery of `signal`, or never when it is not listened to.
#[cfg(unix)]
async fn received(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(unix)]
impl Listeners {
    async fn next(&mut self) -> i32 {
        tokio::select! {
            _ = received(&mut self.interrupt) => SIGINT,
            _ = received(&mut self.terminate) => SIGTERM,
            _ = received(&mut self.hangup) => SIGHUP,
        }
    }
}

#[cfg(not(unix))]
struct Listeners;

#[cfg(not(unix))]
fn listeners() -> std::io::Result<Listeners> {
    Ok(Listeners)
}

#[cfg(not(unix))]
impl Listeners {
    async fn next(&mut self) -> i32 {
        let _ = tokio::signal::ctrl_c().await;
        SIGINT
    }
}

/// The signal that asked to stop, if any.
pub fn signal() -> Option<i32> {
    match state().signal.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// The exit code after a stop request: 128 + the signal's number (130 for Ctrl-C, 143 for
/// SIGTERM, 129 for SIGHUP), as shells report a process the signal ended.
pub fn exit_code() -> i32 {
    128 + signal().unwrap_or(SIGINT)
}

/// The error a driver returns once it has cancelled its work on `target`.
pub fn interrupted(target: &str) -> Error {
    let by = match signal() {
        Some(SIGTERM) => "SIGTERM",
        Some(SIGHUP) => "SIGHUP",
        _ => "Ctrl-C",
    };
    Error::Interrupted(format!(
        "the query on target `{target}` was cancelled ({by})"
    ))
}

/// Resolves when a stop is requested (at once if one was).
pub async fn requested() {
    let mut receiver = state().watch.subscribe();
    let _ = receiver.wait_for(|stopped| *stopped).await;
}

/// Blocks until a stop is requested or `timeout` passes; true when a stop was requested.
pub fn wait(timeout: Duration) -> bool {
    let state = state();
    let until = Instant::now() + timeout;
    let Ok(mut woken) = state.woken.lock() else {
        std::thread::sleep(timeout);
        return signal().is_some();
    };
    while !*woken {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        woken = match state.condvar.wait_timeout(woken, left) {
            Ok((guard, _)) => guard,
            Err(_) => return signal().is_some(),
        };
    }
    signal().is_some()
}

/// A pause between retries that a stop request ends early, with the error to return then.
pub fn pause(duration: Duration, target: &str) -> Result<(), Error> {
    if wait(duration) {
        return Err(interrupted(target));
    }
    Ok(())
}

/// The error to return before starting work when a stop was already requested.
pub fn check(target: &str) -> Result<(), Error> {
    match signal() {
        Some(_) => Err(interrupted(target)),
        None => Ok(()),
    }
}
