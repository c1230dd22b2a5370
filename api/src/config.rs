//! One typed configuration, read from the environment once at start-up and validated there, so a
//! bad value stops the process with a message that names the variable. Secrets never print.

use std::{collections::HashMap, fmt, net::IpAddr, time::Duration};

/// A secret string whose `Debug` and `Display` never show its value.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the JWT signing secret came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwtSecretSource {
    Configured,
    /// Random for this process: tokens die with it (the embedded default only).
    Generated,
}

/// A connection URL that may carry a password (`postgres://user:password@host/db`): `Debug`
/// shows it with the password replaced by `***`, so a logged or printed `Config` leaks none.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionUrl(String);

impl ConnectionUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL itself, password included: for the driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password (if any) replaced by `***`.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return self.0.clone();
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
                let hidden = if userinfo.contains(':') { ":***" } else { "" };
                format!("{scheme}://{user}{hidden}@{host}{path}")
            }
            None => self.0.clone(),
        }
    }
}

impl fmt::Debug for ConnectionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

/// Everything the process is configured with, one section per concern.
#[derive(Clone, Debug)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub redis: RedisConfig,
    pub auth: AuthConfig,
    pub orders: OrderConfig,
    pub queue: QueueConfig,
    pub payments: PaymentConfig,
    pub limits: Limits,
}

/// Where and how the HTTP server listens and what it serves besides the API.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub host: IpAddr,
    pub port: u16,
    /// Where `/metrics` is served instead of the public port, when set (so an Ingress routing `/`
    /// does not publish it).
    pub metrics_port: Option<u16>,
    /// Browser origins allowed to open WebSockets besides the server's own.
    pub allowed_origins: Vec<String>,
    /// The built web UI; a placeholder page is served where it is missing.
    pub web_dir: String,
    pub log_json: bool,
    /// Public reads' answers kept in memory (0: none).
    pub response_cache_entries: usize,
    /// How long a kept answer may be served at most, whatever the bus says.
    pub response_cache_max_age: Duration,
}

#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    pub url: ConnectionUrl,
    /// The most PostgreSQL connections one replica opens; replicas × this must fit the server's
    /// `max_connections`.
    pub max_connections: u32,
}

#[derive(Clone, Debug)]
pub struct RedisConfig {
    /// Unset: the in-process lock store and bus (one process).
    pub url: Option<ConnectionUrl>,
    /// Every Redis key and channel of this deployment starts with it (tests use a unique one).
    pub prefix: String,
}

#[derive(Clone, Debug)]
pub struct AuthConfig {
    pub jwt_secret: Secret,
    pub jwt_secret_source: JwtSecretSource,
    pub session_ttl: Duration,
    pub cookie_secure: bool,
}

#[derive(Clone, Debug)]
pub struct OrderConfig {
    /// How long an unpaid order holds its ticket.
    pub ttl: Duration,
    pub max_live: u32,
}

/// The on-sale queue of events with `onSaleAt`.
#[derive(Clone, Copy, Debug)]
pub struct QueueConfig {
    /// How long before `onSaleAt` buyers may join.
    pub opens_before: Duration,
    /// Buyers admitted per event per second, all replicas together.
    pub admit_per_second: u64,
    /// How long an admission lets its buyer order.
    pub admission: Duration,
}

#[derive(Clone, Debug)]
pub struct PaymentConfig {
    /// Which processor charges cards (`PAYMENT_PROCESSOR`).
    pub processor: ProcessorKind,
    pub stripe_secret_key: Option<Secret>,
    pub stripe_api_base: Option<String>,
    pub stripe_webhook_secret: Option<Secret>,
    /// Handed to the web UI for Stripe Elements; not a secret.
    pub stripe_publishable_key: Option<String>,
    /// How long one processor call may take before its outcome counts as unknown.
    pub timeout: Duration,
    /// An order still paying this long after its charge began is settled by the reconciler.
    pub settle_after: Duration,
    /// ISO 4217 code, lower-case (Stripe's spelling), of every charge.
    pub currency: String,
}

