//! The `segc` binary: parse arguments, call the library, map errors to exit codes.

use clap::Parser;
use segc::terminal::printable_lines;

fn main() {
    let cli = match segc::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => std::process::exit(segc::cli::print_command_line_error(error)),
    };
    let code = match segc::cli::execute(cli) {
        Ok(code) => code,
        Err(error) => {
            let text = match error {
                // Validation prints each problem as `error: …` with its location.
                segc::error::Error::Invalid(_) => error.to_string(),
                _ => format!("error: {error}"),
            };
            eprintln!("{}", printable_lines(&text));
            error.exit_code()
        }
    };
    std::process::exit(code);
}
