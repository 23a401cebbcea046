//! `{{ env_var('NAME') }}` in profile values: the one interpolation profiles take.

use crate::error::Error;

/// Expands `{{ env_var('NAME') }}` and `{{ env_var('NAME', 'default') }}` in a profile value.
/// A missing variable without a default is an error naming the variable (never its value).
pub fn interpolate(value: &str, target: &str, field: &str) -> Result<String, Error> {
    expand(value)
        .map_err(|problem| Error::Profile(format!("target `{target}`, `{field}`: {problem}")))
}

/// The one interpolation profiles take, read by hand: a template engine's errors quote the
/// template, and here the template may be a password. `{%` and `{#` are plain text; `{{`
/// must start an `env_var` call. Errors never quote the value.
pub(super) fn expand(value: &str) -> Result<String, String> {
    let mut expanded = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(open) = rest.find("{{") {
        expanded.push_str(&rest[..open]);
        let (call, length) = env_var_call(&rest[open + 2..]).ok_or_else(|| {
            "`{{` must start `{{ env_var('NAME') }}` or `{{ env_var('NAME', 'default') }}` \
             (the value is not shown; a value holding `{{` itself can come from an environment \
             variable)"
                .to_string()
        })?;
        match (std::env::var(call.name), call.default) {
            (Ok(found), _) => expanded.push_str(&found),
            (Err(std::env::VarError::NotUnicode(_)), _) => {
                return Err(format!(
                    "the environment variable {} is not valid Unicode",
                    call.name
                ));
            }
            (Err(std::env::VarError::NotPresent), Some(default)) => expanded.push_str(default),
            (Err(std::env::VarError::NotPresent), None) => {
                return Err(format!("the environment variable {} is not set", call.name));
            }
        }
        rest = &rest[open + 2 + length..];
    }
    expanded.push_str(rest);
    Ok(expanded)
}

/// The names of the environment variables the `env_var` calls in `text` read, for masking
/// where `text` cannot be read as a whole.
pub(super) fn named_variables(text: &str) -> Vec<&str> {
    text.match_indices("{{")
        .filter_map(|(at, _)| env_var_call(&text[at + 2..]))
        .map(|(call, _)| call.name)
        .collect()
}

/// `env_var('NAME')` or `env_var('NAME', 'default')` and the closing `}}`.
struct EnvVarCall<'v> {
    name: &'v str,
    default: Option<&'v str>,
}

/// Reads an `env_var` call and its closing `}}` at the start of `text` (just after `{{`);
/// returns it and the length read.
fn env_var_call(text: &str) -> Option<(EnvVarCall<'_>, usize)> {
    fn blank(text: &str) -> &str {
        text.trim_start_matches([' ', '\t'])
    }
    fn quoted(text: &str) -> Option<(&str, &str)> {
        let quote = text.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
        let (inside, rest) = text[1..].split_once(quote)?;
        Some((inside, rest))
    }
    let rest = blank(text).strip_prefix("env_var")?;
    let rest = blank(rest).strip_prefix('(')?;
    let (name, rest) = quoted(blank(rest))?;
    // std::env::var panics on these.
    if name.is_empty() || name.contains(['=', '\0']) {
        return None;
    }
    let rest = blank(rest);
    let (default, rest) = match rest.strip_prefix(',') {
        Some(rest) => {
            let (default, rest) = quoted(blank(rest))?;
            (Some(default), blank(rest))
        }
        None => (None, rest),
    };
    let rest = blank(blank(rest).strip_prefix(')')?).strip_prefix("}}")?;
    Some((EnvVarCall { name, default }, text.len() - rest.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_vars_interpolate_with_defaults_and_missing_ones_are_named() {
        // SAFETY: no other test reads or writes this variable.
        unsafe { std::env::set_var("SEGC_TEST_PROFILE_HOST", "db.internal") };
        assert_eq!(
            interpolate("{{ env_var('SEGC_TEST_PROFILE_HOST') }}", "t", "host").unwrap(),
            "db.internal"
        );
        assert_eq!(
            interpolate(
                "{{ env_var('SEGC_TEST_PROFILE_UNSET_1', 'fallback') }}",
                "t",
                "host"
            )
            .unwrap(),
            "fallback"
        );
        let error = interpolate(
            "{{ env_var('SEGC_TEST_PROFILE_UNSET_2') }}",
            "pg",
            "password",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("SEGC_TEST_PROFILE_UNSET_2")
                && error.contains("`pg`")
                && error.contains("`password`"),
            "{error}"
        );
        assert_eq!(interpolate("plain", "t", "host").unwrap(), "plain");
    }
    #[test]
    fn only_env_var_is_interpolated_and_errors_never_quote_the_value() {
        // SAFETY: no other test reads or writes these variables.
        unsafe { std::env::set_var("SEGC_TEST_PROFILE_BRACES", "{{ env_var('HOME') }}") };
        // An environment variable's value is taken as it is, never read again.
        assert_eq!(
            expand("{{env_var(\"SEGC_TEST_PROFILE_BRACES\")}}").unwrap(),
            "{{ env_var('HOME') }}"
        );
        assert_eq!(
            expand("a-{{ env_var('SEGC_TEST_PROFILE_UNSET_3', \"d\" ) }}-b").unwrap(),
            "a-d-b"
        );
        // `{%`, `{#` and a lone `}}` are text.
        for literal in ["Hunter{%2", "{# x #}", "a}}b", "{%- if x %}", "{ {"] {
            assert_eq!(expand(literal).unwrap(), literal);
        }
        for broken in [
            "Hunter{{2",
            "{{ Hunter2 }}",
            "{{ env_var(Hunter2) }}",
            "{{ env_var('X') | upper }}",
            "{{ env_var('X', 'Hunter2' }}",
            "{{ env_var('') }}",
            "{{ env_var('A=B') }}",
        ] {
            let error = interpolate(broken, "pg", "password")
                .unwrap_err()
                .to_string();
            assert!(!error.contains("Hunter2"), "{error}");
            assert!(error.contains("env_var('NAME')"), "{error}");
        }
    }
}
