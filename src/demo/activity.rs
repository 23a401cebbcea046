//! How users behave once they signed up: whether and when they activate, their usage
//! pattern, and the events and orders it produces.

use super::calendar::{DateSpan, SECS_PER_DAY, time_of_day, timestamp};
use super::generate::Draft;
use super::random::{Rng, Stream, cents};
use super::vocabulary::{ACTIONS, AccountPlan, CHANNELS, POWER_ACTIONS, typical_duration};
use super::{Event, Order};

/// How an activated user behaves over time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Behaviour {
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
pub(super) struct UsagePattern {
    pub(super) behaviour: Behaviour,
    /// Probability of being active on an ordinary weekday.
    pub(super) daily_rate: f64,
}

impl UsagePattern {
    /// Whether the user is around at all on this day.
    pub(super) fn present(&self, day: i64) -> bool {
        match self.behaviour {
            Behaviour::Churned { until } => day < until,
            Behaviour::Reactivated { from, to } => day < from || day >= to,
            _ => true,
        }
    }

    /// Probability of using the product on `day`, before the calendar factor.
    pub(super) fn rate_on(&self, day: i64) -> f64 {
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

/// Decide whether and when a user activates, and how they behave afterwards.
pub(super) fn behave(
    seed: u64,
    index: usize,
    draft: &mut Draft,
    plan: AccountPlan,
    span: &DateSpan,
) {
    let mut rng = Rng::new(seed, Stream::Behaviour, index as u64);
    let p_activate = match plan {
        AccountPlan::Free => 0.5,
        AccountPlan::Starter => 0.62,
        AccountPlan::Pro => 0.7,
        AccountPlan::Enterprise => 0.74,
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
    draft.usage = UsagePattern {
        behaviour,
        daily_rate,
    };
}

/// A user's events, appended to `out` with `event_id` 0 (numbered later).
pub(super) fn user_events(
    seed: u64,
    index: usize,
    user_id: i64,
    draft: &Draft,
    span: &DateSpan,
    out: &mut Vec<Event>,
) {
    let mut rng = Rng::new(seed, Stream::Events, index as u64);
    let lo = draft.signup.max(span.start);
    if lo >= span.end {
        return;
    }
    let first = span.day_of(lo);
    let usage = &draft.usage;
    let power = usage.behaviour == Behaviour::Power;
    let dormant = usage.behaviour == Behaviour::Dormant;
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
            rng.chance(usage.rate_on(day) * span.day_factor(day).max(if power { 0.7 } else { 0.0 }))
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
pub(super) fn user_orders(
    seed: u64,
    index: usize,
    user_id: i64,
    draft: &Draft,
    plan: AccountPlan,
    span: &DateSpan,
    out: &mut Vec<Order>,
) {
    let mut rng = Rng::new(seed, Stream::Orders, index as u64);
    let p_buy = match draft.usage.behaviour {
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
    let preferred = if plan == AccountPlan::Enterprise && rng.chance(0.4) {
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
        if draft.usage.present(day) {
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
        } else if matches!(draft.usage.behaviour, Behaviour::Churned { .. }) {
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
