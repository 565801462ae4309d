//! Failed-login throttling: fixed windows, per account and per source.

use std::time::Duration;

/// One fixed window of the failure counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Which window since the epoch: part of the counter's key, so a new
    /// window starts from zero without anyone resetting anything.
    pub index: u64,
    /// When it ends (Unix seconds): the counter's TTL.
    pub ends_at: u64,
}

impl Window {
    /// The window `now` falls in, for windows of `length`.
    pub fn at(now: u64, length: Duration) -> Self {
        let length = length.as_secs().max(1);
        let index = now / length;
        Window {
            index,
            ends_at: (index + 1) * length,
        }
    }

    /// The `Retry-After` of a throttled attempt: at least one second.
    pub fn retry_after(&self, now: u64) -> u64 {
        self.ends_at.saturating_sub(now).max(1)
    }
}

/// Whether one more attempt may run against a counter at `failures`.
/// [`CLAIM_CONDITION`] is the same rule as the write that claims the slot,
/// so concurrent attempts cannot all slip under the limit.
pub fn may_claim(failures: Option<u64>, max: u64) -> bool {
    failures.is_none_or(|f| f < max)
}

/// [`may_claim`] as a condition. Value: `:max`.
pub const CLAIM_CONDITION: &str = "attribute_not_exists(failures) OR failures < :max";

/// Whether a source with `failures` in this window is blocked.
pub fn source_blocked(failures: u64, max: u64) -> bool {
    failures >= max
}

/// An id that could never have been registered, or a password no one could
/// have set, is not worth a read (but still costs the same argon2 work).
pub fn plausible_login(id: &str, password: &str) -> bool {
    (1..=64).contains(&id.len()) && password.len() <= 1024
}

/// Longest source address used in a counter key or kept on a session
/// (IPv6 is at most 45).
pub const MAX_SOURCE_IP_CHARS: usize = 64;

/// The source a failed login is counted against: an IPv4 address, or the
/// /64 of an IPv6 one (a single client usually holds a whole /64).
pub fn throttle_source(ip: &str) -> String {
    let ip: String = ip.chars().take(MAX_SOURCE_IP_CHARS).collect();
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(v4) => v4.to_string(),
        Err(_) => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_fixed_and_end_on_their_boundary() {
        let w = Window::at(1_000, Duration::from_secs(900));
        assert_eq!(
            w,
            Window {
                index: 1,
                ends_at: 1_800
            }
        );
        assert_eq!(w.retry_after(1_000), 800);
        assert_eq!(w.retry_after(1_800), 1, "never 0");
        assert_eq!(Window::at(1_799, Duration::from_secs(900)).index, 1);
        assert_eq!(Window::at(1_800, Duration::from_secs(900)).index, 2);
        assert_eq!(
            Window::at(5, Duration::ZERO).ends_at,
            6,
            "a zero length acts as 1 s"
        );
    }

    #[test]
    fn claims_stop_at_the_limit() {
        assert!(may_claim(None, 1));
        assert!(may_claim(Some(4), 5));
        assert!(!may_claim(Some(5), 5));
        assert!(!source_blocked(49, 50));
        assert!(source_blocked(50, 50));
    }

    #[test]
    fn implausible_logins_skip_the_read() {
        assert!(plausible_login("alice", "pw"));
        assert!(!plausible_login("", "pw"));
        assert!(!plausible_login(&"a".repeat(65), "pw"));
        assert!(!plausible_login("alice", &"p".repeat(1025)));
    }

    #[test]
    fn ipv6_sources_are_counted_per_64() {
        assert_eq!(throttle_source("203.0.113.7"), "203.0.113.7");
        assert_eq!(throttle_source("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(
            throttle_source("2001:0db8:0001:0002:ffff:ffff:ffff:ffff"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(throttle_source("::ffff:198.51.100.1"), "198.51.100.1");
        assert_eq!(throttle_source("not-an-ip"), "not-an-ip");
        assert_eq!(throttle_source(&"x".repeat(100)).len(), 64);
    }
}
