//! BigQuery's errors: which are worth a retry, and what each tells the user to fix.

use gcp_bigquery_client::error::BQError;

use crate::driver::Attempt;
use crate::error::Error;

/// The reason BigQuery gave for an error, and its HTTP code.
fn reason_of(error: &BQError) -> Option<(i64, String, String)> {
    match error {
        BQError::ResponseError { error } => {
            let reason = error
                .error
                .errors
                .first()
                .and_then(|e| e.get("reason"))
                .cloned()
                .unwrap_or_default();
            Some((error.error.code, reason, error.error.message.clone()))
        }
        _ => None,
    }
}

/// Whether an error may pass on a second try.
pub fn is_transient(code: i64, reason: &str) -> bool {
    code >= 500
        || matches!(
            reason,
            "rateLimitExceeded" | "backendError" | "internalError" | "jobBackendError"
        )
}

/// Turns a BigQuery error reason into what to fix.
pub fn explain(target: &str, code: i64, reason: &str, message: &str) -> String {
    let hint = match reason {
        "notFound" => {
            " — a table the statement reads (a source's, or segc's own history or results table) does not exist, or `project`, `dataset` or `location` in profiles.yml is wrong"
        }
        "accessDenied" => {
            " — the account lacks permission: it needs BigQuery Job User on the project and Data Viewer on the source datasets"
        }
        "bytesBilledLimitExceeded" => {
            " — the query would process more than `maximum_bytes_billed` allows; raise it in profiles.yml or narrow the sources"
        }
        "authError" | "unauthorized" => {
            " — check the credentials: `keyfile`, `keyfile_json`, `access_token` or application default credentials"
        }
        "invalidQuery" => "",
        "quotaExceeded" => " — a BigQuery quota was reached; try later or raise the quota",
        _ if code == 401 => {
            " — check the credentials: `keyfile`, `keyfile_json`, `access_token` or application default credentials"
        }
        _ => "",
    };
    let reason = if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    };
    let message = crate::error::clip(message, super::super::SERVER_MESSAGE_CHARS);
    format!("target `{target}`: BigQuery error{reason}: {message}{hint}")
}

/// What went wrong with one API call: transient for 5xx, `rateLimitExceeded`, `backendError`
/// and a dropped connection.
pub(super) fn classify(error: BQError, target: &str) -> Attempt {
    if let Some((code, reason, message)) = reason_of(&error) {
        return Attempt::new(
            is_transient(code, &reason),
            explain(target, code, &reason, &message),
        );
    }
    match &error {
        BQError::RequestError(e) if e.is_connect() || e.is_timeout() || e.is_request() => {
            // reqwest names the URL (so the endpoint's host and port) and keeps the cause as
            // a source. Nothing listening there is a wrong `endpoint`, not a passing failure.
            // A certificate that does not verify will not verify on another try either.
            let refused = crate::driver::io_cause(e) == Some(std::io::ErrorKind::ConnectionRefused);
            let causes = crate::driver::with_causes(e);
            let certificate = causes.to_lowercase().contains("certificate");
            let hint = if certificate {
                " — the endpoint's TLS certificate is not trusted"
            } else {
                ""
            };
            Attempt::new(
                !refused && !certificate,
                format!("target `{target}`: cannot reach BigQuery: {causes}{hint}"),
            )
        }
        // An error body that is not BigQuery's JSON (a proxy's 502 page, say).
        BQError::RequestError(e) if e.is_decode() || e.is_body() => Attempt::Transient(format!(
            "target `{target}`: unreadable answer from BigQuery: {e}"
        )),
        BQError::AuthError(_)
        | BQError::YupAuthError(_)
        | BQError::NoToken
        | BQError::InvalidServiceAccountKey(_)
        | BQError::InvalidServiceAccountAuthenticator(_)
        | BQError::InvalidApplicationDefaultCredentialsAuthenticator(_) => {
            Attempt::Failed(Error::Query(format!(
                "target `{target}`: cannot authenticate to BigQuery ({error}) — check `keyfile`, `keyfile_json`, `access_token` or application default credentials"
            )))
        }
        _ => Attempt::Failed(Error::Query(format!("target `{target}`: {error}"))),
    }
}

/// Errors a job reported in an otherwise successful answer.
pub(super) fn job_errors(
    errors: Option<&Vec<gcp_bigquery_client::model::error_proto::ErrorProto>>,
    target: &str,
) -> Option<Error> {
    let first = errors?.first()?;
    let reason = first.reason.clone().unwrap_or_default();
    let message = first.message.clone().unwrap_or_default();
    Some(Error::Query(explain(target, 400, &reason, &message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_server_side_and_rate_limit_errors_are_retried() {
        assert!(is_transient(503, ""));
        assert!(is_transient(500, "backendError"));
        assert!(is_transient(403, "rateLimitExceeded"));
        assert!(!is_transient(403, "quotaExceeded"));
        assert!(!is_transient(403, "accessDenied"));
        assert!(!is_transient(400, "invalidQuery"));
        assert!(!is_transient(404, "notFound"));
    }

    #[test]
    fn errors_say_what_to_fix() {
        let text = explain("bq", 404, "notFound", "Not found: Table p:app.users");
        assert!(
            text.contains("app.users") && text.contains("a source's, or segc's own history"),
            "{text}"
        );
        let text = explain("bq", 403, "accessDenied", "Access Denied");
        assert!(text.contains("permission"), "{text}");
        let text = explain("bq", 400, "bytesBilledLimitExceeded", "limit");
        assert!(text.contains("maximum_bytes_billed"), "{text}");
        let text = explain(
            "bq",
            401,
            "",
            "Request had invalid authentication credentials",
        );
        assert!(text.contains("credentials"), "{text}");
    }
}
