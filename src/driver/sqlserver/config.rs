//! A SQL Server profile as tiberius' configuration.

use std::time::Duration;

use tiberius::{AuthMethod, Config, EncryptionLevel};

use crate::error::Error;
use crate::spec::profiles::Profile;

/// Builds tiberius' configuration from a profile.
pub fn tds_config(profile: &Profile) -> Result<(Config, bool), Error> {
    let target = &profile.name;
    let bad = |field: &str, expected: &str| {
        Error::Profile(format!("target `{target}`: `{field}` must be {expected}"))
    };
    let mut config = match profile.field("connection_string") {
        // The message of a parse error may quote the string, which may hold a password.
        Some(ado) => Config::from_ado_string(ado).map_err(|_| {
            Error::Profile(format!(
                "target `{target}`: `connection_string` is not a valid ADO connection string (Server=host,port;Database=...;User Id=...;Password=...)"
            ))
        })?,
        None => Config::new(),
    };
    let named_instance = profile.field("instance").is_some()
        || profile
            .field("connection_string")
            .is_some_and(|ado| ado_server(ado).is_some_and(|server| server.contains('\\')));
    if profile.field("connection_string").is_none() {
        config.host(profile.field("host").unwrap_or("localhost"));
        if let Some(port) = profile.field("port") {
            config.port(port.parse().map_err(|_| bad("port", "a number"))?);
        } else {
            config.port(1433);
        }
        if let Some(instance) = profile.field("instance") {
            config.instance_name(instance);
        }
        if let Some(database) = profile.field("database") {
            config.database(database);
        }
        match (
            profile.field("access_token"),
            profile.field("user"),
            profile.field("password"),
        ) {
            (Some(token), _, _) => config.authentication(AuthMethod::aad_token(token)),
            (None, Some(user), Some(password)) => {
                config.authentication(AuthMethod::sql_server(user, password))
            }
            (None, Some(_), None) => {
                return Err(Error::Profile(format!(
                    "target `{target}` (sqlserver) has `user` but no `password`"
                )));
            }
            (None, None, _) => {
                return Err(Error::Profile(format!(
                    "target `{target}` (sqlserver) needs `user` and `password`, `access_token` (Azure AD), or `connection_string`"
                )));
            }
        }
    }
    if let Some(encrypt) = profile.field("encrypt") {
        config.encryption(match encrypt.to_ascii_lowercase().as_str() {
            "true" | "yes" | "required" | "mandatory" => EncryptionLevel::Required,
            "false" | "no" | "off" | "optional" => EncryptionLevel::Off,
            "strict" => EncryptionLevel::Strict,
            _ => return Err(bad("encrypt", "true, false or strict")),
        });
    } else if profile.field("connection_string").is_none() {
        config.encryption(EncryptionLevel::Required);
    }
    match profile.field("trust_server_certificate") {
        Some("true") | Some("yes") => config.trust_cert(),
        Some("false") | Some("no") | None => {}
        Some(_) => return Err(bad("trust_server_certificate", "true or false")),
    }
    if let Some(path) = profile.field("ca_file") {
        let path = profile.folder.join(path);
        config.trust_cert_ca(path.display().to_string());
    }
    let seconds = |field: &str| -> Result<Option<Duration>, Error> {
        match profile.field(field) {
            None => Ok(None),
            Some(text) => text
                .parse::<u64>()
                .map(|s| Some(Duration::from_secs(s)).filter(|d| !d.is_zero()))
                .map_err(|_| bad(field, "a number of seconds")),
        }
    };
    config.command_timeout(seconds("command_timeout")?);
    // `connect_timeout` limits the whole opening, TCP to the pinned settings, and is read
    // (and checked) by `driver::connect_limit`.
    config.application_name("segc");
    Ok((config, named_instance))
}

/// The `Server=` part of an ADO connection string, to tell whether it names an instance.
fn ado_server(ado: &str) -> Option<&str> {
    ado.split(';').find_map(|part| {
        let (key, value) = part.split_once('=')?;
        matches!(
            key.trim().to_ascii_lowercase().as_str(),
            "server" | "data source" | "address" | "addr"
        )
        .then_some(value.trim())
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn profile(fields: &[(&str, &str)]) -> Profile {
        Profile {
            name: "mssql".into(),
            kind: "sqlserver".into(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            folder: std::path::PathBuf::from("."),
        }
    }

    #[test]
    fn profiles_become_configurations() {
        let (config, named) = tds_config(&profile(&[
            ("host", "db.example.com"),
            ("port", "14330"),
            ("database", "analytics"),
            ("user", "segc"),
            ("password", "hunter2"),
        ]))
        .unwrap();
        assert_eq!(config.get_addr(), "db.example.com:14330");
        assert!(!named);
        // tiberius' 30 s per round trip is lifted unless asked for.
        assert_eq!(config.get_command_timeout(), None);

        let (_, named) = config_of(&[
            ("host", "db"),
            ("instance", "REPORTING"),
            ("user", "u"),
            ("password", "p"),
        ]);
        assert!(named);
        let (config, named) = config_of(&[(
            "connection_string",
            "Server=tcp:db.example.com,1433;Database=analytics;User Id=segc;Password=x;Encrypt=true",
        )]);
        assert_eq!(config.get_addr(), "db.example.com:1433");
        assert!(!named);
        let (config, _) = config_of(&[
            ("host", "db"),
            ("access_token", "eyJ0eXAi"),
            ("command_timeout", "600"),
        ]);
        assert_eq!(config.get_command_timeout(), Some(Duration::from_secs(600)));

        let error = tds_config(&profile(&[("host", "db"), ("user", "u")])).unwrap_err();
        assert!(error.to_string().contains("no `password`"), "{error}");
        let error = tds_config(&profile(&[("host", "db")])).unwrap_err();
        assert!(error.to_string().contains("access_token"), "{error}");
        let error = tds_config(&profile(&[("connection_string", "Password=secret;;=;x")]));
        if let Err(error) = error {
            assert!(!error.to_string().contains("secret"), "{error}");
        }
        let error = tds_config(&profile(&[
            ("host", "db"),
            ("user", "u"),
            ("password", "p"),
            ("encrypt", "maybe"),
        ]))
        .unwrap_err();
        assert!(error.to_string().contains("`encrypt`"), "{error}");
    }

    fn config_of(fields: &[(&str, &str)]) -> (Config, bool) {
        tds_config(&profile(fields)).unwrap()
    }
}
