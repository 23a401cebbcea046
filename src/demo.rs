//! Deterministic synthetic SaaS demo data (users, accounts, events, orders) and its loading into DuckDB.
//!
//! [`generate`] is a pure function of [`DemoConfig`]: the same configuration always yields the
//! same rows, bit for bit, on every platform and with every dependency version. To get there the
//! module carries its own pseudo-random generator (splitmix64) and its own `exp`/`ln`, built
//! only from IEEE-754 basic operations, which are exactly rounded everywhere.
//!
//! Each user draws from a private random stream derived from the seed and the user's position,
//! so the shape of one user's history does not depend on how many rows other users produced.
//!
//! The story the data tells:
//! * two years of facts, so a year-over-year comparison has both years; sign-ups grow over
//!   them (about three times as many at the end as at the start), with fewer on weekends;
//!   some users signed up up to two years before `first_day`;
//! * accounts are on `free`, `starter`, `pro` or `enterprise` plans (skewed towards free), their
//!   MRR follows the plan, and bigger plans attract more members;
//! * about 60% of users activate a few days after signing up; activated users follow one of a
//!   few behaviours (power, regular, occasional, churned, declining, reactivated), the others
//!   only look around on their first days;
//! * about a third of users buy, repeat buyers at their own cadence;
//! * facts (events, orders) lie between `first_day` 00:00:00 and `last_day` 23:59:59 and never
//!   before the user's sign-up. All timestamps are UTC wall-clock times.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Weekday};

const SECS_PER_DAY: i64 = 86_400;
/// Account ids start here so that an accidental join of a user id to an account id finds nothing.
const ACCOUNT_ID_BASE: i64 = 1_000_000;
const LN_2: f64 = std::f64::consts::LN_2;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    /// Number of users.
    pub users: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// First day covered by events and orders (and by most sign-ups).
    pub first_day: chrono::NaiveDate,
    /// Last day covered, inclusive. A value before `first_day` is read as `first_day`.
    pub last_day: chrono::NaiveDate,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            users: 10_000,
            seed: 20_261_031,
            first_day: NaiveDate::from_ymd_opt(2024, 11, 1).expect("valid date"),
            last_day: NaiveDate::from_ymd_opt(2026, 10, 31).expect("valid date"),
        }
    }
}

/// A row of `app.users`.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub user_id: i64,
    pub created_at: NaiveDateTime,
    /// The user's main account.
    pub account_id: i64,
    /// `owner`, `admin`, `member` or `viewer`.
    pub role: &'static str,
    pub country: Option<&'static str>,
    pub activated_at: Option<NaiveDateTime>,
}

/// A row of `app.accounts`.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub account_id: i64,
    /// `free`, `starter`, `pro` or `enterprise`.
    pub plan_name: &'static str,
    pub mrr_usd: f64,
    pub industry: &'static str,
    pub created_at: NaiveDateTime,
    pub trial_ends_at: Option<NaiveDateTime>,
}

/// A row of `app.account_plan_history`: an account's plan over a span of time, as a dbt
/// snapshot keeps it (type-2): valid from `valid_from` until `valid_to` (NULL: current).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanPeriod {
    pub account_id: i64,
    pub plan_name: &'static str,
    pub valid_from: NaiveDateTime,
    pub valid_to: Option<NaiveDateTime>,
}

/// A row of `app.user_accounts`: one membership of a user in an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccount {
    pub user_id: i64,
    pub account_id: i64,
}

/// A row of `app.events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event_id: i64,
    pub user_id: i64,
    pub occurred_at: NaiveDateTime,
    pub event_name: &'static str,
    pub duration_s: i32,
}

/// A row of `app.orders`.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub order_id: i64,
    pub user_id: i64,
    pub ordered_at: NaiveDateTime,
    /// US dollars, rounded to cents.
    pub amount: f64,
    /// `web`, `app` or `sales`.
    pub channel: &'static str,
}

/// Every table of the demo warehouse, rows ordered by id (memberships by user, then account).
#[derive(Debug, Clone, PartialEq)]
pub struct DemoData {
    pub users: Vec<User>,
    pub accounts: Vec<Account>,
    pub user_accounts: Vec<UserAccount>,
    pub events: Vec<Event>,
    pub orders: Vec<Order>,
    /// Every account's plan over time; the last period of each is its current plan.
    pub plan_history: Vec<PlanPeriod>,
}

impl DemoData {
    /// Row counts of the generated tables.
    pub fn summary(&self) -> DemoSummary {
        DemoSummary {
            users: self.users.len(),
            accounts: self.accounts.len(),
            events: self.events.len(),
            orders: self.orders.len(),
        }
    }
}

/// Row counts written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSummary {
    pub users: usize,
    pub accounts: usize,
    pub events: usize,
    pub orders: usize,
}

/// Why the demo database could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "{} already exists; the demo data is only written to a new file (remove it or choose another path)",
        .path.display()
    )]
    AlreadyExists { path: std::path::PathBuf },
    #[error("could not move the finished demo database into place at {}: {source}", .path.display())]
    Place {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not lock {} to write the demo data: {source}", .path.display())]
    Lock {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not create the directory {}: {source}", .path.display())]
    CreateDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[cfg(feature = "duckdb")]
    #[error("could not write the demo data to the DuckDB database {}: {source}", .path.display())]
    Duckdb {
        path: std::path::PathBuf,
        #[source]
        source: duckdb::Error,
    },
}

// ---------------------------------------------------------------------------------------------
// Randomness and arithmetic that give the same bits everywhere
// ---------------------------------------------------------------------------------------------

/// splitmix64: tiny, fast, and good enough for synthetic data.
#[derive(Debug, Clone)]
struct Rng(u64);

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Independent random streams, one per purpose.
#[derive(Debug, Clone, Copy)]
enum Stream {
    Signups = 1,
    Accounts = 2,
    Behaviour = 3,
    Events = 4,
    Orders = 5,
    Memberships = 6,
    PlanHistory = 7,
}

impl Rng {
    fn new(seed: u64, stream: Stream, index: u64) -> Rng {
        let s =
            mix64(seed ^ mix64(stream as u64 ^ mix64(index.wrapping_add(0x9e37_79b9_7f4a_7c15))));
        Rng(s)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in 0..n (0 when n is 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform integer in lo..=hi.
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Marsaglia's polar method).
    fn normal(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.unit() - 1.0;
            let v = 2.0 * self.unit() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * (-2.0 * det_ln(s) / s).sqrt();
            }
        }
    }

    /// Exponential with the given mean.
    fn exponential(&mut self, mean: f64) -> f64 {
        -mean * det_ln(1.0 - self.unit())
    }

    /// Log-normal with the given median and log-scale spread.
    fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * det_exp(sigma * self.normal())
    }

    /// One item, with probability proportional to its weight.
    fn pick<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut ticket = self.below(u64::from(total)) as u32;
        for &(item, weight) in items {
            if ticket < weight {
                return item;
            }
            ticket -= weight;
        }
        items[items.len() - 1].0
    }
}

