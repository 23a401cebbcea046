//! The `segc` binary: parse arguments, call the library, map errors to exit codes.

use clap::Parser;

fn main() {
    let cli = match segc::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() { 2 } else { 0 };
            let _ = error.print();
            std::process::exit(code);
        }
    };
    let code = match segc::cli::execute(cli) {
        Ok(code) => code,
        Err(error) => {
            match error {
                // Validation prints each problem as `error: …` with its location.
                segc::error::Error::Invalid(_) => eprintln!("{error}"),
                _ => eprintln!("error: {error}"),
            }
            error.exit_code()
        }
    };
    std::process::exit(code);
}
