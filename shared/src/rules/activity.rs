//! The security activity trail's rules: what counts as a new device, how
//! long an event is kept, and the page cursor.

use sha2::Digest;

/// How many recent devices an account remembers: a sign-in from any other
/// is a new device.
pub const MAX_KNOWN_DEVICES: usize = 10;

/// Events per page of `GET /api/auth/activity`, unless asked otherwise.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// The most events one page may ask for.
pub const MAX_PAGE_SIZE: u32 = 100;

/// What identifies a device: the first 16 hex digits of the SHA-256 of
/// its user agent with every digit removed, so a browser's version updates
/// (`Chrome/156.0.1` to `Chrome/157.0.3`) are the same device. No user
/// agent, no device to recognise.
pub fn device_key(user_agent: Option<&str>) -> Option<String> {
    let shape: String = user_agent?
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .collect();
    let digest = sha2::Sha256::digest(shape.trim().as_bytes());
    Some(digest.iter().take(8).map(|b| format!("{b:02x}")).collect())
}

/// The account's device list after a sign-in from `device`: `None` when
/// the device is known (nothing to write), else the new list, newest
/// first, at most [`MAX_KNOWN_DEVICES`] long.
pub fn remember_device(known: &[String], device: &str) -> Option<Vec<String>> {
    if known.iter().any(|d| d == device) {
        return None;
    }
    let mut devices = Vec::with_capacity(MAX_KNOWN_DEVICES);
    devices.push(device.to_string());
    devices.extend(known.iter().take(MAX_KNOWN_DEVICES - 1).cloned());
    Some(devices)
}

/// A position in a user's trail: after the event at `at_ms` with id
/// `event_id` (a UUID). Shown to clients as `<at_ms>.<event_id>`, and
/// opaque to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at_ms: u64,
    pub event_id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at_ms, self.event_id)
    }

    /// `None` for anything [`Cursor::encode`] did not make. The event id
    /// must be a UUID, so a cursor can only ever name a key under the
    /// caller's own prefix.
    pub fn parse(text: &str) -> Option<Cursor> {
        let (at, id) = text.split_once('.')?;
        if at.is_empty() || at.len() > 15 || !at.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let id = uuid::Uuid::try_parse(id).ok()?;
        Some(Cursor {
            at_ms: at.parse().ok()?,
            event_id: id.hyphenated().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_updates_are_the_same_device_and_other_browsers_are_not() {
        let chrome = |v: &str| {
            format!("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/{v} Safari/537.36")
        };
        let old = device_key(Some(&chrome("156.0.7000.1")));
        assert_eq!(old, device_key(Some(&chrome("157.0.7100.12"))));
        assert_ne!(old, device_key(Some("Mozilla/5.0 (iPhone) Safari")));
        assert_eq!(old.as_deref().map(str::len), Some(16));
        assert_eq!(device_key(None), None);
    }

    #[test]
    fn a_known_device_writes_nothing_and_a_new_one_goes_first() {
        let known: Vec<String> = (0..MAX_KNOWN_DEVICES).map(|i| format!("d{i}")).collect();
        assert_eq!(remember_device(&known, "d3"), None);
        let after = remember_device(&known, "new").unwrap();
        assert_eq!(after.len(), MAX_KNOWN_DEVICES);
        assert_eq!(after[0], "new");
        assert_eq!(after[1], "d0");
        assert!(
            !after.contains(&"d9".to_string()),
            "the oldest is forgotten"
        );
        assert_eq!(remember_device(&[], "x"), Some(vec!["x".to_string()]));
    }

    #[test]
    fn cursors_round_trip_and_nothing_else_parses() {
        let cursor = Cursor {
            at_ms: 1_764_650_000_123,
            event_id: "0b6f2c1e-8a8f-4c44-9d55-6a1b2c3d4e5f".into(),
        };
        assert_eq!(Cursor::parse(&cursor.encode()), Some(cursor));
        for bad in [
            "",
            ".",
            "12",
            "12.",
            ".0b6f2c1e-8a8f-4c44-9d55-6a1b2c3d4e5f",
            "-1.0b6f2c1e-8a8f-4c44-9d55-6a1b2c3d4e5f",
            "1.x",
            "1.0b6f2c1e-8a8f-4c44-9d55-6a1b2c3d4e5f#USER#bob",
            "9999999999999999.0b6f2c1e-8a8f-4c44-9d55-6a1b2c3d4e5f",
        ] {
            assert_eq!(Cursor::parse(bad), None, "{bad:?}");
        }
    }
}