/// Natural logarithm of a positive normal number, from basic operations only.
fn det_ln(x: f64) -> f64 {
    debug_assert!(x.is_normal() && x > 0.0);
    let bits = x.to_bits();
    let mut exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    // Mantissa in [1, 2).
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        exponent += 1;
    }
    // ln m = 2 atanh(s), |s| <= 0.172.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    for k in 0..12 {
        sum += term / f64::from(2 * k + 1);
        term *= s2;
    }
    exponent as f64 * LN_2 + 2.0 * sum
}

/// e^x for moderate x, from basic operations only.
fn det_exp(x: f64) -> f64 {
    let x = x.clamp(-700.0, 700.0);
    let k = (x / LN_2).round();
    let r = x - k * LN_2;
    // Taylor series, |r| <= 0.35.
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 1..18 {
        term *= r / f64::from(n);
        sum += term;
    }
    let scale = f64::from_bits(((k as i64 + 1023) as u64) << 52);
    sum * scale
}

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

// ---------------------------------------------------------------------------------------------
// Time helpers: instants are whole seconds since the Unix epoch until the rows are built
// ---------------------------------------------------------------------------------------------

fn day_start(day: NaiveDate) -> i64 {
    day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()
}

fn timestamp(secs: i64) -> NaiveDateTime {
    DateTime::from_timestamp(secs, 0)
        .expect("demo timestamps are in range")
        .naive_utc()
}

/// The covered days: [start, end) in seconds, `days` whole days.
#[derive(Debug, Clone, Copy)]
struct Span {
    first_day: NaiveDate,
    start: i64,
    end: i64,
    days: i64,
}

impl Span {
    fn new(config: &DemoConfig) -> Span {
        let last_day = config.last_day.max(config.first_day);
        let start = day_start(config.first_day);
        let end = day_start(last_day) + SECS_PER_DAY;
        Span {
            first_day: config.first_day,
            start,
            end,
            days: (end - start) / SECS_PER_DAY,
        }
    }

    /// Index of the day holding `t` (negative before the span).
    fn day_of(&self, t: i64) -> i64 {
        (t - self.start).div_euclid(SECS_PER_DAY)
    }

    fn day_secs(&self, day: i64) -> i64 {
        self.start + day * SECS_PER_DAY
    }

    /// How busy a calendar day is: weekends and the year-end holidays are quiet.
    fn day_factor(&self, day: i64) -> f64 {
        let date = self.first_day + chrono::Days::new(day as u64);
        let holiday =
            (date.month() == 12 && date.day() >= 24) || (date.month() == 1 && date.day() == 1);
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        match (holiday, weekend) {
            (true, _) => 0.35,
            (false, true) => 0.4,
            (false, false) => 1.0,
        }
    }
}

/// Seconds into a day when people tend to be at work, with some activity at any hour.
fn time_of_day(rng: &mut Rng) -> i64 {
    if rng.chance(0.78) {
        // Triangular around 13:30 between 08:00 and 19:00.
        let span = 11 * 3600;
        8 * 3600 + (rng.below(span) + rng.below(span)) as i64 / 2
    } else {
        rng.below(SECS_PER_DAY as u64) as i64
    }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Free,
    Starter,
    Pro,
    Enterprise,
}

impl Plan {
    fn name(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Starter => "starter",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }

    /// How strongly an account on this plan attracts new members.
    fn pull(self) -> usize {
        match self {
            Plan::Free => 1,
            Plan::Starter => 3,
            Plan::Pro => 6,
            Plan::Enterprise => 14,
        }
    }
}

const PLANS: &[(Plan, u32)] = &[
    (Plan::Free, 52),
    (Plan::Starter, 27),
    (Plan::Pro, 15),
    (Plan::Enterprise, 6),
];

const INDUSTRIES: &[(&str, u32)] = &[
    ("software", 26),
    ("retail", 16),
    ("finance", 12),
    ("media", 10),
    ("healthcare", 9),
    ("education", 9),
    ("manufacturing", 8),
    ("travel", 5),
    ("nonprofit", 5),
];

const COUNTRIES: &[(&str, u32)] = &[
    ("US", 30),
    ("DE", 12),
    ("GB", 10),
    ("FR", 9),
    ("IN", 6),
    ("CA", 5),
    ("BR", 5),
    ("NL", 4),
    ("ES", 4),
    ("JP", 3),
    ("AU", 3),
    ("Côte d'Ivoire", 3),
    ("SE", 2),
    ("PL", 2),
    ("SN", 1),
    ("BE", 1),
];

const MEMBER_ROLES: &[(&str, u32)] = &[("admin", 14), ("member", 64), ("viewer", 22)];

const CHANNELS: &[(&str, u32)] = &[("web", 60), ("app", 30), ("sales", 10)];

/// Events after the `login` that opens each session.
const ACTIONS: &[(&str, u32)] = &[
    ("view_report", 52),
    ("search", 16),
    ("create_segment", 10),
    ("export_csv", 7),
    ("share_dashboard", 6),
    ("invite", 3),
];

/// Advanced features, which power users reach for more.
const POWER_ACTIONS: &[(&str, u32)] = &[
    ("view_report", 40),
    ("search", 14),
    ("create_segment", 22),
    ("export_csv", 14),
    ("share_dashboard", 8),
    ("invite", 2),
];

