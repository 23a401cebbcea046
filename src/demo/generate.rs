//! The synthetic data: sign-ups, accounts and their plan histories, memberships, and each
//! user's events and orders, as rows.

use super::activity::{Behaviour, UsagePattern, behave, user_events, user_orders};
use super::calendar::{DateSpan, SECS_PER_DAY, time_of_day, timestamp};
use super::random::{Rng, Stream, det_exp, det_ln};
use super::vocabulary::{AccountPlan, COUNTRIES, INDUSTRIES, MEMBER_ROLES, PLANS};
use super::{Account, DemoConfig, DemoData, PlanPeriod, User, UserAccount};

/// Account ids start here so that an accidental join of a user id to an account id finds nothing.
const ACCOUNT_ID_BASE: i64 = 1_000_000;

/// A user while being generated.
#[derive(Debug, Clone)]
pub(super) struct Draft {
    pub(super) signup: i64,
    pub(super) account: usize,
    pub(super) role: &'static str,
    pub(super) country: Option<&'static str>,
    pub(super) activated_at: Option<i64>,
    pub(super) usage: UsagePattern,
}

/// Generate the demo data for `config`. Pure and deterministic.
pub fn generate(config: &DemoConfig) -> DemoData {
    let span = DateSpan::new(config);
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

/// AccountPlan histories: two in five paid accounts started one plan lower and upgraded 20 to 400
/// days after they were created (when that falls before the end of the data); every other
/// account has had its plan since it was created.
fn plan_history(seed: u64, accounts: &[DraftAccount], span: &DateSpan) -> Vec<PlanPeriod> {
    let mut history = Vec::with_capacity(accounts.len() + accounts.len() / 4);
    for (index, account) in accounts.iter().enumerate() {
        let account_id = ACCOUNT_ID_BASE + index as i64 + 1;
        let mut rng = Rng::new(seed, Stream::PlanHistory, index as u64);
        let lower = match account.plan {
            AccountPlan::Free => None,
            AccountPlan::Starter => Some(AccountPlan::Free),
            AccountPlan::Pro => Some(AccountPlan::Starter),
            AccountPlan::Enterprise => Some(AccountPlan::Pro),
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
fn signup_times(config: &DemoConfig, span: &DateSpan) -> Vec<i64> {
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
    plan: AccountPlan,
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
                AccountPlan::Free => 0.0,
                AccountPlan::Starter => 15.0 * rng.int(1, 5) as f64,
                AccountPlan::Pro => 45.0 * rng.int(3, 25) as f64,
                AccountPlan::Enterprise => 100.0 * rng.int(30, 250) as f64,
            };
            let trial_days = match plan {
                AccountPlan::Free if rng.chance(0.25) => Some(14),
                AccountPlan::Starter | AccountPlan::Pro if rng.chance(0.65) => Some(14),
                AccountPlan::Enterprise if rng.chance(0.4) => Some(30),
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
            usage: UsagePattern {
                behaviour: Behaviour::Dormant,
                daily_rate: 0.0,
            },
        });
    }
    (accounts, drafts)
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