/// What one request or connection may cost, checked before the work starts.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_query_depth: usize,
    pub max_query_complexity: usize,
    pub max_batch_size: usize,
    /// Root fields (aliases included) in one operation.
    pub max_root_fields: u64,
    /// The longest query text parsed (far below `max_body_bytes`: variables take the rest).
    pub max_query_bytes: usize,
    /// Selections in one operation once its fragments are expanded.
    pub max_query_selections: u64,
    /// Representations `_entities` takes in one operation.
    pub max_entity_representations: usize,
    /// Live subscriptions on one WebSocket.
    pub ws_max_subscriptions: usize,
    /// How long a new WebSocket may take to send `connection_init` before it is closed (4408).
    pub ws_init_timeout: Duration,
    /// The largest WebSocket message accepted.
    pub ws_max_message_bytes: usize,
}

/// Which payment processor charges cards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessorKind {
    /// The built-in test processor (`tok_visa` pays): never in production by accident.
    Test,
    /// Stripe, with `STRIPE_SECRET_KEY`.
    Stripe,
}

/// ISO 4217 currencies whose minor unit is not a hundredth (Stripe's zero- and three-decimal
/// currencies): prices here are kept in hundredths, so "20.00" would be sent as 2000 yen.
const CURRENCIES_WITHOUT_CENTS: [&str; 22] = [
    "bif", "clp", "djf", "gnf", "isk", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
    "vuv", "xaf", "xof", "xpf", "bhd", "jod", "kwd", "omr", "tnd",
];

/// A configuration error: the variable and what is wrong with its value.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid configuration: {}: {}",
            self.variable, self.message
        )
    }
}