/// Typical seconds spent on an event.
fn typical_duration(name: &str) -> f64 {
    match name {
        "login" => 12.0,
        "view_report" => 95.0,
        "search" => 14.0,
        "create_segment" => 240.0,
        "export_csv" => 25.0,
        "share_dashboard" => 35.0,
        "invite" => 20.0,
        _ => 30.0,
    }
}

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

/// How an activated user behaves over time.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Behaviour {
    /// Near-daily use, several sessions, advanced features.
    Power,
    /// A few days a week.
    Regular,
    /// Now and then.
    Occasional,
    /// Active until `until` (a day index), then gone.
    Churned { until: i64 },
    /// Fading out from day `from` on.
    Declining { from: i64 },
    /// Away on days [from, to), then back.
    Reactivated { from: i64, to: i64 },
    /// Never activated: a look around on the first days, then nothing.
    Dormant,
}

#[derive(Debug, Clone)]
struct Profile {
    behaviour: Behaviour,
    /// Probability of being active on an ordinary weekday.
    daily_rate: f64,
}

impl Profile {
    /// Whether the user is around at all on this day.
    fn present(&self, day: i64) -> bool {
        match self.behaviour {
            Behaviour::Churned { until } => day < until,
            Behaviour::Reactivated { from, to } => day < from || day >= to,
            _ => true,
        }
    }

    /// Probability of using the product on `day`, before the calendar factor.
    fn rate_on(&self, day: i64) -> f64 {
        if !self.present(day) {
            return 0.0;
        }
        match self.behaviour {
            Behaviour::Declining { from } if day >= from => {
                let faded = 1.0 - (day - from) as f64 / 35.0;
                self.daily_rate * faded.max(0.04)
            }
            Behaviour::Dormant => 0.0,
            _ => self.daily_rate,
        }
    }
}

/// A user while being generated.
#[derive(Debug, Clone)]
struct Draft {
    signup: i64,
    account: usize,
    role: &'static str,
    country: Option<&'static str>,
    activated_at: Option<i64>,
    profile: Profile,
}

/// Generate the demo data for `config`. Pure and deterministic.
pub fn generate(config: &DemoConfig) -> DemoData {
    let span = Span::new(config);
    let signups = signup_times(config, &span);
    let (accounts, mut drafts) = assign_accounts(config, &signups);
    for (index, draft) in drafts.iter_mut().enumerate() {
        let plan = accounts[draft.account].plan;
        behave(config.seed, index, draft, plan, &span);
    }

    let mut events = Vec::new();
    let mut orders = Vec::new();
    for (index, draft) in drafts.iter().enumerate() {
        let user_id = index as i64 + 1;
        user_events(config.seed, index, user_id, draft, &span, &mut events);
        let plan = accounts[draft.account].plan;
        user_orders(config.seed, index, user_id, draft, plan, &span, &mut orders);
    }

    // Ids follow time, as an auto-increment column would.
    events.sort_by_key(|e| (e.occurred_at, e.user_id));
    for (i, event) in events.iter_mut().enumerate() {
        event.event_id = i as i64 + 1;
    }
    orders.sort_by_key(|o| (o.ordered_at, o.user_id));
    for (i, order) in orders.iter_mut().enumerate() {
        order.order_id = i as i64 + 1;
    }

    let user_accounts = memberships(config.seed, &drafts, accounts.len());
    let users = drafts
        .iter()
        .enumerate()
        .map(|(index, d)| User {
            user_id: index as i64 + 1,
            created_at: timestamp(d.signup),
            account_id: ACCOUNT_ID_BASE + d.account as i64 + 1,
            role: d.role,
            country: d.country,
            activated_at: d.activated_at.map(timestamp),
        })
        .collect();
    let plan_history = plan_history(config.seed, &accounts, &span);
    let accounts = accounts
        .iter()
        .enumerate()
        .map(|(index, a)| Account {
            account_id: ACCOUNT_ID_BASE + index as i64 + 1,
            plan_name: a.plan.name(),
            mrr_usd: a.mrr_usd,
            industry: a.industry,
            created_at: timestamp(a.created_at),
            trial_ends_at: a.trial_ends_at.map(timestamp),
        })
        .collect();

    DemoData {
        users,
        accounts,
        user_accounts,
        events,
        orders,
        plan_history,
    }
}

/// Plan histories: two in five paid accounts started one plan lower and upgraded 20 to 400
/// days after they were created (when that falls before the end of the data); every other
/// account has had its plan since it was created.
fn plan_history(seed: u64, accounts: &[DraftAccount], span: &Span) -> Vec<PlanPeriod> {
    let mut history = Vec::with_capacity(accounts.len() + accounts.len() / 4);
    for (index, account) in accounts.iter().enumerate() {
        let account_id = ACCOUNT_ID_BASE + index as i64 + 1;
        let mut rng = Rng::new(seed, Stream::PlanHistory, index as u64);
        let lower = match account.plan {
            Plan::Free => None,
            Plan::Starter => Some(Plan::Free),
            Plan::Pro => Some(Plan::Starter),
            Plan::Enterprise => Some(Plan::Pro),
        };
        let upgrade = account.created_at + rng.int(20, 400) * SECS_PER_DAY;
        let mut since = account.created_at;
        if let Some(lower) = lower.filter(|_| rng.chance(0.4) && upgrade < span.end) {
            history.push(PlanPeriod {
                account_id,
                plan_name: lower.name(),
                valid_from: timestamp(since),
                valid_to: Some(timestamp(upgrade)),
            });
            since = upgrade;
        }
        history.push(PlanPeriod {
            account_id,
            plan_name: account.plan.name(),
            valid_from: timestamp(since),
            valid_to: None,
        });
    }
    history
}

