//! GraphQL types of accounts (mapped from the domain's `model::User`), and the validated inputs (`Email`, `Password`).

use super::model;
use crate::error::FieldError;
use async_graphql::{ID, SimpleObject};
use chrono::{DateTime, Utc};

/// A person with an account. Only its owner ever sees it (the email is private).
#[derive(Clone, Debug, PartialEq, Eq, SimpleObject)]
#[graphql(shareable)]
pub struct User {
    pub id: ID,
    pub email: String,
    pub created_at: DateTime<Utc>,
}

impl From<model::User> for User {
    fn from(u: model::User) -> Self {
        Self {
            id: u.id.into(),
            email: u.email,
            created_at: u.created_at,
        }
    }
}

#[derive(Clone, Debug, SimpleObject)]
pub struct AuthPayload {
    pub user: User,
    /// The session's JWT: send it as `Authorization: Bearer <token>` (it is also set as the
    /// `session` cookie).
    pub token: String,
}

/// A syntactically valid email address, lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let email = raw.trim().to_lowercase();
        let invalid = || FieldError::new(field, "must be a valid email address");
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Self(email))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;

/// A password within the length rules (counted in characters).
pub struct Password(String);

impl Password {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let n = raw.chars().count();
        if n < PASSWORD_MIN {
            Err(FieldError::new(
                field,
                format!("must be at least {PASSWORD_MIN} characters"),
            ))
        } else if n > PASSWORD_MAX {
            Err(FieldError::new(
                field,
                format!("must be at most {PASSWORD_MAX} characters"),
            ))
        } else {
            Ok(Self(raw.to_owned()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_trimmed() {
        assert_eq!(
            Email::parse("email", "  Ada@Example.COM ")
                .unwrap()
                .as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a da@example.com",
            "ada@exa mple.com",
            "ada@-example.com",
            ".ada@example.com",
            "ada..b@example.com",
            "ada@example..com",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse("email", &long).is_err());
    }

    #[test]
    fn password_length_counts_characters() {
        assert!(Password::parse("password", "1234567").is_err());
        assert!(Password::parse("password", "12345678").is_ok());
        assert!(Password::parse("password", &"é".repeat(128)).is_ok());
        assert!(Password::parse("password", &"é".repeat(129)).is_err());
    }
}
