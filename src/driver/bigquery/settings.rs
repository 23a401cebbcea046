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

/// Refuses an `endpoint` that would carry the profile's credentials unencrypted: plain
/// `http://` to another machine than this one. An emulator on loopback, or any endpoint
/// without credentials (segc then sends none), is accepted.
fn refuse_credentials_in_clear(profile: &Profile, endpoint: &str) -> Result<(), Error> {
    let has_credentials = ["access_token", "keyfile_json", "keyfile"]
        .iter()
        .any(|key| profile.field(key).is_some());
    if !has_credentials {
        return Ok(());
    }
    // Read as the HTTP client reads it (`http:/host`, `http:\\host` and ` http://host` are
    // all plain http to `host`); what it cannot read it cannot send to.
    let Ok(url) = url::Url::parse(endpoint) else {
        return Ok(());
    };
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        None => false,
    };
    if url.scheme() != "https" && !loopback {
        return Err(Error::Profile(format!(
            "target `{}`: `endpoint` is plain {}:// to {}, which would carry the credentials unencrypted; use https://, or point it at an emulator on this machine (127.0.0.1), or leave the credentials out for an emulator",
            profile.name,
            url.scheme(),
            crate::terminal::printable(url.host_str().unwrap_or("no host"))
        )));
    }
    Ok(())
}