/// Sign-up instants, ascending: user ids follow sign-up order.
fn signup_times(config: &DemoConfig, span: &Span) -> Vec<i64> {
    // Density grows like e^(g x) over the span: three times as many sign-ups at the end.
    let growth = det_ln(3.0);
    let mut times: Vec<i64> = (0..config.users)
        .map(|index| {
            let mut rng = Rng::new(config.seed, Stream::Signups, index as u64);
            if rng.chance(0.15) {
                // Before the span, denser close to it, up to two years earlier.
                let u = rng.unit();
                let days_before = 1 + (u * u * 730.0) as i64;
                return span.start - days_before * SECS_PER_DAY + time_of_day(&mut rng);
            }
            let mut day = 0;
            for _ in 0..4 {
                let u = rng.unit();
                let x = det_ln(1.0 + u * (det_exp(growth) - 1.0)) / growth;
                day = ((x * span.days as f64) as i64).min(span.days - 1);
                if rng.chance(span.day_factor(day).max(0.5)) {
                    break;
                }
            }
            span.day_secs(day) + time_of_day(&mut rng)
        })
        .collect();
    times.sort_unstable();
    times
}

#[derive(Debug, Clone)]
struct DraftAccount {
    plan: Plan,
    mrr_usd: f64,
    industry: &'static str,
    created_at: i64,
    trial_ends_at: Option<i64>,
    home_country: &'static str,
}

/// Create accounts as their owners sign up; later users join existing ones.
fn assign_accounts(config: &DemoConfig, signups: &[i64]) -> (Vec<DraftAccount>, Vec<Draft>) {
    let mut rng = Rng::new(config.seed, Stream::Accounts, 0);
    let mut accounts: Vec<DraftAccount> = Vec::new();
    // An account appears here once per unit of pull: a uniform draw is a weighted one.
    let mut tickets: Vec<usize> = Vec::new();
    let mut drafts = Vec::with_capacity(signups.len());
    for &signup in signups {
        let (account, role) = if accounts.is_empty() || rng.chance(0.42) {
            let plan = rng.pick(PLANS);
            let mrr_usd = match plan {
                Plan::Free => 0.0,
                Plan::Starter => 15.0 * rng.int(1, 5) as f64,
                Plan::Pro => 45.0 * rng.int(3, 25) as f64,
                Plan::Enterprise => 100.0 * rng.int(30, 250) as f64,
            };
            let trial_days = match plan {
                Plan::Free if rng.chance(0.25) => Some(14),
                Plan::Starter | Plan::Pro if rng.chance(0.65) => Some(14),
                Plan::Enterprise if rng.chance(0.4) => Some(30),
                _ => None,
            };
            accounts.push(DraftAccount {
                plan,
                mrr_usd,
                industry: rng.pick(INDUSTRIES),
                created_at: signup,
                trial_ends_at: trial_days.map(|d| signup + d * SECS_PER_DAY),
                home_country: rng.pick(COUNTRIES),
            });
            let index = accounts.len() - 1;
            tickets.extend(std::iter::repeat_n(index, plan.pull()));
            (index, "owner")
        } else {
            let index = tickets[rng.below(tickets.len() as u64) as usize];
            (index, rng.pick(MEMBER_ROLES))
        };
        let country = if rng.chance(0.03) {
            None
        } else if rng.chance(0.7) {
            Some(accounts[account].home_country)
        } else {
            Some(rng.pick(COUNTRIES))
        };
        drafts.push(Draft {
            signup,
            account,
            role,
            country,
            activated_at: None,
            profile: Profile {
                behaviour: Behaviour::Dormant,
                daily_rate: 0.0,
            },
        });
    }
    (accounts, drafts)
}

/// Decide whether and when a user activates, and how they behave afterwards.
fn behave(seed: u64, index: usize, draft: &mut Draft, plan: Plan, span: &Span) {
    let mut rng = Rng::new(seed, Stream::Behaviour, index as u64);
    let p_activate = match plan {
        Plan::Free => 0.5,
        Plan::Starter => 0.62,
        Plan::Pro => 0.7,
        Plan::Enterprise => 0.74,
    } * if draft.role == "viewer" { 0.85 } else { 1.0 };
    if rng.chance(p_activate) {
        let delay = 600 + (rng.exponential(2.5).min(21.0) * SECS_PER_DAY as f64) as i64;
        let at = draft.signup + delay;
        if at < span.end {
            draft.activated_at = Some(at);
        }
    }
    let Some(activated_at) = draft.activated_at else {
        return;
    };

    let first = span.day_of(draft.signup.max(span.start)).max(0);
    let remaining = (span.days - first).max(1);
    let regular_rate = |rng: &mut Rng| rng.uniform(0.1, 0.3);
    let occasional_rate = |rng: &mut Rng| rng.uniform(0.02, 0.08);
    let either_rate = |rng: &mut Rng| {
        if rng.chance(0.5) {
            regular_rate(rng)
        } else {
            occasional_rate(rng)
        }
    };
    let kind = rng.pick(&[(0u8, 5), (1, 27), (2, 35), (3, 19), (4, 7), (5, 7)]);
    let (behaviour, daily_rate) = match kind {
        0 => (Behaviour::Power, rng.uniform(0.72, 0.96)),
        1 => (Behaviour::Regular, regular_rate(&mut rng)),
        2 => (Behaviour::Occasional, occasional_rate(&mut rng)),
        3 => {
            let until =
                first.max(span.day_of(activated_at)) + 1 + rng.below(remaining as u64) as i64;
            (Behaviour::Churned { until }, either_rate(&mut rng))
        }
        4 => {
            let from = span.days - rng.int(20, 70);
            (
                Behaviour::Declining { from },
                regular_rate(&mut rng).max(0.2),
            )
        }
        _ => {
            let from = first + 7 + rng.below(remaining as u64) as i64;
            let to = from + rng.int(45, 150);
            (Behaviour::Reactivated { from, to }, either_rate(&mut rng))
        }
    };
    draft.profile = Profile {
        behaviour,
        daily_rate,
    };
}

