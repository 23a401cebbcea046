//! PostgreSQL and Redshift through tokio-postgres, with TLS by rustls.
//!
//! `sslmode` follows libpq: `disable` (plain), `prefer` (TLS when the server offers it,
//! certificate not verified), `require` (TLS, not verified), `verify-full` (TLS, certificate
//! and host name verified against the system roots and `sslrootcert`). Redshift defaults to
//! `require` on port 5439; PostgreSQL to `prefer` on 5432.

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::config::SslMode;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, Row};

use super::{Cell, Driver, ResultSet};
use crate::error::Error;
use crate::spec::profiles::Profile;

pub struct Postgres {
    runtime: tokio::runtime::Runtime,
    client: Client,
    kind: String,
    label: String,
}

/// Accepts any certificate: libpq's `prefer` and `require` encrypt without verifying.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_config(verify: bool, ca_file: Option<&str>) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Profile(format!("TLS set-up failed: {e}")))?;
    if !verify {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(certificate);
    }
    if let Some(path) = ca_file {
        use rustls::pki_types::pem::PemObject;
        let certificates = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| Error::Profile(format!("cannot read the CA file {path}: {e}")))?;
        for certificate in certificates {
            let certificate = certificate
                .map_err(|e| Error::Profile(format!("invalid certificate in {path}: {e}")))?;
            roots
                .add(certificate)
                .map_err(|e| Error::Profile(format!("unusable certificate in {path}: {e}")))?;
        }
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// Turns a driver error into what to fix, never repeating secrets.
fn explain(error: &tokio_postgres::Error, target: &str) -> String {
    if let Some(db) = error.as_db_error() {
        let hint = match db.code().code() {
            "28P01" | "28000" => " — check the user and password of the target",
            "42P01" => " — a table named in sources does not exist or is not visible to this user",
            "42501" => " — the user lacks permission to read a source table",
            "3D000" => " — check `database` in profiles.yml",
            _ => "",
        };
        return format!("target `{target}`: {}{hint}", db.message());
    }
    let text = error.to_string();
    if text.contains("TLS") || text.contains("tls") || text.contains("ssl") {
        return format!(
            "target `{target}`: TLS failed ({text}) — check `sslmode` and `sslrootcert`"
        );
    }
    format!("target `{target}`: {text}")
}

impl Postgres {
    pub fn connect(profile: &Profile) -> Result<Self, Error> {
        let redshift = profile.kind == "redshift";
        let mut config = tokio_postgres::Config::new();
        config.host(profile.field("host").unwrap_or("localhost"));
        let default_port = if redshift { 5439 } else { 5432 };
        let port = match profile.field("port") {
            Some(text) => text.parse::<u16>().map_err(|_| {
                Error::Profile(format!(
                    "target `{}`: `port` must be a number",
                    profile.name
                ))
            })?,
            None => default_port,
        };
        config.port(port);
        if let Some(user) = profile.field("user") {
            config.user(user);
        }
        if let Some(password) = profile.field("password") {
            config.password(password);
        }
        if let Some(database) = profile.field("database").or(profile.field("dbname")) {
            config.dbname(database);
        }
        if let Some(options) = profile.field("options") {
            config.options(options);
        }
        config.application_name("segc");
        config.connect_timeout(Duration::from_secs(
            profile
                .field("connect_timeout")
                .and_then(|t| t.parse().ok())
                .unwrap_or(15),
        ));
        let sslmode =
            profile
                .field("sslmode")
                .unwrap_or(if redshift { "require" } else { "prefer" });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| Error::Query(format!("cannot start the async runtime: {e}")))?;
        let target = profile.name.clone();
        let client = runtime.block_on(async {
            let connect_error = |e: tokio_postgres::Error| Error::Query(explain(&e, &target));
            match sslmode {
                "disable" => {
                    let (client, connection) = config.connect(NoTls).await.map_err(connect_error)?;
                    tokio::spawn(connection);
                    Ok(client)
                }
                "prefer" | "require" | "verify-full" | "verify-ca" => {
                    config.ssl_mode(if sslmode == "prefer" { SslMode::Prefer } else { SslMode::Require });
                    let verify = matches!(sslmode, "verify-full" | "verify-ca");
                    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(verify, profile.field("sslrootcert"))?);
                    let (client, connection) = config.connect(tls).await.map_err(connect_error)?;
                    tokio::spawn(connection);
                    Ok(client)
                }
                other => Err(Error::Profile(format!(
                    "target `{target}`: unknown sslmode `{other}` (use disable, prefer, require or verify-full)"
                ))),
            }
        })?;
        Ok(Postgres {
            runtime,
            client,
            kind: profile.kind.clone(),
            label: profile.name.clone(),
        })
    }
}

fn cell(row: &Row, index: usize) -> Result<Cell, tokio_postgres::Error> {
    let column_type = row.columns()[index].type_().clone();
    Ok(match column_type {
        Type::INT8 => row.try_get::<_, Option<i64>>(index)?.map(Cell::Integer),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(index)?
            .map(|v| Cell::Integer(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(index)?
            .map(|v| Cell::Integer(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(index)?.map(Cell::Double),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(index)?
            .map(|v| Cell::Double(v.into())),
        Type::BOOL => row.try_get::<_, Option<bool>>(index)?.map(Cell::Boolean),
        Type::DATE => row
            .try_get::<_, Option<chrono::NaiveDate>>(index)?
            .map(Cell::Date),
        Type::TIMESTAMP => row
            .try_get::<_, Option<chrono::NaiveDateTime>>(index)?
            .map(Cell::Timestamp),
        Type::TIMESTAMPTZ => row
            .try_get::<_, Option<chrono::DateTime<chrono::Utc>>>(index)?
            .map(|t| Cell::Timestamp(t.naive_utc())),
        _ => row.try_get::<_, Option<String>>(index)?.map(Cell::Text),
    }
    .unwrap_or(Cell::Null))
}

impl Driver for Postgres {
    fn name(&self) -> &str {
        &self.kind
    }

    fn query(&mut self, sql: &str) -> Result<ResultSet, Error> {
        let target = self.label.clone();
        let rows = self
            .runtime
            .block_on(self.client.query(sql, &[]))
            .map_err(|e| Error::Query(explain(&e, &target)))?;
        let mut result = ResultSet::default();
        if let Some(first) = rows.first() {
            result.columns = first
                .columns()
                .iter()
                .map(|c| c.name().to_string())
                .collect();
        }
        for row in &rows {
            let mut values = Vec::with_capacity(row.len());
            for index in 0..row.len() {
                values.push(cell(row, index).map_err(|e| {
                    Error::Query(format!("target `{target}`: cannot decode a value: {e}"))
                })?);
            }
            result.rows.push(values);
        }
        Ok(result)
    }
}