impl std::error::Error for ConfigError {}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://tickets.db?mode=rwc";
const MIN_JWT_SECRET_LEN: usize = 32;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads a map of variables: the environment, or a test's own.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            vars.get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let host = match get("HOST") {
            None => IpAddr::from([127, 0, 0, 1]),
            Some(v) => v.parse().map_err(|_| ConfigError {
                variable: "HOST",
                message: format!("{v:?} is not an IP address (for example 127.0.0.1 or 0.0.0.0)"),
            })?,
        };
        let port = parse_number::<u16>(get("PORT"), "PORT", 8080, 0, u16::MAX)?;

        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let is_postgres =
            database_url.starts_with("postgres://") || database_url.starts_with("postgresql://");
        if !is_postgres && !database_url.starts_with("sqlite:") {
            return Err(ConfigError {
                variable: "DATABASE_URL",
                message: "must start with postgres://, postgresql:// or sqlite:".into(),
            });
        }

        let redis_url = get("REDIS_URL");
        if let Some(url) = &redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(ConfigError {
                variable: "REDIS_URL",
                message: "must start with redis:// or rediss://".into(),
            });
        }
        let redis_prefix = get("REDIS_PREFIX").unwrap_or_else(|| "tickets:".to_owned());

        let (jwt_secret, jwt_secret_source) = match get("JWT_SECRET") {
            Some(s) if s.len() < MIN_JWT_SECRET_LEN => {
                return Err(ConfigError {
                    variable: "JWT_SECRET",
                    message: format!("must be at least {MIN_JWT_SECRET_LEN} characters long"),
                });
            }
            Some(s) => (Secret::new(s), JwtSecretSource::Configured),
            None if is_postgres => {
                return Err(ConfigError {
                    variable: "JWT_SECRET",
                    message:
                        "is required when DATABASE_URL is PostgreSQL: every replica must sign \
                              with the same secret"
                            .into(),
                });
            }
            None => (Secret::new(random_secret()), JwtSecretSource::Generated),
        };

        let database_max_connections = parse_number::<u32>(
            get("DATABASE_MAX_CONNECTIONS"),
            "DATABASE_MAX_CONNECTIONS",
            16,
            2,
            1000,
        )?;

        let metrics_port = match get("METRICS_PORT") {
            None => None,
            Some(v) => Some(v.parse::<u16>().map_err(|_| ConfigError {
                variable: "METRICS_PORT",
                message: format!("{v:?} is not a port number"),
            })?),
        };

        let session_ttl = Duration::from_secs(parse_number::<u64>(
            get("SESSION_TTL_SECONDS"),
            "SESSION_TTL_SECONDS",
            7 * 24 * 3600,
            2,
            365 * 24 * 3600,
        )?);
        let order_ttl = Duration::from_secs(parse_number::<u64>(
            get("ORDER_TTL_SECONDS"),
            "ORDER_TTL_SECONDS",
            900,
            1,
            24 * 3600,
        )?);
        let queue = QueueConfig {
            opens_before: Duration::from_secs(parse_number::<u64>(
                get("QUEUE_OPENS_BEFORE_SECONDS"),
                "QUEUE_OPENS_BEFORE_SECONDS",
                1800,
                0,
                7 * 24 * 3600,
            )?),
            admit_per_second: parse_number::<u64>(
                get("QUEUE_ADMIT_PER_SECOND"),
                "QUEUE_ADMIT_PER_SECOND",
                50,
                1,
                100_000,
            )?,
            admission: Duration::from_secs(parse_number::<u64>(
                get("QUEUE_ADMISSION_SECONDS"),
                "QUEUE_ADMISSION_SECONDS",
                600,
                1,
                24 * 3600,
            )?),
        };

        let stripe_api_base = get("STRIPE_API_BASE");
        if let Some(base) = &stripe_api_base
            && !(base.starts_with("http://") || base.starts_with("https://"))
        {
            return Err(ConfigError {
                variable: "STRIPE_API_BASE",
                message: "must be an http:// or https:// URL".into(),
            });
        }

        let payment_timeout = Duration::from_secs(parse_number::<u64>(
            get("PAYMENT_TIMEOUT_SECONDS"),
            "PAYMENT_TIMEOUT_SECONDS",
            30,
            1,
            300,
        )?);
        let payment_settle_after = Duration::from_secs(parse_number::<u64>(
            get("PAYMENT_SETTLE_AFTER_SECONDS"),
            "PAYMENT_SETTLE_AFTER_SECONDS",
            60,
            1,
            24 * 3600,
        )?);
        if payment_settle_after <= payment_timeout {
            return Err(ConfigError {
                variable: "PAYMENT_SETTLE_AFTER_SECONDS",
                message: "must be longer than PAYMENT_TIMEOUT_SECONDS, or the reconciler would \
                          settle charges still in flight"
                    .into(),
            });
        }

        let currency = get("CURRENCY")
            .unwrap_or_else(|| "usd".into())
            .to_lowercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(ConfigError {
                variable: "CURRENCY",
                message: format!("{currency:?} is not a three-letter ISO 4217 code such as usd"),
            });
        }
        if CURRENCIES_WITHOUT_CENTS.contains(&currency.as_str()) {
            return Err(ConfigError {
                variable: "CURRENCY",
                message: format!(
                    "{currency} has no cents (its minor unit is not a hundredth), and prices are \
                     kept in hundredths; use a currency with cents such as usd or eur"
                ),
            });
        }
        let stripe_secret_key = get("STRIPE_SECRET_KEY").map(Secret::new);
        let payment_processor = match get("PAYMENT_PROCESSOR").as_deref() {
            Some("test") => ProcessorKind::Test,
            Some("stripe") if stripe_secret_key.is_some() => ProcessorKind::Stripe,
            Some("stripe") => {
                return Err(ConfigError {
                    variable: "STRIPE_SECRET_KEY",
                    message: "is required when PAYMENT_PROCESSOR is stripe".into(),
                });
            }
            Some(other) => {
                return Err(ConfigError {
                    variable: "PAYMENT_PROCESSOR",
                    message: format!("{other:?} is not one of test, stripe"),
                });
            }
            None if stripe_secret_key.is_some() => ProcessorKind::Stripe,
            None if is_postgres => {
                return Err(ConfigError {
                    variable: "PAYMENT_PROCESSOR",
                    message: "with PostgreSQL, set STRIPE_SECRET_KEY to take real payments, or \
                              PAYMENT_PROCESSOR=test to sell with the built-in test processor \
                              (tok_visa pays) on purpose"
                        .into(),
                });
            }
            None => ProcessorKind::Test,
        };
        let cookie_secure = parse_bool(get("COOKIE_SECURE"), "COOKIE_SECURE", false)?;
        let max_live_orders =
            parse_number::<u32>(get("MAX_LIVE_ORDERS"), "MAX_LIVE_ORDERS", 5, 1, 1000)?;
        let allowed_origins = get("ALLOWED_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let max_body_bytes = parse_number::<usize>(
            get("MAX_BODY_BYTES"),
            "MAX_BODY_BYTES",
            1024 * 1024,
            1024,
            64 * 1024 * 1024,
        )?;
        let max_query_depth =
            parse_number::<usize>(get("MAX_QUERY_DEPTH"), "MAX_QUERY_DEPTH", 16, 2, 64)?;
        let max_query_complexity = parse_number::<usize>(
            get("MAX_QUERY_COMPLEXITY"),
            "MAX_QUERY_COMPLEXITY",
            2000,
            10,
            100_000,
        )?;
        let max_batch_size =
            parse_number::<usize>(get("MAX_BATCH_SIZE"), "MAX_BATCH_SIZE", 10, 1, 100)?;
        let max_root_fields =
            parse_number::<u64>(get("MAX_ROOT_FIELDS"), "MAX_ROOT_FIELDS", 10, 1, 1000)?;
        let max_query_bytes = parse_number::<usize>(
            get("MAX_QUERY_BYTES"),
            "MAX_QUERY_BYTES",
            16 * 1024,
            256,
            max_body_bytes,
        )?;
        let max_query_selections = parse_number::<u64>(
            get("MAX_QUERY_SELECTIONS"),
            "MAX_QUERY_SELECTIONS",
            2000,
            10,
            1_000_000,
        )?;
        let max_entity_representations = parse_number::<usize>(
            get("MAX_ENTITY_REPRESENTATIONS"),
            "MAX_ENTITY_REPRESENTATIONS",
            500,
            1,
            100_000,
        )?;
        let ws_max_subscriptions = parse_number::<usize>(
            get("WS_MAX_SUBSCRIPTIONS"),
            "WS_MAX_SUBSCRIPTIONS",
            100,
            1,
            10_000,
        )?;
        let ws_init_timeout = Duration::from_secs(parse_number::<u64>(
            get("WS_INIT_TIMEOUT_SECONDS"),
            "WS_INIT_TIMEOUT_SECONDS",
            10,
            1,
            300,
        )?);
        let ws_max_message_bytes = parse_number::<usize>(
            get("WS_MAX_MESSAGE_BYTES"),
            "WS_MAX_MESSAGE_BYTES",
            64 * 1024,
            1024,
            16 * 1024 * 1024,
        )?;
        let web_dir = get("WEB_DIR").unwrap_or_else(|| "web/dist".to_owned());
        let response_cache_entries = parse_number::<usize>(
            get("RESPONSE_CACHE_ENTRIES"),
            "RESPONSE_CACHE_ENTRIES",
            1024,
            0,
            100_000,
        )?;
        let response_cache_max_age = Duration::from_millis(parse_number::<u64>(
            get("RESPONSE_CACHE_MAX_AGE_MS"),
            "RESPONSE_CACHE_MAX_AGE_MS",
            1000,
            1,
            60_000,
        )?);
        let log_json = match get("LOG_FORMAT").as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(ConfigError {
                    variable: "LOG_FORMAT",
                    message: format!("{other:?} is not one of text, json"),
                });
            }
        };

        Ok(Self {
            server: ServerConfig {
                host,
                port,
                metrics_port,
                allowed_origins,
                web_dir,
                log_json,
                response_cache_entries,
                response_cache_max_age,
            },
            database: DatabaseConfig {
                url: ConnectionUrl::new(database_url),
                max_connections: database_max_connections,
            },
            redis: RedisConfig {
                url: redis_url.map(ConnectionUrl::new),
                prefix: redis_prefix,
            },
            auth: AuthConfig {
                jwt_secret,
                jwt_secret_source,
                session_ttl,
                cookie_secure,
            },
            orders: OrderConfig {
                ttl: order_ttl,
                max_live: max_live_orders,
            },
            queue,
            payments: PaymentConfig {
                processor: payment_processor,
                stripe_secret_key,
                stripe_api_base,
                stripe_webhook_secret: get("STRIPE_WEBHOOK_SECRET").map(Secret::new),
                stripe_publishable_key: get("STRIPE_PUBLISHABLE_KEY"),
                timeout: payment_timeout,
                settle_after: payment_settle_after,
                currency,
            },
            limits: Limits {
                max_body_bytes,
                max_query_depth,
                max_query_complexity,
                max_batch_size,
                max_root_fields,
                max_query_bytes,
                max_query_selections,
                max_entity_representations,
                ws_max_subscriptions,
                ws_init_timeout,
                ws_max_message_bytes,
            },
        })
    }

    pub fn is_postgres(&self) -> bool {
        self.database.url.expose().starts_with("postgres")
    }
}

