//! Limits on anonymous attempts: enrollment codes now, the console's logins
//! later. A thousand wrong codes were answered at 640 a second, each writing
//! an audit row; now an address, and a code, get a few attempts a minute, the
//! rest are answered 429 before the database is touched, and the audit log
//! gets one row per flood instead of one per attempt.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Distinct keys a flood summary keeps between two writes; the rest are
/// counted together, so a flood from many addresses costs bounded memory.
const MAX_FLOOD_KEYS: usize = 10_000;

/// Attempts of one kind (`what`, e.g. "enroll"), limited per client address
/// and per code tried.
#[derive(Debug)]
pub struct Throttle {
    what: &'static str,
    by_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    by_code: Option<DefaultKeyedRateLimiter<String>>,
    /// What the second key is, in flood summaries ("code", "login").
    key_kind: &'static str,
    clock: DefaultClock,
    floods: Mutex<HashMap<String, Flood>>,
}

/// Attempts refused for one key since the last summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flood {
    /// "address:203.0.113.0" or "code:1a2b3c...".
    pub key: String,
    pub refused: u64,
    pub first: i64,
    pub last: i64,
}

/// Why an attempt was refused, and when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
}

impl Throttle {
    /// `per_address` and `per_code` attempts a minute (also the burst); 0
    /// means no limit of that kind.
    pub fn new(what: &'static str, per_address: u32, per_code: u32) -> Throttle {
        fn limiter<K: std::hash::Hash + Eq + Clone>(n: u32) -> Option<DefaultKeyedRateLimiter<K>> {
            NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
        }
        Throttle {
            what,
            by_address: limiter(per_address),
            by_code: limiter(per_code),
            key_kind: "code",
            clock: DefaultClock::default(),
            floods: Mutex::new(HashMap::new()),
        }
    }

    /// Names the second key `kind` in flood summaries (`login:NAME`)
    /// instead of `code`.
    pub fn keyed_as(mut self, kind: &'static str) -> Throttle {
        self.key_kind = kind;
        self
    }

    /// Counts one attempt from `address` with `code_key` (the code's hash,
    /// never the code), refusing it when either is over its limit.
    pub fn check(&self, address: Option<IpAddr>, code_key: &str, now: i64) -> Result<(), Refused> {
        let address = address
            .map(bucket)
            .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        if let Some(limiter) = &self.by_address
            && let Err(not_until) = limiter.check_key(&address)
        {
            self.flooded(format!("address:{address}"), now);
            return Err(Refused {
                retry_after: not_until.wait_time_from(self.clock.now()),
            });
        }
        if let Some(limiter) = &self.by_code
            && let Err(not_until) = limiter.check_key(&code_key.to_string())
        {
            self.flooded(format!("{}:{code_key}", self.key_kind), now);
            return Err(Refused {
                retry_after: not_until.wait_time_from(self.clock.now()),
            });
        }
        Ok(())
    }

    fn flooded(&self, key: String, now: i64) {
        let Ok(mut floods) = self.floods.lock() else {
            return;
        };
        let key = if floods.len() >= MAX_FLOOD_KEYS && !floods.contains_key(&key) {
            "others".to_string()
        } else {
            key
        };
        let f = floods.entry(key.clone()).or_insert(Flood {
            key,
            refused: 0,
            first: now,
            last: now,
        });
        f.refused += 1;
        f.last = now;
    }

