//! What a BigQuery profile says, checked, and the API client it builds.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use gcp_bigquery_client::Client;
use gcp_bigquery_client::auth::Authenticator;
use gcp_bigquery_client::error::BQError;
use gcp_bigquery_client::model::data_format_options::DataFormatOptions;
use gcp_bigquery_client::model::dataset_reference::DatasetReference;
use gcp_bigquery_client::model::query_request::QueryRequest;

use super::WAIT_MS;
use crate::error::Error;
use crate::spec::profiles::Profile;

/// The HTTP client's limits; one call never waits much longer than `WAIT_MS` by design.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// What the profile says, checked.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) target: String,
    pub(super) project: String,
    pub(super) dataset: Option<String>,
    pub(super) location: Option<String>,
    pub(super) endpoint: Option<String>,
    pub(super) maximum_bytes_billed: Option<String>,
    pub(super) page_size: Option<i32>,
    pub(super) labels: HashMap<String, String>,
}

/// An access token given as is (or none, for an emulator).
#[derive(Clone)]
struct FixedToken(String);

impl Authenticator for FixedToken {
    fn access_token<'life0, 'async_trait>(
        &'life0 self,
    ) -> Pin<Box<dyn Future<Output = Result<String, BQError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// A BigQuery label value: lower-case letters, digits, `_` and `-`, at most 63 characters.
pub fn label_value(text: &str) -> String {
    let mut value: String = text
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    value.truncate(63);
    value
}

/// A fresh `requestId`, so BigQuery runs a retried `jobs.query` once.
fn request_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("segc-{:x}-{:x}", std::process::id(), nanos)
}

impl Settings {
    pub(super) fn from_profile(profile: &Profile) -> Result<Settings, Error> {
        let target = profile.name.clone();
        let Some(project) = profile.field("project").or(profile.field("project_id")) else {
            return Err(Error::Profile(format!(
                "target `{target}` (bigquery) needs `project`: the Google Cloud project that runs the jobs"
            )));
        };
        let maximum_bytes_billed = match profile.field("maximum_bytes_billed") {
            Some(text) if text.parse::<u64>().is_ok() => Some(text.to_string()),
            Some(_) => {
                return Err(Error::Profile(format!(
                    "target `{target}`: `maximum_bytes_billed` must be a whole number of bytes"
                )));
            }
            None => None,
        };
        let page_size = match profile.field("page_size") {
            Some(text) => Some(text.parse::<i32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Error::Profile(format!(
                    "target `{target}`: `page_size` must be a positive number of rows"
                ))
            })?),
            None => None,
        };
        let mut labels = HashMap::new();
        labels.insert("segc_run".to_string(), label_value(crate::run_id()));
        labels.insert("segc_target".to_string(), label_value(&target));
        Ok(Settings {
            project: project.to_string(),
            dataset: profile.field("dataset").map(str::to_string),
            location: profile.field("location").map(str::to_string),
            endpoint: profile
                .field("endpoint")
                .map(|e| e.trim_end_matches('/').to_string()),
            maximum_bytes_billed,
            page_size,
            labels,
            target,
        })
    }

    /// The REST base URL: BigQuery's own, or `<endpoint>/bigquery/v2` for an emulator.
    pub(super) fn base_url(&self) -> Option<String> {
        self.endpoint.as_ref().map(|endpoint| {
            if endpoint.ends_with("/bigquery/v2") {
                endpoint.clone()
            } else {
                format!("{endpoint}/bigquery/v2")
            }
        })
    }

    pub(super) fn request(&self, sql: &str, dry_run: bool) -> QueryRequest {
        let mut request = QueryRequest::new(sql);
        request.use_legacy_sql = false;
        request.dry_run = Some(dry_run);
        request.labels = Some(self.labels.clone());
        request.location = self.location.clone();
        request.maximum_bytes_billed = self.maximum_bytes_billed.clone();
        request.max_results = self.page_size;
        request.timeout_ms = Some(WAIT_MS);
        request.request_id = Some(request_id());
        request.format_options = Some(DataFormatOptions {
            use_int64_timestamp: Some(true),
        });
        request.default_dataset = self.dataset.as_ref().map(|dataset| DatasetReference {
            dataset_id: dataset.clone(),
            project_id: self.project.clone(),
        });
        request
    }
}

