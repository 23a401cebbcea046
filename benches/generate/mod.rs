//! Generated projects of any size for the compile benchmark: the example project's sources,
//! attributes and warehouse schema, with N segments and M KPIs written out in full.
//!
//! Segments come in blocks of ten: a top-level segment with three drill-downs (`parent:`),
//! and six others with `any`/`none` groups, RFM scores, `in_segment`, `between` and an
//! `exclusive` set of ten (one member per block). Values vary with a fixed pseudo-random
//! sequence, so a size always gives the same files.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

/// Segments per definitions file, well under the size limit of a file.
const SEGMENTS_PER_FILE: usize = 5_000;

const PLANS: [&str; 4] = ["free", "starter", "pro", "enterprise"];
const COUNTRIES: [&str; 8] = ["US", "FR", "DE", "GB", "BR", "IN", "JP", "SN"];
const INDUSTRIES: [&str; 5] = ["retail", "software", "finance", "health", "media"];

/// A small deterministic pseudo-random sequence (a 64-bit LCG).
struct Sequence(u64);

impl Sequence {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % below as u64) as usize
    }

    fn pick<'a>(&mut self, values: &[&'a str]) -> &'a str {
        values[self.next(values.len())]
    }
}

/// Writes a project of `segments` segments and `kpis` KPIs into `dir`.
pub fn write_project(dir: &Path, segments: usize, kpis: usize) -> io::Result<()> {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("segment-defs");
    let definitions = dir.join("segment-defs");
    std::fs::create_dir_all(&definitions)?;
    std::fs::write(
        dir.join("segc_project.yml"),
        "name: generated\ndefinitions: segment-defs\ntime_zone: UTC\nactivity_window: 30d\n\
         as_of: 2026-10-31\n",
    )?;
    for file in ["sources.yml", "attributes.yml", "warehouse_schema.yml"] {
        std::fs::copy(example.join(file), definitions.join(file))?;
    }
    let mut sequence = Sequence(segments as u64 * 31 + kpis as u64);
    let mut start = 0;
    while start < segments {
        let end = (start + SEGMENTS_PER_FILE).min(segments);
        let mut text = String::from("segments:\n");
        for index in start..end {
            segment(&mut text, index, &mut sequence);
        }
        std::fs::write(
            definitions.join(format!("segments_{:03}.yml", start / SEGMENTS_PER_FILE)),
            text,
        )?;
        start = end;
    }
    std::fs::write(definitions.join("kpis.yml"), kpi_list(kpis))
}

fn name(index: usize) -> String {
    format!("seg_{index:06}")
}

/// Appends segment `index` (in YAML) to `text`.
fn segment(text: &mut String, index: usize, sequence: &mut Sequence) {
    let block = index - index % 10;
    let _ = writeln!(text, "  - name: {}", name(index));
    let _ = writeln!(text, "    label: \"Segment {index}\"");
    let threshold = 1 + sequence.next(40);
    let body = match index % 10 {
        0 => format!(
            "    all:\n      - monthly_activity: {{ gt: {threshold} }}\n      - country: {{ in: [{}, {}] }}\n",
            sequence.pick(&COUNTRIES),
            sequence.pick(&COUNTRIES)
        ),
        position @ 1..=3 => format!(
            "    parent: {}\n    all: {{ plan: {{ eq: {} }} }}\n",
            name(block),
            PLANS[position]
        ),
        4 => format!(
            "    any:\n      - days_since_seen: {{ gte: {threshold} }}\n      - last_seen_at: {{ is_null: true }}\n    none: {{ signup_date: {{ within_last: {}d }} }}\n",
            threshold + 7
        ),
        5 => format!(
            "    all:\n      - recency_score: {{ gte: {} }}\n      - monetary_score: {{ gte: {} }}\n",
            1 + sequence.next(5),
            1 + sequence.next(5)
        ),
        // Names an earlier segment that names none itself.
        6 => {
            let earlier = [0, 4, 5, 7][sequence.next(4)] + 10 * sequence.next(block / 10 + 1);
            format!(
                "    all:\n      - in_segment: {}\n      - orders_count: {{ gte: {} }}\n",
                name(earlier.min(index - 2)),
                1 + threshold % 5
            )
        }
        7 => format!(
            "    all: {{ monthly_spend: {{ between: [{}, {}] }} }}\n",
            threshold * 10,
            threshold * 10 + 100 + sequence.next(500)
        ),
        8 => format!(
            "    exclusive: tier_{}\n    priority: {}\n    all: {{ mrr: {{ gte: {} }} }}\n",
            index / 100,
            (index / 10) % 10,
            1000 - 100 * ((index / 10) % 10)
        ),
        _ => format!(
            "    all: {{ industry: {{ in: [{}, {}] }} }}\n    none: {{ country: {{ eq: {} }} }}\n",
            sequence.pick(&INDUSTRIES),
            sequence.pick(&INDUSTRIES),
            sequence.pick(&COUNTRIES)
        ),
    };
    text.push_str(&body);
}

/// `kpis:` with `count` KPIs: counts, sums, averages and medians, some with `where`, and
/// ratios and shares of earlier ones.
fn kpi_list(count: usize) -> String {
    let mut text = String::from("kpis:\n");
    for index in 0..count {
        let body = match (index % 6, index) {
            (0, _) | (_, 0..=2) => format!(
                "agg: count, where: {{ monthly_activity: {{ gt: {} }} }}",
                index % 7
            ),
            (1, _) => "agg: sum, of: monthly_spend, format: currency".into(),
            (2, _) => "agg: avg, of: active_days_30d, where: { orders_count: { gte: 1 } }".into(),
            (3, _) => format!(
                "ratio: [kpi_{:03}, kpi_{:03}], format: percent",
                index - 2,
                index - 3
            ),
            (4, _) => format!("share_of_total: kpi_{:03}, format: percent", index - 3),
            _ if index % 12 == 5 => "agg: median, of: monthly_spend".into(),
            _ => "agg: count_distinct, of: account_id".into(),
        };
        let _ = writeln!(
            text,
            "  - {{ name: kpi_{index:03}, label: \"KPI {index}\", {body} }}"
        );
    }
    text
}