/// A user's events, appended to `out` with `event_id` 0 (numbered later).
fn user_events(
    seed: u64,
    index: usize,
    user_id: i64,
    draft: &Draft,
    span: &Span,
    out: &mut Vec<Event>,
) {
    let mut rng = Rng::new(seed, Stream::Events, index as u64);
    let lo = draft.signup.max(span.start);
    if lo >= span.end {
        return;
    }
    let first = span.day_of(lo);
    let profile = &draft.profile;
    let power = profile.behaviour == Behaviour::Power;
    let dormant = profile.behaviour == Behaviour::Dormant;
    let signed_up_inside = draft.signup >= span.start;
    let activation_day = draft.activated_at.map(|t| span.day_of(t));

    for day in first..span.days {
        let age = day - span.day_of(draft.signup);
        let active = if signed_up_inside && age == 0 {
            !dormant || rng.chance(0.85)
        } else if Some(day) == activation_day {
            true
        } else if dormant {
            age < 10 && rng.chance(0.06)
        } else {
            rng.chance(
                profile.rate_on(day) * span.day_factor(day).max(if power { 0.7 } else { 0.0 }),
            )
        };
        if !active {
            continue;
        }
        let sessions = if power {
            1 + i64::from(rng.chance(0.5)) + i64::from(rng.chance(0.1))
        } else {
            1 + i64::from(rng.chance(0.15))
        };
        let day_lo = span.day_secs(day).max(lo);
        let day_hi = (span.day_secs(day) + SECS_PER_DAY).min(span.end);
        for _ in 0..sessions {
            let mut t = span.day_secs(day) + time_of_day(&mut rng);
            if t < day_lo {
                t = day_lo + rng.int(5, 300);
            }
            let actions = if power {
                rng.int(1, 5)
            } else if dormant {
                rng.int(0, 2)
            } else {
                rng.int(0, 3)
            };
            for n in 0..=actions {
                if t >= day_hi {
                    break;
                }
                let name = if n == 0 {
                    "login"
                } else if power {
                    rng.pick(POWER_ACTIONS)
                } else {
                    rng.pick(ACTIONS)
                };
                let duration = rng
                    .log_normal(typical_duration(name), 0.6)
                    .round()
                    .clamp(1.0, 7200.0);
                out.push(Event {
                    event_id: 0,
                    user_id,
                    occurred_at: timestamp(t),
                    event_name: name,
                    duration_s: duration as i32,
                });
                t += rng.int(20, 60) + duration as i64;
            }
        }
    }
}

/// A user's orders, appended to `out` with `order_id` 0 (numbered later).
fn user_orders(
    seed: u64,
    index: usize,
    user_id: i64,
    draft: &Draft,
    plan: Plan,
    span: &Span,
    out: &mut Vec<Order>,
) {
    let mut rng = Rng::new(seed, Stream::Orders, index as u64);
    let p_buy = match draft.profile.behaviour {
        Behaviour::Power => 0.75,
        Behaviour::Regular => 0.6,
        Behaviour::Declining { .. } => 0.55,
        Behaviour::Reactivated { .. } => 0.5,
        Behaviour::Occasional => 0.4,
        Behaviour::Churned { .. } => 0.38,
        Behaviour::Dormant => 0.1,
    };
    if !rng.chance(p_buy) {
        return;
    }
    let preferred = if plan == Plan::Enterprise && rng.chance(0.4) {
        "sales"
    } else {
        rng.pick(CHANNELS)
    };
    let basket = rng.log_normal(42.0, 0.75);
    let repeat = rng.chance(0.62);
    let cadence_days = rng.uniform(9.0, 75.0);
    let lo = draft.signup.max(span.start);
    let mut t = lo + (rng.exponential(12.0) * SECS_PER_DAY as f64) as i64;
    loop {
        if t >= span.end {
            break;
        }
        let day = span.day_of(t);
        if draft.profile.present(day) {
            let channel = if rng.chance(0.8) {
                preferred
            } else {
                rng.pick(CHANNELS)
            };
            let scale = if channel == "sales" { 4.0 } else { 1.0 };
            let amount = cents((basket * scale * rng.log_normal(1.0, 0.3)).max(5.0));
            out.push(Order {
                order_id: 0,
                user_id,
                ordered_at: timestamp(t),
                amount,
                channel,
            });
        } else if matches!(draft.profile.behaviour, Behaviour::Churned { .. }) {
            break;
        }
        if !repeat || rng.chance(0.05) {
            break;
        }
        let gap_days = cadence_days * rng.uniform(0.6, 1.4);
        let next_day = span.day_of(t) + gap_days.round().max(1.0) as i64;
        t = (span.day_secs(next_day) + time_of_day(&mut rng)).max(t + 1);
    }
}

/// Every user's main account, plus extra memberships for a minority.
fn memberships(seed: u64, drafts: &[Draft], account_count: usize) -> Vec<UserAccount> {
    let mut out = Vec::with_capacity(drafts.len() + drafts.len() / 5);
    for (index, draft) in drafts.iter().enumerate() {
        let mut rng = Rng::new(seed, Stream::Memberships, index as u64);
        let mut ids = vec![draft.account];
        let extra = if rng.chance(0.14) {
            if rng.chance(0.3) {
                rng.int(2, 4) as usize
            } else {
                1
            }
        } else {
            0
        };
        let wanted = (1 + extra).min(account_count);
        while ids.len() < wanted {
            let candidate = rng.below(account_count as u64) as usize;
            if !ids.contains(&candidate) {
                ids.push(candidate);
            }
        }
        ids.sort_unstable();
        let user_id = index as i64 + 1;
        out.extend(ids.into_iter().map(|a| UserAccount {
            user_id,
            account_id: ACCOUNT_ID_BASE + a as i64 + 1,
        }));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// DuckDB
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "duckdb")]
const SCHEMA_SQL: &str = "
CREATE SCHEMA app;
CREATE TABLE app.accounts (
    account_id    BIGINT    NOT NULL PRIMARY KEY,
    plan_name     VARCHAR   NOT NULL,
    mrr_usd       DOUBLE    NOT NULL,
    industry      VARCHAR   NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    trial_ends_at TIMESTAMP
);
CREATE TABLE app.users (
    user_id      BIGINT    NOT NULL PRIMARY KEY,
    created_at   TIMESTAMP NOT NULL,
    account_id   BIGINT    NOT NULL,
    role         VARCHAR   NOT NULL,
    country      VARCHAR,
    activated_at TIMESTAMP
);
CREATE TABLE app.user_accounts (
    user_id    BIGINT NOT NULL,
    account_id BIGINT NOT NULL
);
CREATE TABLE app.account_plan_history (
    account_id BIGINT    NOT NULL,
    plan_name  VARCHAR   NOT NULL,
    valid_from TIMESTAMP NOT NULL,
    valid_to   TIMESTAMP
);
CREATE TABLE app.events (
    event_id    BIGINT    NOT NULL,
    user_id     BIGINT    NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    event_name  VARCHAR   NOT NULL,
    duration_s  INTEGER   NOT NULL
);
CREATE TABLE app.orders (
    order_id   BIGINT    NOT NULL,
    user_id    BIGINT    NOT NULL,
    ordered_at TIMESTAMP NOT NULL,
    amount     DOUBLE    NOT NULL,
    channel    VARCHAR   NOT NULL
);
";

