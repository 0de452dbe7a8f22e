//! One small stable sort for the engine's few sorts (palettes, shortlists, k-means points).
//!
//! Why not the standard library's: each `sort_by`/`sort_unstable_by` call site instantiates its
//! driftsort/ipnsort machinery anew, which cost the deployed module 32 KB for six call sites; this
//! merge sort costs well under 1 KB each. The sorted lengths here are at most a few thousand, where
//! the difference in speed does not show. Being stable, it gives exactly the order `sort_by` gives.

use std::cmp::Ordering;

/// Sorts `v` stably by `cmp` (a bottom-up merge sort over runs made by insertion sort).
pub(crate) fn sort_by<T: Copy>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    const RUN: usize = 16;
    let n = v.len();
    for start in (0..n).step_by(RUN) {
        let end = (start + RUN).min(n);
        for i in start + 1..end {
            let mut j = i;
            while j > start && cmp(&v[j - 1], &v[j]) == Ordering::Greater {
                v.swap(j - 1, j);
                j -= 1;
            }
        }
    }
    if n <= RUN {
        return;
    }
    // Merge runs from `src` into `dst`, then swap, until one run is left.
    let mut src: Vec<T> = v.to_vec();
    let mut dst: Vec<T> = v.to_vec();
    let mut width = RUN;
    while width < n {
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j, mut k) = (start, mid, start);
            while i < mid && j < end {
                // Taking from the left run on a tie keeps equal elements in order: stable.
                if cmp(&src[i], &src[j]) != Ordering::Greater {
                    dst[k] = src[i];
                    i += 1;
                } else {
                    dst[k] = src[j];
                    j += 1;
                }
                k += 1;
            }
            dst[k..k + (mid - i)].copy_from_slice(&src[i..mid]);
            k += mid - i;
            dst[k..k + (end - j)].copy_from_slice(&src[j..end]);
            start = end;
        }
        std::mem::swap(&mut src, &mut dst);
        width *= 2;
    }
    v.copy_from_slice(&src);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_the_standard_stable_sort() {
        for n in [0usize, 1, 2, 15, 16, 17, 31, 33, 100, 1000, 4097] {
            // Many equal keys, so stability shows.
            let v: Vec<(u32, usize)> = (0..n).map(|i| ((i * 7919 % 13) as u32, i)).collect();
            let mut ours = v.clone();
            sort_by(&mut ours, |a, b| a.0.cmp(&b.0));
            let mut std_sorted = v.clone();
            std_sorted.sort_by_key(|a| a.0);
            assert_eq!(ours, std_sorted, "n = {n}");
        }
    }
}