fn parse_number<T>(
    value: Option<String>,
    variable: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    let Some(raw) = value else {
        return Ok(default);
    };
    match raw.parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(ConfigError {
            variable,
            message: format!("{raw:?} is not a whole number from {min} to {max}"),
        }),
    }
}

fn parse_bool(
    value: Option<String>,
    variable: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(ConfigError {
            variable,
            message: format!("{other:?} is not true or false"),
        }),
    }
}

fn random_secret() -> String {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn variable_of(pairs: &[(&str, &str)]) -> &'static str {
        config(pairs).expect_err("should be refused").variable
    }

    #[test]
    fn defaults_run_embedded_on_a_laptop() {
        let c = config(&[]).unwrap();
        assert_eq!(c.server.port, 8080);
        assert_eq!(c.server.host.to_string(), "127.0.0.1");
        assert_eq!(c.database.url.expose(), DEFAULT_DATABASE_URL);
        assert!(c.redis.url.is_none());
        assert_eq!(c.auth.jwt_secret_source, JwtSecretSource::Generated);
        assert_eq!(c.orders.ttl, Duration::from_secs(900));
        assert_eq!(c.orders.max_live, 5);
        assert!(!c.auth.cookie_secure);
        assert!(c.payments.stripe_secret_key.is_none());
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        assert_eq!(variable_of(&[("PORT", "http")]), "PORT");
        assert_eq!(variable_of(&[("PORT", "70000")]), "PORT");
        assert_eq!(variable_of(&[("HOST", "localhost:1")]), "HOST");
        assert_eq!(
            variable_of(&[("DATABASE_URL", "mysql://x")]),
            "DATABASE_URL"
        );
        assert_eq!(variable_of(&[("REDIS_URL", "127.0.0.1:6379")]), "REDIS_URL");
        assert_eq!(
            variable_of(&[("ORDER_TTL_SECONDS", "0")]),
            "ORDER_TTL_SECONDS"
        );
        assert_eq!(
            variable_of(&[("ORDER_TTL_SECONDS", "-5")]),
            "ORDER_TTL_SECONDS"
        );
        assert_eq!(variable_of(&[("COOKIE_SECURE", "maybe")]), "COOKIE_SECURE");
        assert_eq!(variable_of(&[("MAX_LIVE_ORDERS", "0")]), "MAX_LIVE_ORDERS");
        assert_eq!(variable_of(&[("JWT_SECRET", "short")]), "JWT_SECRET");
        assert_eq!(
            variable_of(&[("STRIPE_API_BASE", "localhost")]),
            "STRIPE_API_BASE"
        );
        assert_eq!(variable_of(&[("LOG_FORMAT", "xml")]), "LOG_FORMAT");
        assert_eq!(variable_of(&[("MAX_ROOT_FIELDS", "0")]), "MAX_ROOT_FIELDS");
        assert_eq!(variable_of(&[("METRICS_PORT", "nine")]), "METRICS_PORT");
        assert_eq!(
            variable_of(&[("MAX_BODY_BYTES", "4096"), ("MAX_QUERY_BYTES", "8192")]),
            "MAX_QUERY_BYTES"
        );
        assert_eq!(
            variable_of(&[("MAX_QUERY_SELECTIONS", "many")]),
            "MAX_QUERY_SELECTIONS"
        );
        assert_eq!(
            variable_of(&[("WS_MAX_SUBSCRIPTIONS", "x")]),
            "WS_MAX_SUBSCRIPTIONS"
        );
        assert_eq!(
            variable_of(&[("WS_INIT_TIMEOUT_SECONDS", "0")]),
            "WS_INIT_TIMEOUT_SECONDS"
        );
        assert_eq!(
            variable_of(&[("WS_MAX_MESSAGE_BYTES", "10")]),
            "WS_MAX_MESSAGE_BYTES"
        );
        assert_eq!(variable_of(&[("CURRENCY", "dollars")]), "CURRENCY");
        assert_eq!(
            variable_of(&[("PAYMENT_TIMEOUT_SECONDS", "0")]),
            "PAYMENT_TIMEOUT_SECONDS"
        );
        assert_eq!(
            variable_of(&[
                ("PAYMENT_TIMEOUT_SECONDS", "30"),
                ("PAYMENT_SETTLE_AFTER_SECONDS", "30")
            ]),
            "PAYMENT_SETTLE_AFTER_SECONDS"
        );
    }

    #[test]
    fn postgres_requires_a_jwt_secret() {
        let err = config(&[("DATABASE_URL", "postgres://postgres@127.0.0.1/x")]).unwrap_err();
        assert_eq!(err.variable, "JWT_SECRET");
        assert!(err.to_string().contains("required"), "{err}");
        let ok = config(&[
            ("DATABASE_URL", "postgres://postgres@127.0.0.1/x"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("PAYMENT_PROCESSOR", "test"),
        ])
        .unwrap();
        assert_eq!(ok.auth.jwt_secret_source, JwtSecretSource::Configured);
    }

    #[test]
    fn postgres_refuses_the_test_processor_unless_asked_for() {
        let pg = [
            ("DATABASE_URL", "postgres://postgres@127.0.0.1/x"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ];
        let err = config(&pg).unwrap_err();
        assert_eq!(err.variable, "PAYMENT_PROCESSOR", "{err}");
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = pg.to_vec();
            vars.extend_from_slice(extra);
            config(&vars)
        };
        assert_eq!(
            with(&[("PAYMENT_PROCESSOR", "test")])
                .unwrap()
                .payments
                .processor,
            ProcessorKind::Test
        );
        assert_eq!(
            with(&[("STRIPE_SECRET_KEY", "sk_test_1")])
                .unwrap()
                .payments
                .processor,
            ProcessorKind::Stripe
        );
        assert_eq!(
            with(&[("PAYMENT_PROCESSOR", "stripe")])
                .unwrap_err()
                .variable,
            "STRIPE_SECRET_KEY"
        );
        assert_eq!(
            with(&[("PAYMENT_PROCESSOR", "paypal")])
                .unwrap_err()
                .variable,
            "PAYMENT_PROCESSOR"
        );
        // The embedded default still sells with the test processor out of the box.
        assert_eq!(config(&[]).unwrap().payments.processor, ProcessorKind::Test);
    }

    #[test]
    fn currencies_without_cents_are_refused() {
        for code in ["jpy", "JPY", "krw", "kwd"] {
            let err = config(&[("CURRENCY", code)]).unwrap_err();
            assert_eq!(err.variable, "CURRENCY");
            assert!(err.message.contains("no cents"), "{err}");
        }
        assert_eq!(
            config(&[("CURRENCY", "EUR")]).unwrap().payments.currency,
            "eur"
        );
    }

    #[test]
    fn secrets_never_print() {
        let c = config(&[
            ("JWT_SECRET", "super-secret-value-that-is-long-enough"),
            ("STRIPE_SECRET_KEY", "sk_test_hidden"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("super-secret"), "{shown}");
        assert!(!shown.contains("sk_test_hidden"), "{shown}");
    }

    #[test]
    fn connection_urls_print_without_their_password() {
        let c = config(&[
            (
                "DATABASE_URL",
                "postgres://app:pg-pass@db.internal:5432/tickets",
            ),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            ("PAYMENT_PROCESSOR", "test"),
            ("REDIS_URL", "rediss://default:redis-pass@cache:6380/0"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("pg-pass"), "{shown}");
        assert!(!shown.contains("redis-pass"), "{shown}");
        assert!(
            shown.contains("postgres://app:***@db.internal:5432/tickets"),
            "{shown}"
        );
        assert!(
            shown.contains("rediss://default:***@cache:6380/0"),
            "{shown}"
        );
        assert_eq!(
            c.database.url.expose(),
            "postgres://app:pg-pass@db.internal:5432/tickets"
        );
        for (url, shown) in [
            (
                "sqlite://tickets.db?mode=rwc",
                "sqlite://tickets.db?mode=rwc",
            ),
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            ("postgres://postgres@h/d", "postgres://postgres@h/d"),
            ("redis://:only-pass@h", "redis://:***@h"),
            ("postgres://u:p@ss@h/d", "postgres://u:***@h/d"),
        ] {
            assert_eq!(ConnectionUrl::new(url).redacted(), shown);
        }
    }

    #[test]
    fn allowed_origins_are_a_trimmed_list() {
        let c = config(&[(
            "ALLOWED_ORIGINS",
            "https://a.example/, http://b.example:3000",
        )])
        .unwrap();
        assert_eq!(
            c.server.allowed_origins,
            ["https://a.example", "http://b.example:3000"]
        );
    }
}
