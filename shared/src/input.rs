//! Validated inputs. Each newtype checks its rule once, when it is built
//! (from a request body through serde, or in code through `TryFrom`), and
//! says what is wrong without repeating the value.

use serde::Deserialize;

/// A rule an input broke, worded to follow the field's name
/// ("`id` must be ...").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldRule(pub &'static str);

/// A user id as registered: 3-64 characters of ASCII letters, digits and
/// `.`, `_`, `@`, `-`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct UserId(String);

impl TryFrom<String> for UserId {
    type Error = FieldRule;

    fn try_from(id: String) -> Result<Self, FieldRule> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-');
        if (3..=64).contains(&id.chars().count()) && id.chars().all(allowed) {
            Ok(UserId(id))
        } else {
            Err(FieldRule(
                "must be 3-64 characters of letters, digits, '.', '_', '@' or '-'",
            ))
        }
    }
}

impl UserId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A display name: 1-100 characters without control characters, stored
/// trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct DisplayName(String);

impl TryFrom<String> for DisplayName {
    type Error = FieldRule;

    fn try_from(name: String) -> Result<Self, FieldRule> {
        let name = name.trim();
        if (1..=100).contains(&name.chars().count()) && !name.chars().any(char::is_control) {
            Ok(DisplayName(name.to_string()))
        } else {
            Err(FieldRule(
                "must be 1-100 characters without control characters",
            ))
        }
    }
}

impl DisplayName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed: any string. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    pub fn new(password: impl Into<String>) -> Self {
        Password(password.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password someone is setting: 8-128 characters.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct NewPassword(Password);

impl TryFrom<String> for NewPassword {
    type Error = FieldRule;

    fn try_from(password: String) -> Result<Self, FieldRule> {
        NewPassword::try_from(Password(password))
    }
}

impl TryFrom<Password> for NewPassword {
    type Error = FieldRule;

    fn try_from(password: Password) -> Result<Self, FieldRule> {
        if (8..=128).contains(&password.0.chars().count()) {
            Ok(NewPassword(password))
        } else {
            Err(FieldRule("must be 8-128 characters"))
        }
    }
}

impl NewPassword {
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// An e-mail address as stored: trimmed and lower-cased, at most 254
/// characters, one `@` between a local part of 1-64 characters and a domain
/// with a dot; no spaces, controls or `<>()[],;:"\`. (Deliverability is the
/// verification code's job, not this rule's.)
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Email(String);

impl TryFrom<String> for Email {
    type Error = FieldRule;

    fn try_from(email: String) -> Result<Self, FieldRule> {
        let email = email.trim().to_lowercase();
        let allowed = |c: char| c.is_ascii_graphic() && !"<>()[],;:\"\\".contains(c);
        let shaped = match email.split_once('@') {
            Some((local, domain)) => {
                (1..=64).contains(&local.len())
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            }
            None => false,
        };
        if email.len() <= 254 && shaped && email.chars().all(allowed) {
            Ok(Email(email))
        } else {
            Err(FieldRule("must be an e-mail address"))
        }
    }
}

impl Email {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// An address is personal data: `{:?}` shows its domain only.
impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let domain = self.0.split_once('@').map_or("", |(_, d)| d);
        write!(f, "Email(<redacted>@{domain})")
    }
}

/// A one-time code as typed: exactly 6 ASCII digits (surrounding spaces
/// trimmed). Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct OneTimeCode(String);

impl TryFrom<String> for OneTimeCode {
    type Error = FieldRule;

    fn try_from(code: String) -> Result<Self, FieldRule> {
        let code = code.trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            Ok(OneTimeCode(code.to_string()))
        } else {
            Err(FieldRule("must be 6 digits"))
        }
    }
}

impl OneTimeCode {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeCode(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids() {
        for ok in ["alice", "a.b_c@d-e", &"a".repeat(64)] {
            assert!(UserId::try_from(ok.to_string()).is_ok(), "{ok}");
        }
        for bad in ["ab", &"a".repeat(65), "has space", "ünicode", ""] {
            assert!(UserId::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(
            DisplayName::try_from("  Al ".to_string()).unwrap().as_str(),
            "Al"
        );
        for bad in ["", "   ", &"n".repeat(101), "bad\nname"] {
            assert!(DisplayName::try_from(bad.to_string()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn new_passwords_have_a_length_rule_and_never_show() {
        assert!(NewPassword::try_from("12345678".to_string()).is_ok());
        assert!(NewPassword::try_from("short".to_string()).is_err());
        assert!(NewPassword::try_from("p".repeat(129)).is_err());
        let p = NewPassword::try_from("hunter2hunter2".to_string()).unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
        assert!(!format!("{:?}", Password::new("hunter2")).contains("hunter2"));
        let err = NewPassword::try_from("hunter2".to_string()).unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }
    #[test]
    fn emails_are_lower_cased_and_checked() {
        let e = Email::try_from("  Alice.B@Example.COM ".to_string()).unwrap();
        assert_eq!(e.as_str(), "alice.b@example.com");
        assert!(!format!("{e:?}").contains("alice"));
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a@b@example.com",
            "al ice@example.com",
            "alice@.example.com",
            "alice@example..com",
            "<alice>@example.com",
            "ålice@example.com",
            &format!("{}@example.com", "a".repeat(65)),
            &format!("a@{}.com", "b".repeat(250)),
        ] {
            assert!(Email::try_from(bad.to_string()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn codes_are_six_digits_and_never_show() {
        assert_eq!(
            OneTimeCode::try_from(" 012345 ".to_string())
                .unwrap()
                .expose(),
            "012345"
        );
        for bad in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"] {
            assert!(OneTimeCode::try_from(bad.to_string()).is_err(), "{bad:?}");
        }
        let code = OneTimeCode::try_from("987654".to_string()).unwrap();
        assert!(!format!("{code:?}").contains("987654"));
    }
}