/// The demo database with the default data, for `segc init --demo` and a `demo: true` profile.
#[cfg(feature = "duckdb")]
pub fn create_database(path: &std::path::Path) -> Result<DemoSummary, DemoError> {
    write_duckdb(&generate(&DemoConfig::default()), path)
}

/// Write `data` into a new DuckDB database at `path`: schema `app` and its five tables, filled
/// in one transaction. Refuses to touch an existing file; creates missing parent directories.
///
/// Safe when several processes try at once (two first runs of a scheduled job): the writer
/// holds a lock on `<path>.lock`, fills a temporary file next to `path` and renames it into
/// place, so `path` is either missing or complete; a process that waited for the lock finds
/// the file there and gets `AlreadyExists`. On failure the temporary file is removed.
#[cfg(feature = "duckdb")]
pub fn write_duckdb(data: &DemoData, path: &std::path::Path) -> Result<DemoSummary, DemoError> {
    if path.exists() {
        return Err(DemoError::AlreadyExists {
            path: path.to_path_buf(),
        });
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| DemoError::CreateDir {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let beside = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        std::path::PathBuf::from(name)
    };
    let lock_path = beside(".lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| DemoError::Lock {
            path: lock_path.clone(),
            source,
        })?;
    if lock.try_lock().is_err() {
        eprintln!(
            "{}",
            crate::terminal::printable_lines(&format!(
                "waiting for another segc to finish writing {}…",
                path.display()
            ))
        );
        lock.lock().map_err(|source| DemoError::Lock {
            path: lock_path.clone(),
            source,
        })?;
    }
    if path.exists() {
        return Err(DemoError::AlreadyExists {
            path: path.to_path_buf(),
        });
    }
    let temporary = beside(&format!(".{}.tmp", std::process::id()));
    let remove_temporary = || {
        let _ = std::fs::remove_file(&temporary);
        let mut wal = temporary.as_os_str().to_owned();
        wal.push(".wal");
        let _ = std::fs::remove_file(std::path::PathBuf::from(wal));
    };
    remove_temporary();
    let result = fill_duckdb(data, &temporary)
        .map_err(|source| DemoError::Duckdb {
            path: path.to_path_buf(),
            source,
        })
        .and_then(|()| {
            std::fs::rename(&temporary, path).map_err(|source| DemoError::Place {
                path: path.to_path_buf(),
                source,
            })
        });
    if result.is_err() {
        remove_temporary();
    }
    // Whoever waits on the old lock file finds the database in place; a newcomer makes a new one.
    let _ = std::fs::remove_file(&lock_path);
    drop(lock);
    result.map(|()| data.summary())
}

