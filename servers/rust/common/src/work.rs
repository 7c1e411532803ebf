//! The work behind each endpoint: the same algorithms as `go/work.go` and
//! `django/refserver/work.py`. Pure functions, except `Snowflake` (a mutex).

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Mutex;

pub const COMPUTE_CAP: u64 = 10_000_000;
pub const PAYLOAD_CAP: u64 = 100_000;
pub const FIB_CAP: u64 = 40;
pub const HASH_CAP: u64 = 100_000;

/// Input bytes of `/hash`.
pub const HASH_SEED: &[u8] = b"podmeter";

/// Reads the non-negative integer query parameter `name` (first occurrence
/// wins), or `default` when absent. Errors are the `{"error": …}` texts.
pub fn int_param(query: &str, name: &str, default: u64, cap: u64) -> Result<u64, String> {
    let Some(raw) = form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
    else {
        return Ok(default);
    };
    let digits = raw.strip_prefix('-').unwrap_or(&raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{name} must be an integer"));
    }
    if raw.starts_with('-') && digits.bytes().any(|b| b != b'0') {
        return Err(format!("{name} must not be negative"));
    }
    match digits.parse::<u64>() {
        Ok(value) if value <= cap => Ok(value),
        _ => Err(format!("{name} must be at most {cap}")),
    }
}

/// Counts primes <= n by trial division up to the square root of each k.
pub fn count_primes(n: u64) -> u64 {
    let mut count = 0;
    for k in 2..=n {
        let mut prime = true;
        let mut d = 2;
        while d * d <= k {
            if k % d == 0 {
                prime = false;
                break;
            }
            d += 1;
        }
        if prime {
            count += 1;
        }
    }
    count
}

/// Naive recursive Fibonacci: fib(0) = 0, fib(1) = 1.
pub fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

/// SHA-256 applied `rounds` times to `HASH_SEED`, as lowercase hex.
pub fn hash_rounds(rounds: u64) -> String {
    let mut data = HASH_SEED.to_vec();
    for _ in 0..rounds {
        data = Sha256::digest(&data).to_vec();
    }
    data.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Serialize, Debug, PartialEq)]
pub struct Item {
    pub id: u64,
    pub name: String,
    pub value: u64,
    pub tags: [String; 2],
}

/// The `size` deterministic objects of `/payload`.
pub fn payload(size: u64) -> Vec<Item> {
    (0..size)
        .map(|i| Item {
            id: i,
            name: format!("item-{i}"),
            value: i * 7919 % 10007,
            tags: [format!("tag-{}", i % 5), format!("group-{}", i % 3)],
        })
        .collect()
}

/// Milliseconds since 2024-01-01T00:00:00Z, the id epoch.
pub const SNOWFLAKE_EPOCH_MS: u64 = 1_704_067_200_000;
pub const MACHINE_ID_MAX: u64 = 1023;

/// 63-bit ids: 41 bits of milliseconds since the epoch, 10 bits machine id,
/// 12 bits sequence. When 4096 ids are taken in one millisecond the next ones
/// borrow the following millisecond instead of sleeping, so ids stay unique and
/// increasing even if the clock goes back.
pub struct Snowflake {
    machine_id: u64,
    state: Mutex<(u64, u64)>, // (last millisecond, sequence)
}

impl Snowflake {
    pub fn new(machine_id: u64) -> Self {
        Snowflake {
            machine_id,
            state: Mutex::new((0, 0)),
        }
    }

    /// Next id, given the wall clock in milliseconds since the Unix epoch.
    pub fn next(&self, now_unix_ms: u64) -> u64 {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (last, seq) = *state;
        let now = now_unix_ms.saturating_sub(SNOWFLAKE_EPOCH_MS).max(last);
        *state = if now > last {
            (now, 0)
        } else if seq < 4095 {
            (last, seq + 1)
        } else {
            (last + 1, 0)
        };
        let (ms, seq) = *state;
        ms << 22 | self.machine_id << 12 | seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_param_accepts_defaults_and_plain_integers() {
        assert_eq!(int_param("", "n", 30, 40), Ok(30));
        assert_eq!(int_param("x=1", "n", 30, 40), Ok(30));
        assert_eq!(int_param("n=40", "n", 30, 40), Ok(40));
        assert_eq!(int_param("n=0&n=7", "n", 30, 40), Ok(0));
        assert_eq!(int_param("n=%34", "n", 30, 40), Ok(4));
        assert_eq!(int_param("n=-0", "n", 30, 40), Ok(0));
        assert_eq!(int_param("n=007", "n", 30, 40), Ok(7));
    }

    #[test]
    fn int_param_rejects_bad_input() {
        let integer = Err("n must be an integer".to_string());
        for query in [
            "n=", "n=abc", "n=1.5", "n=+5", "n=%20", "n=1e3", "n=-", "n=5_0",
        ] {
            assert_eq!(int_param(query, "n", 30, 40), integer, "{query}");
        }
        let negative = Err("n must not be negative".to_string());
        assert_eq!(int_param("n=-1", "n", 30, 40), negative);
        assert_eq!(
            int_param("n=-99999999999999999999999", "n", 30, 40),
            negative
        );
        let above = Err("n must be at most 40".to_string());
        assert_eq!(int_param("n=41", "n", 30, 40), above);
        assert_eq!(int_param("n=99999999999999999999999", "n", 30, 40), above);
    }

    #[test]
    fn count_primes_known_values() {
        let cases = [
            (0, 0),
            (1, 0),
            (2, 1),
            (10, 4),
            (1000, 168),
            (50_000, 5133),
            (100_000, 9592),
        ];
        for (n, want) in cases {
            assert_eq!(count_primes(n), want, "n={n}");
        }
    }

    #[test]
    fn fib_known_values() {
        assert_eq!([0, 1, 2, 10, 30].map(fib), [0, 1, 1, 55, 832_040]);
    }

    #[test]
    fn hash_rounds_known_values() {
        assert_eq!(hash_rounds(0), "706f646d65746572");
        assert_eq!(
            hash_rounds(1),
            "872ab7218062ce81f4c2e32ab0001feb6ca5bacdfa4890efbdbe32b63c62219c"
        );
        assert_eq!(
            hash_rounds(100),
            "48b7ea6cf032b27fa89f25799ef806d355600794dfff36c80f3c102ac5d66fb4"
        );
    }

    #[test]
    fn payload_items() {
        assert!(payload(0).is_empty());
        let items = payload(3);
        assert_eq!(items.len(), 3);
        assert_eq!(
            serde_json::to_string(&items[2]).ok(),
            Some(r#"{"id":2,"name":"item-2","value":5831,"tags":["tag-2","group-2"]}"#.into())
        );
    }

    #[test]
    fn snowflake_is_unique_and_increasing() {
        let ids = Snowflake::new(5);
        let t = SNOWFLAKE_EPOCH_MS + 1000;
        let first = ids.next(t);
        assert_eq!(first, 1000 << 22 | 5 << 12);
        let mut prev = first;
        for _ in 0..10_000 {
            let id = ids.next(t); // same millisecond: sequence, then borrowing
            assert!(id > prev);
            prev = id;
        }
        assert!(ids.next(t - 500) > prev, "clock going back");
    }
}
