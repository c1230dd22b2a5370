//! Names people type: a ticket's title, an event's name, venue and city. One rule for all of
//! them: trimmed, 1 to `max` characters, no control characters, nothing that changes how the text
//! around it reads without showing itself.

use crate::error::FieldError;

/// Characters that change how the text around them reads without showing themselves: bidi
/// embeddings, overrides, isolates and marks (with which "Concert U+202E kcit" reads otherwise on
/// screen than in the database) and zero-width spaces, joiners of words, the byte-order mark.
/// The zero-width joiner and non-joiner stay allowed: emoji sequences and several scripts need
/// them.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{180E}' | '\u{200B}' | '\u{200E}' | '\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}')
}

/// `raw` trimmed, if it is a name of 1 to `max` characters; otherwise the error on `field`.
pub fn line(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let text = raw.trim();
    let n = text.chars().count();
    if n == 0 {
        Err(FieldError::new(field, "must not be empty"))
    } else if n > max {
        Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ))
    } else if text.chars().any(char::is_control) {
        Err(FieldError::new(
            field,
            "must not contain control characters",
        ))
    } else if text.chars().any(is_invisible_format) {
        Err(FieldError::new(
            field,
            "must not contain direction overrides or invisible characters",
        ))
    } else {
        Ok(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_trimmed_and_bounded() {
        assert_eq!(line("name", "  Concert ", 200).unwrap(), "Concert");
        assert!(line("name", "   ", 200).is_err());
        assert!(line("name", &"é".repeat(200), 200).is_ok());
        assert_eq!(
            line("name", &"é".repeat(201), 200).unwrap_err().field,
            "name"
        );
        assert!(line("name", "a\u{0}b", 200).is_err());
        assert!(line("name", "a\u{202E}b", 200).is_err());
    }
}
