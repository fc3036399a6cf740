//! Sorting without std's sort, which adds kilobytes of code for each element
//! and key type to a binary whose resident size tracks its file size: one
//! merge sort of indices, compared through a `dyn Fn`, serves every use.

/// The indices `0..n` in sorted order, stably: `in_order(a, b)` says whether
/// `a` may come before `b`. A bottom-up merge sort, O(n log n) comparisons.
pub fn merge_order(n: usize, in_order: &dyn Fn(usize, usize) -> bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut merged = order.clone();
    let mut width = 1;
    while width < n {
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut left, mut right) = (start, mid);
            for slot in &mut merged[start..end] {
                // Ties take the left run first: stable.
                if right == end || (left < mid && in_order(order[left], order[right])) {
                    *slot = order[left];
                    left += 1;
                } else {
                    *slot = order[right];
                    right += 1;
                }
            }
            start = end;
        }
        std::mem::swap(&mut order, &mut merged);
        width *= 2;
    }
    order
}

/// Rearranges `items` so that position `k` holds what was at `order[k]`
/// (`order` a permutation of the indices), in O(n) swaps.
pub fn permute<T>(items: &mut [T], order: &[usize]) {
    // Where the item now at each position must go.
    let mut dest = vec![0; order.len()];
    for (k, &from) in order.iter().enumerate() {
        dest[from] = k;
    }
    for i in 0..items.len() {
        // Each swap puts one item in its place for good.
        while dest[i] != i {
            let d = dest[i];
            items.swap(i, d);
            dest.swap(i, d);
        }
    }
}

/// The sorted position just past the last of `order` (as `merge_order`
/// returns it) whose key is not greater than the key looked for; `greater(i)`
/// says whether item `i`'s key is. O(log n).
pub fn upper_bound(order: &[usize], greater: &dyn Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, order.len());
    while low < high {
        let mid = low + (high - low) / 2;
        if greater(order[mid]) {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    low
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_permute_and_search() {
        let keys = [5, 3, 9, 3, 1, 5, 5];
        let order = merge_order(keys.len(), &|a, b| keys[a] <= keys[b]);
        // Stable: equal keys keep their order.
        assert_eq!(order, [4, 1, 3, 0, 5, 6, 2]);
        let mut items = keys;
        permute(&mut items, &order);
        assert_eq!(items, [1, 3, 3, 5, 5, 5, 9]);
        let past = |key: i32| upper_bound(&order, &|i| keys[i] > key);
        assert_eq!(
            (past(0), past(1), past(3), past(5), past(9)),
            (0, 1, 3, 6, 7)
        );
        assert!(merge_order(0, &|_, _| true).is_empty());
        assert_eq!(merge_order(1, &|_, _| true), [0]);
    }
}
