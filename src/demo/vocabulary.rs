//! The words the demo data is made of: plans, industries, countries, roles, channels and
//! events, each with the weight it is drawn with.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AccountPlan {
    Free,
    Starter,
    Pro,
    Enterprise,
}

impl AccountPlan {
    pub(super) fn name(self) -> &'static str {
        match self {
            AccountPlan::Free => "free",
            AccountPlan::Starter => "starter",
            AccountPlan::Pro => "pro",
            AccountPlan::Enterprise => "enterprise",
        }
    }

    /// How strongly an account on this plan attracts new members.
    pub(super) fn pull(self) -> usize {
        match self {
            AccountPlan::Free => 1,
            AccountPlan::Starter => 3,
            AccountPlan::Pro => 6,
            AccountPlan::Enterprise => 14,
        }
    }
}

pub(super) const PLANS: &[(AccountPlan, u32)] = &[
    (AccountPlan::Free, 52),
    (AccountPlan::Starter, 27),
    (AccountPlan::Pro, 15),
    (AccountPlan::Enterprise, 6),
];

pub(super) const INDUSTRIES: &[(&str, u32)] = &[
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

pub(super) const COUNTRIES: &[(&str, u32)] = &[
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

pub(super) const MEMBER_ROLES: &[(&str, u32)] = &[("admin", 14), ("member", 64), ("viewer", 22)];

pub(super) const CHANNELS: &[(&str, u32)] = &[("web", 60), ("app", 30), ("sales", 10)];

/// Events after the `login` that opens each session.
pub(super) const ACTIONS: &[(&str, u32)] = &[
    ("view_report", 52),
    ("search", 16),
    ("create_segment", 10),
    ("export_csv", 7),
    ("share_dashboard", 6),
    ("invite", 3),
];

/// Advanced features, which power users reach for more.
pub(super) const POWER_ACTIONS: &[(&str, u32)] = &[
    ("view_report", 40),
    ("search", 14),
    ("create_segment", 22),
    ("export_csv", 14),
    ("share_dashboard", 8),
    ("invite", 2),
];

/// Typical seconds spent on an event.
pub(super) fn typical_duration(name: &str) -> f64 {
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
