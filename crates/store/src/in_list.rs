//! `IN (…)` lists of bind parameters cut into power-of-two chunks, so a
//! statement over any number of keys is one of a handful of distinct texts
//! (each prepared once per connection) and stays within the databases'
//! limits on bind parameters.

/// The largest power of two that is at most `n` (and at least 1).
fn floor_pow2(n: usize) -> usize {
    if n <= 1 {
        1
    } else {
        1 << (usize::BITS - 1 - n.leading_zeros())
    }
}

/// Cut `len` items into power-of-two chunks of at most `max`, largest first.
pub fn chunks(mut len: usize, max: usize) -> Vec<usize> {
    let max = floor_pow2(max.max(1));
    let mut out = Vec::new();
    while len > 0 {
        let n = floor_pow2(len).min(max);
        out.push(n);
        len -= n;
    }
    out
}

pub fn placeholders(first: usize, count: usize) -> String {
    let list: Vec<String> = (first..first + count).map(|i| format!("${i}")).collect();
    list.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_within_the_limit() {
        assert_eq!(chunks(0, 256), Vec::<usize>::new());
        assert_eq!(chunks(1, 256), vec![1]);
        assert_eq!(chunks(7, 256), vec![4, 2, 1]);
        assert_eq!(chunks(600, 256), vec![256, 256, 64, 16, 8]);
        assert_eq!(chunks(10, 3), vec![2, 2, 2, 2, 2]);
        for len in 0..1000 {
            let c = chunks(len, 100);
            assert_eq!(c.iter().sum::<usize>(), len);
            assert!(c.iter().all(|n| n.is_power_of_two() && *n <= 64));
        }
    }

    #[test]
    fn placeholders_count_from_the_first() {
        assert_eq!(placeholders(4, 3), "$4, $5, $6");
    }
}
