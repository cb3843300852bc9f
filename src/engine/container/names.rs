//! Container ids and generated names (`adjective_noun`, as Docker makes them; a number is
//! added once the plain pairs run short).

/// The first half of a generated name.
const ADJECTIVES: &[&str] = &[
    "brave", "calm", "eager", "fond", "gentle", "happy", "jolly", "keen", "lucid", "merry",
    "nimble", "proud", "quiet", "rapid", "sharp", "tender", "vivid", "witty", "young", "zealous",
];
/// The second half.
const NOUNS: &[&str] = &[
    "albatross",
    "badger",
    "crane",
    "dolphin",
    "eagle",
    "falcon",
    "gecko",
    "heron",
    "ibis",
    "jaguar",
    "koala",
    "lynx",
    "marten",
    "newt",
    "otter",
    "puffin",
    "quail",
    "raven",
    "stork",
    "tapir",
];

pub(super) use crate::util::random::{random_id, random_u64};

/// The name to try at `attempt` (0, 1, …) with random bits `r`: a plain pair first, then,
/// after a few pairs were taken, a pair with a number, so there is always a free one.
pub(super) fn generated(r: u64, attempt: u32) -> String {
    let pair = format!(
        "{}_{}",
        ADJECTIVES[(r % ADJECTIVES.len() as u64) as usize],
        NOUNS[((r >> 16) % NOUNS.len() as u64) as usize]
    );
    if attempt < 8 {
        pair
    } else {
        format!("{pair}{}", (r >> 32) % 10_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_digits() {
        let id = random_id();
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id, random_id());
    }

    #[test]
    fn names_are_pairs_and_get_a_number_when_pairs_run_short() {
        let first = generated(random_u64(), 0);
        let (adjective, noun) = first.split_once('_').unwrap();
        assert!(
            ADJECTIVES.contains(&adjective) && NOUNS.contains(&noun),
            "{first}"
        );
        let later = generated(random_u64(), 8);
        let digits = later.trim_start_matches(|c: char| !c.is_ascii_digit());
        assert!(!digits.is_empty() && digits.len() <= 4, "{later}");
        assert!(crate::model::parse::valid_name(&later), "{later}");
        // More names than there are pairs: every one can be made unique.
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..(ADJECTIVES.len() * NOUNS.len() + 50) {
            let mut attempt = 0;
            loop {
                let n = generated(random_u64(), attempt);
                if seen.insert(n) {
                    break;
                }
                attempt += 1;
                assert!(attempt < 1_000, "no free name after 1000 attempts");
            }
        }
    }
}
