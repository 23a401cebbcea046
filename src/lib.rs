//! segc compiles YAML segment and KPI definitions into one SQL statement per report, runs it
//! inside the warehouse, and brings back a segment × KPI table.
//!
//! As a library, five steps: load and validate a project ([`load_project`]), plan what to
//! report ([`plan`], from a [`Request`]), render it for a dialect ([`compile`]), open a
//! target of `profiles.yml` ([`session::resolve`], [`driver::open`]) and run the statement
//! there ([`run`]), which gives [`Report`]s. Errors are [`Error`]s, whose `Display` is for
//! people; warnings and progress go to an [`events::Events`] receiver, silent by default.
//!
//! ```
//! # #[cfg(not(feature = "duckdb"))]
//! # fn main() {}
//! # #[cfg(feature = "duckdb")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The example data in a DuckDB file, and a small project reading it.
//! let dir = tempfile::tempdir()?;
//! segc::demo::create_database(&dir.path().join("demo.duckdb"))?;
//! std::fs::write(
//!     dir.path().join("segc_project.yml"),
//!     "name: doc\ndefinitions: defs\ndefault_target: local\ntime_zone: UTC\nas_of: 2026-10-31\n",
//! )?;
//! std::fs::write(
//!     dir.path().join("profiles.yml"),
//!     "local: { type: duckdb, path: demo.duckdb }\n",
//! )?;
//! std::fs::create_dir(dir.path().join("defs"))?;
//! std::fs::write(
//!     dir.path().join("defs/project.yml"),
//!     r#"
//! sources:
//!   users: { table: app.users, key: { column: user_id, type: integer },
//!            columns: { signup_at: created_at, country: { column: country, type: string } } }
//! attributes:
//!   country: { source: users, column: country }
//! segments:
//!   - { name: germany, all: [ { country: { eq: DE } } ] }
//! kpis:
//!   - { name: people, agg: count }
//! "#,
//! )?;
//!
//! let project = segc::load_project(dir.path())?;
//! let reports = segc::plan(&project, &segc::Request::default())?;
//! let sql = segc::compile(&reports, "sqlserver", None)?;
//! assert!(sql.contains("COUNT_BIG(*)"));
//!
//! let target = segc::session::resolve(dir.path(), None, None, &project, &Default::default())?;
//! let mut driver = segc::driver::open(&target.profile, Default::default(), dir.path())?;
//! let segc::session::Outcome::Report(report) =
//!     segc::run(driver.as_mut(), &project, &target, &reports)?
//! else {
//!     unreachable!("a single report");
//! };
//! assert_eq!(report.rows[0].segment, "all_users");
//! assert_eq!(report.rows[1].segment, "germany");
//! # Ok(())
//! # }
//! ```
//!
//! The modules below the facade are the compiler's stages (see ARCHITECTURE.md); they are
//! public for the command line and the tests, not as a stable API.

use std::path::Path;

pub mod artifacts;
#[doc(hidden)]
pub mod catalog;
pub mod checks;
#[doc(hidden)]
pub mod cli;
pub mod demo;
#[doc(hidden)]
pub mod dialect;
pub mod driver;
pub mod error;
pub mod events;
pub mod freshness;
pub mod history;
#[doc(hidden)]
pub mod ir;
pub mod materialize;
#[doc(hidden)]
pub mod plan;
#[doc(hidden)]
pub mod render;
pub mod report;
pub mod session;
#[doc(hidden)]
pub mod spec;
#[doc(hidden)]
pub mod sqlcheck;
#[doc(hidden)]
pub mod terminal;
#[doc(hidden)]
pub mod validate;

// jemalloc is the process's `malloc` on Linux with glibc (Cargo.toml): its static library
// defines `malloc`, `free` and the rest, and the executable exports them, so the bundled
// DuckDB's C++ allocations and libstdc++'s `operator new` find them before glibc's. A crate
// is linked only when something names it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
use tikv_jemalloc_sys as _;

pub use artifacts::run_id;
pub use error::Error;
pub use ir::Project;
pub use plan::{ReportOptions, Reports, Request};
pub use report::Report;
pub use session::run;

/// Loads the project in `root` (its `segc_project.yml` and definitions) and validates it:
/// every problem is reported at once, each with its file, line and column. Column types come
/// from the definitions and the checked-in warehouse schema snapshot
/// ([`session::load_live`] also asks the target's catalog).
pub fn load_project(root: &Path) -> Result<Project, Error> {
    validate::load_and_validate(root)
}

/// Plans what `request` asks for: one report, a comparison with an earlier period, or one
/// report per month. Without an as-of day in the request or the project, the day is
/// yesterday in the project's time zone (the last complete day).
pub fn plan<'p>(project: &'p Project, request: &Request) -> Result<Reports<'p>, Error> {
    let default_as_of = plan::last_complete_day(&project.time_zone, chrono::Utc::now())?;
    plan::output::reports(project, request, default_as_of)
}

/// The SQL of `reports` for a dialect (`duckdb`, `postgres`, `redshift`, `bigquery`,
/// `sqlserver`); `target` picks per-target table names.
pub fn compile(
    reports: &Reports<'_>,
    dialect: &str,
    target: Option<&str>,
) -> Result<String, Error> {
    render::render_reports(reports, &dialect::Dialect::load(dialect)?, target)
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod process_malloc {
    use std::ffi::{c_char, c_void};

    unsafe extern "C" {
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }

    /// The mapped file that holds `address`, from `/proc/self/maps`.
    fn file_holding(address: usize) -> Option<String> {
        let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps");
        maps.lines().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (start, end) = fields.first()?.split_once('-')?;
            let start = usize::from_str_radix(start, 16).ok()?;
            let end = usize::from_str_radix(end, 16).ok()?;
            (start..end)
                .contains(&address)
                .then(|| fields.get(5).unwrap_or(&"").to_string())
        })
    }

    /// The `malloc` the dynamic linker gives a shared library (libstdc++'s `operator new`,
    /// which DuckDB's C++ objects are allocated by) is the one in this executable, jemalloc's,
    /// and not glibc's in `libc.so.6`.
    #[test]
    fn shared_libraries_find_jemallocs_malloc_in_the_executable() {
        // RTLD_DEFAULT, the global lookup order, is the null handle in glibc.
        let found = unsafe { dlsym(std::ptr::null_mut(), c"malloc".as_ptr()) } as usize;
        assert_ne!(found, 0, "no malloc");
        let executable = std::fs::canonicalize("/proc/self/exe").expect("the executable");
        let owner = file_holding(found);
        assert_eq!(
            owner.as_deref(),
            executable.to_str(),
            "malloc is defined in {owner:?}"
        );
        // And the executable's is jemalloc's: its own control interface answers.
        let mut version: *const c_char = std::ptr::null();
        let mut size = std::mem::size_of::<*const c_char>();
        let status = unsafe {
            tikv_jemalloc_sys::mallctl(
                c"version".as_ptr(),
                (&mut version as *mut *const c_char).cast(),
                &mut size,
                std::ptr::null_mut(),
                0,
            )
        };
        assert_eq!(status, 0);
        let version = unsafe { std::ffi::CStr::from_ptr(version) };
        assert!(version.to_string_lossy().starts_with("5."), "{version:?}");
    }
}
