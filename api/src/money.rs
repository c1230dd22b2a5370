//! Money: kept and computed as integer cents, shown to clients as `Decimal` with two places,
//! sent to the processor as cents.

use rust_decimal::Decimal;

use crate::error::FieldError;

/// The largest price a ticket may have, in whole units.
pub const PRICE_MAX: i64 = 1_000_000;

/// A price: greater than 0, at most 2 decimals, at most 1,000,000; kept as integer cents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price(i64);

impl Price {
    pub fn parse(raw: Decimal) -> Result<Self, FieldError> {
        let normalized = raw.normalize();
        if normalized <= Decimal::ZERO {
            return Err(FieldError::new("price", "must be greater than 0"));
        }
        if normalized.scale() > 2 {
            return Err(FieldError::new("price", "must have at most 2 decimals"));
        }
        if normalized > Decimal::from(PRICE_MAX) {
            return Err(FieldError::new("price", "must be at most 1000000"));
        }
        let cents = (normalized * Decimal::from(100)).trunc();
        i64::try_from(cents)
            .map(Self)
            .map_err(|_| FieldError::new("price", "is out of range"))
    }

    pub fn cents(self) -> i64 {
        self.0
    }
}

/// Integer cents as the two-place `Decimal` clients see (`1999` → `19.99`).
pub fn from_cents(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn price(s: &str) -> Result<i64, FieldError> {
        Price::parse(Decimal::from_str(s).unwrap()).map(Price::cents)
    }

    #[test]
    fn prices_become_exact_cents() {
        assert_eq!(price("19.99").unwrap(), 1999);
        assert_eq!(price("20").unwrap(), 2000);
        assert_eq!(price("20.10").unwrap(), 2010);
        assert_eq!(price("0.01").unwrap(), 1);
        assert_eq!(price("1000000").unwrap(), 100_000_000);
        assert_eq!(
            price("1.500").unwrap(),
            150,
            "trailing zeros are not decimals"
        );
        assert_eq!(from_cents(1999).to_string(), "19.99");
        assert_eq!(from_cents(2000).to_string(), "20.00");
    }

    #[test]
    fn bad_prices_are_refused() {
        for bad in ["0", "-1", "0.001", "1.999", "1000000.01", "99999999999"] {
            assert!(price(bad).is_err(), "{bad} accepted");
        }
    }
}
