//! The `segc` binary: parse arguments, call the library, map errors to exit codes.

use std::io::Write;

use clap::Parser;

use segc::cli::BROKEN_PIPE;

/// Output whose reader has gone (`segc run | head -1`, a closed log pipe) ends the process
/// quietly, as SIGPIPE does for C programs; Rust ignores SIGPIPE, so `print!` would panic.
/// Any other failure to print (a full disk) ends it with an error and exit code 1.
fn exit_quietly_on_broken_pipes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if let Some(failure) = message.strip_prefix("failed printing to ") {
            if failure.contains("Broken pipe") {
                std::process::exit(BROKEN_PIPE);
            }
            // A full disk or a closed file under `> out.csv`: an error, not a crash. Printing
            // to stderr may fail too; the exit code still tells.
            let (stream, reason) = failure.split_once(": ").unwrap_or((failure, ""));
            let stream = if stream == "stdout" {
                "standard output"
            } else {
                "standard error"
            };
            let said = format!("cannot write to {stream}: {reason}");
            let mut stderr = std::io::stderr();
            let _ = if segc::cli::log_json() {
                let event = segc::events::Event::new("error")
                    .with("message", said)
                    .with("exit_code", 1);
                writeln!(stderr, "{}", segc::cli::event_line(&event))
            } else {
                writeln!(stderr, "error: {said}")
            };
            std::process::exit(1);
        }
        default(info);
    }));
}

fn main() {
    exit_quietly_on_broken_pipes();
    let cli = match segc::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => std::process::exit(segc::cli::print_command_line_error(error)),
    };
    let code = match segc::cli::execute(cli) {
        Ok(code) => code,
        Err(error) if segc::cli::log_json() => {
            let code = segc::cli::exit_code(&error);
            let event = segc::events::Event::new("error")
                .with("message", error.to_string())
                .with("exit_code", code);
            segc::cli::print_event(&event);
            code
        }
        // The reader of standard output left (`segc run | head -1`): it read what it wanted.
        Err(error) if segc::cli::reader_left(&error) => BROKEN_PIPE,
        Err(error) => {
            segc::cli::print_error(&error);
            segc::cli::exit_code(&error)
        }
    };
    std::process::exit(code);
}