    /// The floods since the last call, for the audit log; and forgets the
    /// keys that are back under their limit, so memory follows the recent
    /// attackers, not every address ever seen.
    pub fn take_floods(&self) -> Vec<Flood> {
        if let Some(limiter) = &self.by_address {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.by_code {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let Ok(mut floods) = self.floods.lock() else {
            return Vec::new();
        };
        let mut out: Vec<Flood> = floods.drain().map(|(_, f)| f).collect();
        floods.shrink_to_fit();
        out.sort_by(|a, b| b.refused.cmp(&a.refused).then(a.key.cmp(&b.key)));
        out
    }

    pub fn what(&self) -> &'static str {
        self.what
    }
}

/// The key an address is limited by: IPv4 as it is, IPv6 by its /64, the
/// block one subscriber gets (an attacker holding one has 2^64 addresses).
pub(crate) fn bucket(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Writes the floods of refused attempts to the audit log every `every`,
/// and once more when `stop` turns true.
pub async fn write_floods(
    state: crate::api::AppState,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            r = stop.changed() => r.is_err() || *stop.borrow(),
        };
        for throttle in [&state.enroll_throttle, &state.login_throttle] {
            for flood in throttle.take_floods() {
                tracing::warn!(
                    what = throttle.what(),
                    key = %flood.key,
                    refused = flood.refused,
                    "attempts refused over the limit"
                );
                crate::api::audit(
                    &state,
                    crate::storage::AuditEntry {
                        at: flood.last,
                        actor: "anonymous".into(),
                        action: format!("{}_throttled", throttle.what()),
                        subject: flood.key,
                        detail: format!(
                            "refused={} first={} last={}",
                            flood.refused,
                            crate::time_text(flood.first),
                            crate::time_text(flood.last)
                        ),
                    },
                )
                .await;
            }
        }
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_address_gets_its_attempts_then_waits() {
        let t = Throttle::new("enroll", 3, 0);
        for i in 0..3 {
            assert!(t.check(ip("203.0.113.7"), &format!("c{i}"), 100).is_ok());
        }
        let refused = t.check(ip("203.0.113.7"), "c9", 101).unwrap_err();
        assert!(refused.retry_after > Duration::ZERO);
        assert!(refused.retry_after <= Duration::from_secs(20));
        // Another address is not held back by the first.
        assert!(t.check(ip("203.0.113.8"), "c0", 101).is_ok());
    }

    #[test]
    fn one_ipv6_subscriber_is_one_address() {
        let t = Throttle::new("enroll", 2, 0);
        assert!(t.check(ip("2001:db8:1:2::1"), "a", 1).is_ok());
        assert!(t.check(ip("2001:db8:1:2::ffff"), "b", 1).is_ok());
        assert!(t.check(ip("2001:db8:1:2:abcd::9"), "c", 1).is_err());
        assert!(t.check(ip("2001:db8:1:3::1"), "d", 1).is_ok());
        // An IPv4 client seen through an IPv6 socket is its IPv4 address.
        let t = Throttle::new("enroll", 1, 0);
        assert!(t.check(ip("::ffff:198.51.100.1"), "a", 1).is_ok());
        assert!(t.check(ip("198.51.100.1"), "b", 1).is_err());
    }

    #[test]
    fn a_code_tried_from_many_addresses_is_limited() {
        let t = Throttle::new("enroll", 0, 2);
        assert!(t.check(ip("10.0.0.1"), "same", 1).is_ok());
        assert!(t.check(ip("10.0.0.2"), "same", 1).is_ok());
        assert!(t.check(ip("10.0.0.3"), "same", 1).is_err());
        assert!(t.check(ip("10.0.0.3"), "other", 1).is_ok());
    }

    #[test]
    fn a_flood_is_summarised_once() {
        let t = Throttle::new("enroll", 1, 0);
        assert!(t.check(ip("192.0.2.1"), "x", 10).is_ok());
        for at in 11..=1010 {
            assert!(t.check(ip("192.0.2.1"), "x", at).is_err());
        }
        assert!(t.check(ip("192.0.2.2"), "x", 20).is_ok());
        assert!(t.check(ip("192.0.2.2"), "x", 21).is_err());
        let floods = t.take_floods();
        assert_eq!(
            floods,
            vec![
                Flood {
                    key: "address:192.0.2.1".into(),
                    refused: 1000,
                    first: 11,
                    last: 1010
                },
                Flood {
                    key: "address:192.0.2.2".into(),
                    refused: 1,
                    first: 21,
                    last: 21
                },
            ]
        );
        assert!(
            t.take_floods().is_empty(),
            "each refusal is summarised once"
        );
    }

    #[test]
    fn no_limit_when_zero() {
        let t = Throttle::new("enroll", 0, 0);
        for _ in 0..1000 {
            assert!(t.check(ip("192.0.2.1"), "x", 1).is_ok());
        }
    }
}
