//! One error type with the stable codes of the public API (shared/API.md "Errors").
//!
//! `ApiError` deliberately has no `Display`: async-graphql turns anything displayable into an
//! error that shows its text, so a `DbErr` or `RedisError` could leak through `?`. Only this
//! module's `From` builds client errors, and internal causes are logged, never sent.

use async_graphql::{ErrorExtensions, Value};
use serde::Serialize;

/// One invalid input field: `field` names the argument or input field as the client spelled it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug)]
pub enum ApiError {
    Unauthenticated(String),
    Forbidden(String),
    NotFound(String),
    BadUserInput(Vec<FieldError>),
    /// A request past one of the configured limits (its shape, not its values): `BAD_USER_INPUT`
    /// with no field.
    OverLimit(String),
    Conflict(String),
    PaymentFailed(String),
    RateLimited {
        retry_after_seconds: u64,
    },
    /// A persisted query's hash this server does not know (yet): the client resends the text.
    PersistedQueryNotFound,
    Internal(anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The stable `extensions.code` values of API.md "Errors" (and `PERSISTED_QUERY_NOT_FOUND` of
/// Apollo's persisted-query protocol, README "Persisted queries"): the one list. Rust code names them
/// from here; the web UI's (`web/src/lib/errors.ts`) and the fuzzer's (`fuzz/common.py`) copies
/// are checked against `code::ALL` by `contract::every_copy_of_the_error_codes_is_the_list`.
pub mod code {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const CONFLICT: &str = "CONFLICT";
    pub const PAYMENT_FAILED: &str = "PAYMENT_FAILED";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";

    /// All of them, in API.md's order.
    pub const ALL: [&str; 9] = [
        UNAUTHENTICATED,
        FORBIDDEN,
        NOT_FOUND,
        BAD_USER_INPUT,
        CONFLICT,
        PAYMENT_FAILED,
        RATE_LIMITED,
        PERSISTED_QUERY_NOT_FOUND,
        INTERNAL_SERVER_ERROR,
    ];
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => code::UNAUTHENTICATED,
            ApiError::Forbidden(_) => code::FORBIDDEN,
            ApiError::NotFound(_) => code::NOT_FOUND,
            ApiError::BadUserInput(_) | ApiError::OverLimit(_) => code::BAD_USER_INPUT,
            ApiError::Conflict(_) => code::CONFLICT,
            ApiError::PaymentFailed(_) => code::PAYMENT_FAILED,
            ApiError::RateLimited { .. } => code::RATE_LIMITED,
            ApiError::PersistedQueryNotFound => code::PERSISTED_QUERY_NOT_FOUND,
            ApiError::Internal(_) => code::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn unauthenticated() -> Self {
        ApiError::Unauthenticated("sign in first: no valid session".into())
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadUserInput(vec![FieldError::new(field, message)])
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(err.into())
    }

    fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::OverLimit(m)
            | ApiError::PaymentFailed(m) => m.clone(),
            ApiError::BadUserInput(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect();
                format!("invalid input: {}", parts.join("; "))
            }
            ApiError::RateLimited {
                retry_after_seconds,
            } => format!("too many attempts; try again in {retry_after_seconds} seconds"),
            // The message Apollo's and urql's clients look for.
            ApiError::PersistedQueryNotFound => "PersistedQueryNotFound".to_owned(),
            ApiError::Internal(_) => INTERNAL_MESSAGE.to_owned(),
        }
    }
}

/// Both validations' results, every failing field reported at once.
pub fn both<A, B>(a: Result<A, FieldError>, b: Result<B, FieldError>) -> ApiResult<(A, B)> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(ApiError::BadUserInput(
            a.err().into_iter().chain(b.err()).collect(),
        )),
    }
}

/// What a client sees of any internal failure.
pub const INTERNAL_MESSAGE: &str = "internal server error";

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        ApiError::Internal(err.into())
    }
}

/// The lock store's and the password hasher's failures: internal, logged, never shown.
impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        ApiError::Internal(err)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        if let ApiError::Internal(cause) = &err {
            tracing::error!(error = ?cause, "internal error");
        }
        let code = err.code();
        let message = err.message();
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code);
            match &err {
                ApiError::BadUserInput(fields) => ext.set("fields", fields_value(fields)),
                ApiError::OverLimit(_) => ext.set("fields", Value::List(Vec::new())),
                ApiError::RateLimited {
                    retry_after_seconds,
                } => ext.set("retryAfterSeconds", *retry_after_seconds),
                _ => {}
            }
        })
    }
}

pub fn fields_value(fields: &[FieldError]) -> Value {
    Value::List(
        fields
            .iter()
            .map(|f| {
                let mut obj = async_graphql::indexmap::IndexMap::new();
                obj.insert(
                    async_graphql::Name::new("field"),
                    Value::from(f.field.clone()),
                );
                obj.insert(
                    async_graphql::Name::new("message"),
                    Value::from(f.message.clone()),
                );
                Value::Object(obj)
            })
            .collect(),
    )
}

/// Runs a state change to its end whatever becomes of the request that asked for it. hyper drops
/// a handler's future when its client goes away, which is a crash between two steps (a lock
/// taken and no order written, a tombstone written and no revocation, a charge and no refund);
/// spawned, the change finishes and only its answer is lost.
pub async fn to_completion<T, F>(change: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = ApiResult<T>> + Send + 'static,
{
    tokio::spawn(change)
        .await
        .unwrap_or_else(|err| Err(ApiError::internal(err)))
}