#[cfg(feature = "duckdb")]
fn fill_duckdb(data: &DemoData, path: &std::path::Path) -> duckdb::Result<()> {
    use duckdb::params;
    use duckdb::types::{TimeUnit, Value};

    fn ts(t: &NaiveDateTime) -> Value {
        Value::Timestamp(TimeUnit::Microsecond, t.and_utc().timestamp_micros())
    }
    fn opt_ts(t: &Option<NaiveDateTime>) -> Value {
        t.as_ref().map_or(Value::Null, ts)
    }

    let mut conn = duckdb::Connection::open(path)?;
    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA_SQL)?;
    {
        let mut app = tx.appender_to_db("accounts", "app")?;
        for a in &data.accounts {
            app.append_row(params![
                a.account_id,
                a.plan_name,
                a.mrr_usd,
                a.industry,
                ts(&a.created_at),
                opt_ts(&a.trial_ends_at)
            ])?;
        }
        app.flush()?;
    }
    {
        let mut app = tx.appender_to_db("users", "app")?;
        for u in &data.users {
            app.append_row(params![
                u.user_id,
                ts(&u.created_at),
                u.account_id,
                u.role,
                u.country,
                opt_ts(&u.activated_at)
            ])?;
        }
        app.flush()?;
    }
    {
        let mut app = tx.appender_to_db("user_accounts", "app")?;
        for m in &data.user_accounts {
            app.append_row(params![m.user_id, m.account_id])?;
        }
        app.flush()?;
    }
    {
        let mut app = tx.appender_to_db("events", "app")?;
        for e in &data.events {
            app.append_row(params![
                e.event_id,
                e.user_id,
                ts(&e.occurred_at),
                e.event_name,
                e.duration_s
            ])?;
        }
        app.flush()?;
    }
    {
        let mut app = tx.appender_to_db("orders", "app")?;
        for o in &data.orders {
            app.append_row(params![
                o.order_id,
                o.user_id,
                ts(&o.ordered_at),
                o.amount,
                o.channel
            ])?;
        }
        app.flush()?;
    }
    {
        let mut app = tx.appender_to_db("account_plan_history", "app")?;
        for p in &data.plan_history {
            app.append_row(params![
                p.account_id,
                p.plan_name,
                ts(&p.valid_from),
                opt_ts(&p.valid_to)
            ])?;
        }
        app.flush()?;
    }
    tx.commit()?;
    // Everything into the database file itself, so renaming it moves all of it.
    conn.execute_batch("CHECKPOINT")?;
    drop(conn);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn small() -> DemoConfig {
        DemoConfig {
            users: 1_500,
            ..DemoConfig::default()
        }
    }

    fn end_of(config: &DemoConfig) -> NaiveDateTime {
        config.last_day.and_hms_opt(23, 59, 59).unwrap()
    }

    #[test]
    fn same_config_gives_identical_data() {
        assert_eq!(generate(&small()), generate(&small()));
    }

    #[test]
    fn different_seed_gives_different_data() {
        let other = DemoConfig { seed: 7, ..small() };
        let (a, b) = (generate(&small()), generate(&other));
        assert_ne!(a.users, b.users);
        assert_ne!(a.events, b.events);
        assert_ne!(a.orders, b.orders);
    }

    #[test]
    fn fingerprint_is_stable() {
        // Guards against accidental changes to the generator: demo numbers in docs and tests
        // depend on it. Update deliberately if the data is meant to change.
        let data = generate(&small());
        let mut h = 0u64;
        for e in &data.events {
            h = mix64(h ^ e.occurred_at.and_utc().timestamp() as u64 ^ (e.user_id as u64) << 40);
        }
        for o in &data.orders {
            h = mix64(h ^ o.amount.to_bits());
        }
        let summary = data.summary();
        assert_eq!(
            (
                summary.users,
                summary.accounts,
                summary.events,
                summary.orders
            ),
            (1_500, 597, 153_789, 2_668),
            "row counts changed"
        );
        assert_eq!(h, 4_358_558_197_289_888_552, "fingerprint changed");
    }

    #[test]
    fn deterministic_math_is_accurate() {
        for &x in &[1e-12, 0.001, 0.5, 1.0, 1.5, 2.0, 3.0, 10.0, 12345.678] {
            let got: f64 = det_ln(x);
            assert!(
                (got - x.ln()).abs() <= 1e-14 * x.ln().abs().max(1.0),
                "ln {x}: {got}"
            );
        }
        for &x in &[-30.0, -2.5, -0.1, 0.0, 0.3, 1.0, 2.2, 10.0, 50.0] {
            let got: f64 = det_exp(x);
            assert!((got - x.exp()).abs() <= 1e-14 * x.exp(), "exp {x}: {got}");
        }
    }

    #[test]
    fn empty_and_degenerate_configs_work() {
        let empty = generate(&DemoConfig {
            users: 0,
            ..small()
        });
        assert_eq!(
            empty.summary(),
            DemoSummary {
                users: 0,
                accounts: 0,
                events: 0,
                orders: 0
            }
        );
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let one_day = DemoConfig {
            users: 50,
            first_day: day,
            last_day: day,
            ..small()
        };
        let data = generate(&one_day);
        assert!(data.events.iter().all(|e| e.occurred_at.date() == day));
    }

    #[test]
    fn invariants_hold() {
        let config = DemoConfig::default();
        let data = generate(&config);
        let start = config.first_day.and_hms_opt(0, 0, 0).unwrap();
        let end = end_of(&config);

        let user_ids: HashSet<i64> = data.users.iter().map(|u| u.user_id).collect();
        assert_eq!(user_ids.len(), data.users.len(), "user ids unique");
        let account_ids: HashSet<i64> = data.accounts.iter().map(|a| a.account_id).collect();
        assert_eq!(account_ids.len(), data.accounts.len(), "account ids unique");
        let event_ids: HashSet<i64> = data.events.iter().map(|e| e.event_id).collect();
        assert_eq!(event_ids.len(), data.events.len(), "event ids unique");
        let order_ids: HashSet<i64> = data.orders.iter().map(|o| o.order_id).collect();
        assert_eq!(order_ids.len(), data.orders.len(), "order ids unique");

        let signup: HashMap<i64, NaiveDateTime> = data
            .users
            .iter()
            .map(|u| (u.user_id, u.created_at))
            .collect();
        for u in &data.users {
            assert!(
                account_ids.contains(&u.account_id),
                "user {} has a missing account",
                u.user_id
            );
            assert!(u.created_at <= end);
            if let Some(at) = u.activated_at {
                assert!(
                    at > u.created_at && at <= end,
                    "user {} activation",
                    u.user_id
                );
            }
        }
        for e in &data.events {
            let s = signup[&e.user_id];
            assert!(
                e.occurred_at >= s,
                "event {} before its user's sign-up",
                e.event_id
            );
            assert!(
                e.occurred_at >= start && e.occurred_at <= end,
                "event {} out of range",
                e.event_id
            );
            assert!(e.duration_s >= 1);
        }
        for o in &data.orders {
            assert!(
                o.ordered_at >= signup[&o.user_id],
                "order {} before sign-up",
                o.order_id
            );
            assert!(
                o.ordered_at >= start && o.ordered_at <= end,
                "order {} out of range",
                o.order_id
            );
            assert!(o.amount > 0.0 && o.amount == cents(o.amount));
        }

        let mut pairs = HashSet::new();
        let mut main_seen = HashSet::new();
        let account_of: HashMap<i64, i64> = data
            .users
            .iter()
            .map(|u| (u.user_id, u.account_id))
            .collect();
        for m in &data.user_accounts {
            assert!(user_ids.contains(&m.user_id) && account_ids.contains(&m.account_id));
            assert!(
                pairs.insert((m.user_id, m.account_id)),
                "duplicate membership"
            );
            if account_of[&m.user_id] == m.account_id {
                main_seen.insert(m.user_id);
            }
        }
        assert_eq!(
            main_seen.len(),
            data.users.len(),
            "every main account is a membership"
        );
        for a in &data.accounts {
            let expected = match a.plan_name {
                "free" => a.mrr_usd == 0.0,
                "starter" => (15.0..=75.0).contains(&a.mrr_usd),
                "pro" => (135.0..=1125.0).contains(&a.mrr_usd),
                "enterprise" => (3000.0..=25_000.0).contains(&a.mrr_usd),
                other => panic!("unexpected plan {other}"),
            };
            assert!(
                expected,
                "account {} MRR {} vs plan {}",
                a.account_id, a.mrr_usd, a.plan_name
            );
        }
    }

    #[test]
    fn shape_matches_the_story() {
        let config = DemoConfig::default();
        let data = generate(&config);
        let n = data.users.len() as f64;

        assert!(
            (800_000..=1_500_000).contains(&data.events.len()),
            "{} events",
            data.events.len()
        );

        let activated = data
            .users
            .iter()
            .filter(|u| u.activated_at.is_some())
            .count() as f64;
        assert!(
            (0.55..=0.65).contains(&(activated / n)),
            "activated share {}",
            activated / n
        );

        let buyers: HashSet<i64> = data.orders.iter().map(|o| o.user_id).collect();
        let buyer_share = buyers.len() as f64 / n;
        assert!(
            (0.28..=0.40).contains(&buyer_share),
            "buyer share {buyer_share}"
        );

        let early = data
            .users
            .iter()
            .filter(|u| u.created_at.date() < config.first_day)
            .count();
        assert!(early > 0 && (early as f64) < 0.25 * n);
        assert!(
            data.users
                .iter()
                .any(|u| u.country == Some("Côte d'Ivoire"))
        );
        assert!(data.users.iter().any(|u| u.country.is_none()));

        let mut per_user: HashMap<i64, usize> = HashMap::new();
        for m in &data.user_accounts {
            *per_user.entry(m.user_id).or_default() += 1;
        }
        let multi = per_user.values().filter(|&&c| c >= 2).count() as f64;
        assert!(
            multi > 0.05 * n && multi < 0.3 * n,
            "multi-account users {multi}"
        );
        assert!(per_user.values().any(|&c| c >= 3));

        let mut plans: HashMap<&str, usize> = HashMap::new();
        for a in &data.accounts {
            *plans.entry(a.plan_name).or_default() += 1;
        }
        assert!(
            plans["free"] > plans["starter"]
                && plans["starter"] > plans["pro"]
                && plans["pro"] > plans["enterprise"]
        );
    }

    #[test]
    fn activity_is_heavy_tailed() {
        let data = generate(&DemoConfig::default());
        let mut counts: HashMap<i64, usize> = HashMap::new();
        for e in &data.events {
            *counts.entry(e.user_id).or_default() += 1;
        }
        let mut per_user: Vec<usize> = data
            .users
            .iter()
            .map(|u| counts.get(&u.user_id).copied().unwrap_or(0))
            .collect();
        per_user.sort_unstable_by(|a, b| b.cmp(a));
        let top = per_user.len() / 10;
        let top_share = per_user[..top].iter().sum::<usize>() as f64 / data.events.len() as f64;
        assert!(top_share > 0.4, "top 10% hold {top_share}");
        let median = per_user[per_user.len() / 2];
        assert!(
            median < per_user[top] / 4,
            "median {median} vs p90 {}",
            per_user[top]
        );
    }

    #[test]
    fn behaviours_show_up_near_the_end() {
        // The demo segments need members: new, active, power, churned users as of last_day.
        let config = DemoConfig::default();
        let data = generate(&config);
        let end = end_of(&config);
        let days_ago = |t: NaiveDateTime| (end - t).num_days();
        let mut last_seen: HashMap<i64, NaiveDateTime> = HashMap::new();
        let mut days_30: HashMap<i64, HashSet<NaiveDate>> = HashMap::new();
        for e in &data.events {
            last_seen.insert(e.user_id, e.occurred_at);
            if days_ago(e.occurred_at) < 30 {
                days_30
                    .entry(e.user_id)
                    .or_default()
                    .insert(e.occurred_at.date());
            }
        }
        let new_users = data
            .users
            .iter()
            .filter(|u| days_ago(u.created_at) < 14)
            .count();
        let power = days_30.values().filter(|d| d.len() >= 20).count();
        let churned = last_seen.values().filter(|&&t| days_ago(t) >= 90).count();
        assert!(new_users > 100, "new users {new_users}");
        assert!(days_30.len() > 1_500, "active users {}", days_30.len());
        assert!(power > 100, "power users {power}");
        assert!(churned > 500, "churned users {churned}");
    }

    #[cfg(feature = "duckdb")]
    #[test]
    fn writes_a_duckdb_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("demo.duckdb");
        let data = generate(&small());
        let summary = write_duckdb(&data, &path).unwrap();
        assert_eq!(summary, data.summary());

        let conn = duckdb::Connection::open(&path).unwrap();
        let count = |table: &str| -> i64 {
            conn.query_row(&format!("SELECT count(*) FROM app.{table}"), [], |r| {
                r.get(0)
            })
            .unwrap()
        };
        assert_eq!(count("users") as usize, data.users.len());
        assert_eq!(count("accounts") as usize, data.accounts.len());
        assert_eq!(count("user_accounts") as usize, data.user_accounts.len());
        assert_eq!(count("events") as usize, data.events.len());
        assert_eq!(count("orders") as usize, data.orders.len());

        let (created, country): (String, Option<String>) = conn
            .query_row(
                "SELECT CAST(created_at AS VARCHAR), country FROM app.users WHERE user_id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            created,
            data.users[0]
                .created_at
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        );
        assert_eq!(country.as_deref(), data.users[0].country);
        let ivorians: i64 = conn
            .query_row(
                "SELECT count(*) FROM app.users WHERE country = 'Côte d''Ivoire'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let expected = data
            .users
            .iter()
            .filter(|u| u.country == Some("Côte d'Ivoire"))
            .count();
        assert_eq!(ivorians as usize, expected);
        let types: Vec<(String, String)> = {
            let mut stmt = conn
                .prepare(
                    "SELECT column_name, data_type FROM information_schema.columns \
                     WHERE table_schema = 'app' AND table_name = 'events' ORDER BY ordinal_position",
                )
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let expected: Vec<(String, String)> = [
            ("event_id", "BIGINT"),
            ("user_id", "BIGINT"),
            ("occurred_at", "TIMESTAMP"),
            ("event_name", "VARCHAR"),
            ("duration_s", "INTEGER"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(types, expected);
        drop(conn);

        let err = write_duckdb(&data, &path).unwrap_err();
        assert!(matches!(err, DemoError::AlreadyExists { .. }));
        assert!(err.to_string().contains("demo.duckdb"), "{err}");
    }
}
