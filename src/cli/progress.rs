//! A progress line on stderr while a query runs: spinner, elapsed time, the warehouse's id.
//! Only on a terminal, so logs and pipes stay clean.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::terminal::printable;

pub struct Progress {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Progress {
    /// Shows `message`, then the query's id once the driver publishes it in `query_id`; both
    /// with their control characters escaped, since the line is redrawn in place.
    pub fn start(message: String, query_id: crate::driver::QueryIdSlot) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        // A JSON log keeps stderr to one event per line.
        if !std::io::stderr().is_terminal() || super::log_json() {
            return Progress { stop, handle: None };
        }
        let message = printable(&message).into_owned();
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let started = Instant::now();
            let frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
            let mut index = 0;
            while !flag.load(Ordering::Relaxed) {
                let id = query_id
                    .lock()
                    .ok()
                    .and_then(|slot| slot.clone())
                    .map(|id| format!(" ({})", printable(&id.to_string())))
                    .unwrap_or_default();
                // One line, cut to the terminal's width: a wrapped line would not be erased.
                let line = format!(
                    "{} {message}{id} {:.1}s",
                    frames[index % frames.len()],
                    started.elapsed().as_secs_f64()
                );
                let width = crate::terminal::stderr_width().unwrap_or(usize::MAX);
                let mut stderr = std::io::stderr().lock();
                let _ = write!(
                    stderr,
                    "\r\x1b[2K{}",
                    crate::terminal::truncate(&line, width.saturating_sub(1))
                );
                let _ = stderr.flush();
                drop(stderr);
                index += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        });
        Progress {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