pub(super) async fn build_client(profile: &Profile, settings: &Settings) -> Result<Client, Error> {
    let target = &settings.target;
    let http = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| Error::Query(format!("target `{target}`: cannot set up HTTP: {e}")))?;
    let mut builder = gcp_bigquery_client::client_builder::ClientBuilder::new();
    builder.with_client(http);
    if let Some(url) = settings.base_url() {
        builder.with_v2_base_url(url);
    }
    let auth_error = |e: BQError| {
        Error::Profile(format!(
            "target `{target}`: cannot set up BigQuery credentials: {e}"
        ))
    };
    if let Some(token) = profile.field("access_token") {
        return builder
            .build_from_authenticator(Arc::new(FixedToken(token.to_string())))
            .await
            .map_err(auth_error);
    }
    if let Some(json) = profile.field("keyfile_json") {
        let key =
            gcp_bigquery_client::yup_oauth2::parse_service_account_key(json).map_err(|_| {
                Error::Profile(format!(
                    "target `{target}`: `keyfile_json` is not a service-account key"
                ))
            })?;
        return builder
            .build_from_service_account_key(key, false)
            .await
            .map_err(auth_error);
    }
    if let Some(path) = profile.field("keyfile") {
        let path = if std::path::Path::new(path).is_absolute() {
            std::path::PathBuf::from(path)
        } else {
            profile.folder.join(path)
        };
        if !path.is_file() {
            return Err(Error::Profile(format!(
                "target `{target}`: the key file {} does not exist",
                path.display()
            )));
        }
        return builder
            .build_from_service_account_key_file(&path.display().to_string())
            .await
            .map_err(auth_error);
    }
    if settings.endpoint.is_some() {
        return builder
            .build_from_authenticator(Arc::new(FixedToken("emulator".into())))
            .await
            .map_err(auth_error);
    }
    builder
        .build_from_application_default_credentials()
        .await
        .map_err(auth_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(fields: &[(&str, &str)]) -> Profile {
        Profile {
            name: "Warehouse EU".into(),
            kind: "bigquery".into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            folder: std::path::PathBuf::from("."),
        }
    }

    #[test]
    fn requests_carry_the_label_the_byte_limit_and_the_location() {
        let settings = Settings::from_profile(&profile(&[
            ("project", "my-proj"),
            ("dataset", "analytics"),
            ("location", "EU"),
            ("maximum_bytes_billed", "1000000000"),
            ("endpoint", "http://127.0.0.1:9050/"),
        ]))
        .unwrap();
        assert_eq!(
            settings.base_url().as_deref(),
            Some("http://127.0.0.1:9050/bigquery/v2")
        );
        let request = serde_json::to_value(settings.request("SELECT 1", false)).unwrap();
        assert_eq!(request["query"], "SELECT 1");
        assert_eq!(request["useLegacySql"], false);
        assert_eq!(request["location"], "EU");
        assert_eq!(request["maximumBytesBilled"], "1000000000");
        assert_eq!(request["labels"]["segc_target"], "warehouse_eu");
        assert!(
            request["labels"]["segc_run"]
                .as_str()
                .is_some_and(|run| !run.is_empty())
        );
        assert_eq!(request["defaultDataset"]["datasetId"], "analytics");
        assert_eq!(request["formatOptions"]["useInt64Timestamp"], true);
        let dry = serde_json::to_value(settings.request("SELECT 1", true)).unwrap();
        assert_eq!(dry["dryRun"], true);

        let error = Settings::from_profile(&profile(&[("dataset", "x")])).unwrap_err();
        assert!(error.to_string().contains("needs `project`"), "{error}");
        let error = Settings::from_profile(&profile(&[
            ("project", "p"),
            ("maximum_bytes_billed", "10GB"),
        ]))
        .unwrap_err();
        assert!(
            error.to_string().contains("maximum_bytes_billed"),
            "{error}"
        );
    }

    #[test]
    fn label_values_follow_bigquery_rules() {
        assert_eq!(label_value("Prod BQ.eu"), "prod_bq_eu");
        assert_eq!(label_value(&"x".repeat(80)).len(), 63);
    }
}
