//! segc: compile YAML segment and KPI definitions into warehouse SQL and run it in place.

pub mod catalog;
pub mod cli;
pub mod demo;
pub mod dialect;
pub mod driver;
pub mod error;
pub mod events;
pub mod ir;
pub mod plan;
pub mod render;
pub mod report;
pub mod spec;
pub mod sqlcheck;
pub mod terminal;
pub mod validate;
