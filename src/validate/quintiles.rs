//! Quintile scores: `{ quintile: recency_days, best: lowest }`, and what they may score.

use crate::error::suggest;
use crate::ir::{AttributeId, AttributeKind, ValueType};
use crate::spec::{AttributeSpec, Spanned};

use super::Validator;
use super::attributes::{Pending, window_span};

impl Validator<'_> {
    /// `{ quintile: recency_days, best: lowest }`.
    pub(super) fn resolve_quintile(
        &mut self,
        spec: &AttributeSpec,
        id: AttributeId,
        of: &Spanned<String>,
    ) -> Option<Pending> {
        let what = format!("attribute `{}`", spec.name.value);
        for (present, key) in [
            (spec.source.as_ref().map(|s| s.span), "source"),
            (spec.column.as_ref().map(|s| s.span), "column"),
            (spec.aggregation.as_ref().map(|s| s.span), "agg"),
            (spec.formula.as_ref().map(|s| s.span), "formula"),
            (window_span(spec), "window"),
            (spec.n.as_ref().map(|s| s.span), "n"),
        ] {
            if let Some(span) = present {
                self.error(
                    format!("{what} is a `quintile`, so it cannot also have `{key}`"),
                    span,
                );
            }
        }
        let best_lowest = match spec.best.as_ref().map(|b| b.value.as_str()) {
            None | Some("highest") => false,
            Some("lowest") => true,
            Some(other) => {
                self.error_with_hint(
                    format!("{what}: `best` is `highest` or `lowest`, found `{other}`"),
                    spec.best.as_ref().map(|b| b.span).unwrap_or(spec.span),
                    Some(
                        "`best: lowest` gives the lowest values the score 5, as for recency".into(),
                    ),
                );
                false
            }
        };
        let Some(base) = self.attribute_by_name(&of.value) else {
            let hint = suggest(&of.value, self.attribute_names.keys().map(String::as_str));
            self.error_with_hint(
                format!("unknown attribute `{}` in `quintile` of {what}", of.value),
                of.span,
                hint,
            );
            return None;
        };
        if base == id {
            self.error(format!("{what} is the quintile of itself"), of.span);
            return None;
        }
        self.attributes[id.0].kind = AttributeKind::Quintile {
            of: base,
            best_lowest,
        };
        self.attributes[id.0].value_type = ValueType::Number;
        self.quintile_bases.push((id, of.span));
        Some(Pending::Resolved)
    }

    /// A quintile is computed from the other attributes; its base cannot be a quintile or a
    /// formula that uses one, and must have an order that means the same on every engine:
    /// a number, a date or a timestamp (strings sort by collation, booleans only tie).
    pub(super) fn check_quintile_bases(&mut self) {
        for (id, span) in std::mem::take(&mut self.quintile_bases) {
            let AttributeKind::Quintile { of, .. } = self.attributes[id.0].kind else {
                continue;
            };
            let base_type = self.attributes[of.0].value_type;
            if matches!(base_type, ValueType::String | ValueType::Boolean) {
                let message = format!(
                    "the quintile `{}` scores `{}`, which is {}; quintiles rank numbers, dates or timestamps",
                    self.attributes[id.0].name,
                    self.attributes[of.0].name,
                    super::conditions::article(base_type)
                );
                self.error(message, span);
                continue;
            }
            let mut pending = vec![of];
            let mut seen = Vec::new();
            while let Some(current) = pending.pop() {
                if seen.contains(&current) {
                    continue;
                }
                seen.push(current);
                match &self.attributes[current.0].kind {
                    AttributeKind::Quintile { .. } => {
                        let message = format!(
                            "the quintile `{}` is computed from `{}`, which is or uses a quintile (`{}`); score the underlying value instead",
                            self.attributes[id.0].name,
                            self.attributes[of.0].name,
                            self.attributes[current.0].name
                        );
                        self.error(message, span);
                        break;
                    }
                    AttributeKind::Formula(expr) => pending.extend(expr.references()),
                    _ => {}
                }
            }
        }
    }
}