/// Refuses an `endpoint` that holds more than where to send requests: a user name or
/// password (the HTTP client would send them as a Basic `Authorization` header, which an
/// endpoint may quote back in its errors), a query or a fragment (segc appends the API's path
/// to the endpoint, which would land inside them). The message quotes none of it.
fn refuse_more_than_an_address(profile: &Profile, endpoint: &str) -> Result<(), Error> {
    let Ok(url) = url::Url::parse(endpoint) else {
        return Ok(());
    };
    let extra = if !url.username().is_empty() || url.password().is_some() {
        Some("a user name or password (`user:password@`)")
    } else if url.query().is_some() {
        Some("a query (`?…`)")
    } else if url.fragment().is_some() {
        Some("a fragment (`#…`)")
    } else {
        None
    };
    match extra {
        Some(extra) => Err(Error::Profile(format!(
            "target `{}`: `endpoint` holds {extra}; it takes an address only \
             (`http://127.0.0.1:9050`, with a path if the API is under one): credentials go in \
             `access_token` or `keyfile`",
            profile.name
        ))),
        None => Ok(()),
    }
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
        // A project id goes into every request's path: letters, digits and `-` (`.` and `:`
        // in a domain-scoped id, `_` in an emulator's). Anything else (`/`, `..`, a space)
        // would name another resource or no project at all.
        if project.is_empty()
            || project.contains("..")
            || !project
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        {
            return Err(Error::Profile(format!(
                "target `{target}`: `project` must be a Google Cloud project id (letters, \
                 digits and `-`; `.` and `:` in a domain-scoped id), found `{}`",
                crate::terminal::printable(&crate::error::clip(project, 100))
            )));
        }
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
        if let Some(endpoint) = profile.field("endpoint") {
            refuse_credentials_in_clear(profile, endpoint)?;
            refuse_more_than_an_address(profile, endpoint)?;
        }
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

/// The HTTP client's settings. Its TLS is rustls with the roots reqwest ships and the
/// process-wide crypto provider, installed here since reqwest has none of its own.
fn http_client() -> reqwest::ClientBuilder {
    crate::driver::install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
}

pub(super) async fn build_client(profile: &Profile, settings: &Settings) -> Result<Client, Error> {
    let target = &settings.target;
    let http = http_client()
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
    fn a_project_id_is_one_path_segment() {
        let settings =
            |project: &str| Settings::from_profile(&profile(&[("project", project)])).map(|_| ());
        for accepted in [
            "my-proj-123",
            "example.com:analytics",
            "segc-conformance",
            "p_1",
        ] {
            assert!(settings(accepted).is_ok(), "{accepted}");
        }
        for refused in ["a/../b", "my proj", "p?x=1", "../etc", "p#f", ""] {
            let error = settings(refused).unwrap_err().to_string();
            assert!(
                error.contains("must be a Google Cloud project id"),
                "{refused}: {error}"
            );
        }
    }

    #[test]
    fn an_endpoint_is_an_address_without_credentials_query_or_fragment() {
        let settings = |endpoint: &str| {
            Settings::from_profile(&profile(&[("project", "p"), ("endpoint", endpoint)]))
        };
        for (refused, says) in [
            (
                "http://reader:Endpoint-Pw-4242@127.0.0.1:9050/",
                "user name or password",
            ),
            ("http://reader@127.0.0.1:9050", "user name or password"),
            (
                "https://h.example.com/api?X-Amz-Signature=Sig-Value-77&sv=2020",
                "a query",
            ),
            ("http://127.0.0.1:9050/#jwt=Frag-Value-88", "a fragment"),
        ] {
            let error = settings(refused).err().unwrap().to_string();
            assert!(error.contains(says), "{refused}: {error}");
            for secret in [
                "Endpoint-Pw-4242",
                "Sig-Value-77",
                "Frag-Value-88",
                "reader",
            ] {
                assert!(!error.contains(secret), "{refused}: {error}");
            }
        }
        for accepted in [
            "http://127.0.0.1:9050",
            "https://bq.example.com/prefix/bigquery/v2",
        ] {
            assert!(settings(accepted).is_ok(), "{accepted}");
        }
    }

    #[test]
    fn credentials_never_go_to_another_machine_in_clear() {
        let token = ("access_token", "ya29.secret");
        let settings = |fields: &[(&str, &str)]| {
            let mut all = vec![("project", "p")];
            all.extend_from_slice(fields);
            Settings::from_profile(&profile(&all))
        };
        for refused in [
            "http://192.0.2.2:9550",
            "HTTP://bq.example.com/bigquery/v2",
            "http://user@10.0.0.1",
            "http://[2001:db8::1]:9050",
            "http://127.0.0.1.example.com:9050",
            // Spellings the HTTP client reads as plain http to the host.
            "http:/192.0.2.2:9632",
            "http:\\\\192.0.2.2:9632",
            "http:192.0.2.2:9632",
            "HTTP:/192.0.2.2:9632",
            " http://192.0.2.2:9632",
            "\thttp://192.0.2.2:9632",
            "http://192.0.2.2\\@127.0.0.1:9632",
        ] {
            let error = settings(&[("endpoint", refused), token]).err().unwrap();
            assert!(
                error.to_string().contains("unencrypted"),
                "{refused}: {error}"
            );
            let error = settings(&[("endpoint", refused), ("keyfile", "k.json")])
                .err()
                .unwrap();
            assert!(
                error.to_string().contains("unencrypted"),
                "{refused}: {error}"
            );
            // Without credentials nothing secret is sent (a user name is refused anyway).
            assert_eq!(
                settings(&[("endpoint", refused)]).is_ok(),
                !refused.contains("user@"),
                "{refused}"
            );
        }
        for accepted in [
            "http://127.0.0.1:9050",
            "http://localhost:9050/",
            "http://[::1]:9050",
            "https://bq.example.com",
        ] {
            assert!(
                settings(&[("endpoint", accepted), token]).is_ok(),
                "{accepted}"
            );
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

    /// A certificate authority and a certificate it signed for `localhost`, with its key.
    struct Certificates {
        authority: String,
        chain: Vec<rustls::pki_types::CertificateDer<'static>>,
        key: rustls::pki_types::PrivateKeyDer<'static>,
    }

    fn certificates() -> Certificates {
        let authority_key = rcgen::KeyPair::generate().unwrap();
        let mut authority = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        authority.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let authority_certificate = authority.self_signed(&authority_key).unwrap();
        let issuer = rcgen::Issuer::from_params(&authority, &authority_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let server = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        Certificates {
            authority: authority_certificate.pem(),
            chain: vec![server.der().clone()],
            key: rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        }
    }

    /// An HTTPS server on a local port that answers one request with `ok`, whose thread
    /// returns the request line, or the TLS error that ended the connection.
    fn serve_once(
        certificates: &Certificates,
    ) -> (u16, std::thread::JoinHandle<Result<String, String>>) {
        use std::io::{Read, Write};
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certificates.chain.clone(), certificates.key.clone_key())
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut tcp, _) = listener.accept().map_err(|e| e.to_string())?;
            tcp.set_read_timeout(Some(Duration::from_secs(20)))
                .map_err(|e| e.to_string())?;
            let mut tls = rustls::ServerConnection::new(Arc::new(config)).unwrap();
            let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let read = stream.read(&mut buffer).map_err(|e| e.to_string())?;
                if read == 0 {
                    return Err("closed before a request".into());
                }
                request.extend_from_slice(&buffer[..read]);
            }
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .map_err(|e| e.to_string())?;
            stream.flush().map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&request).into_owned();
            Ok(text.lines().next().unwrap_or_default().to_string())
        });
        (port, server)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_http_client_speaks_tls_to_a_server_it_trusts() {
        let certificates = certificates();
        let (port, server) = serve_once(&certificates);
        let client = http_client()
            .add_root_certificate(
                reqwest::Certificate::from_pem(certificates.authority.as_bytes()).unwrap(),
            )
            .build()
            .unwrap();
        let response = client
            .get(format!("https://localhost:{port}/bigquery/v2/projects"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "ok");
        assert_eq!(
            server.join().unwrap().unwrap(),
            "GET /bigquery/v2/projects HTTP/1.1"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_http_client_refuses_a_certificate_no_trusted_authority_signed() {
        let certificates = certificates();
        let (port, server) = serve_once(&certificates);
        let error = http_client()
            .build()
            .unwrap()
            .get(format!("https://localhost:{port}/"))
            .send()
            .await
            .unwrap_err();
        let said = crate::driver::with_causes(&error);
        assert!(said.contains("UnknownIssuer"), "{said}");
        let refused = server.join().unwrap().unwrap_err();
        assert!(refused.contains("UnknownCA"), "{refused}");
    }
}
