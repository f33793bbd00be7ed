//! A line diff in the unified format (`--- a`, `+++ b`, `@@ -1,3 +1,3 @@`, ` `/`-`/`+` lines).

/// One step of an edit script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Removed,
    Added,
}

/// Longest-common-subsequence tables above this many cells are not built; the differing middle is shown as
/// removed then added instead.
const MAX_TABLE: usize = 4_000_000;

/// The edit script turning `a` into `b`, as (op, index into a or b).
fn script(a: &[String], b: &[String]) -> Vec<(Op, usize)> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a_mid, b_mid) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut ops: Vec<(Op, usize)> = (0..prefix).map(|i| (Op::Same, i)).collect();
    let (n, m) = (a_mid.len(), b_mid.len());
    if n.saturating_mul(m) > MAX_TABLE {
        ops.extend((0..n).map(|i| (Op::Removed, prefix + i)));
        ops.extend((0..m).map(|j| (Op::Added, prefix + j)));
    } else {
        // lcs[i][j]: length of the LCS of a_mid[i..] and b_mid[j..], in one flat vector.
        let width = m + 1;
        let mut lcs = vec![0u32; (n + 1) * width];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * width + j] = if a_mid[i] == b_mid[j] {
                    lcs[(i + 1) * width + j + 1] + 1
                } else {
                    lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && a_mid[i] == b_mid[j] {
                ops.push((Op::Same, prefix + i));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
                // Removals first, as diff(1) shows them.
                ops.push((Op::Removed, prefix + i));
                i += 1;
            } else {
                ops.push((Op::Added, prefix + j));
                j += 1;
            }
        }
    }
    let a_tail = a.len() - suffix;
    ops.extend((0..suffix).map(|k| (Op::Same, a_tail + k)));
    ops
}

/// The unified diff of `a` and `b` with `context` unchanged lines around each change; `None` when equal.
pub fn unified(
    a: &[String],
    b: &[String],
    a_name: &str,
    b_name: &str,
    context: usize,
) -> Option<String> {
    if a == b {
        return None;
    }
    let ops = script(a, b);
    // Positions in a and b before each op, to number hunks.
    let mut positions = Vec::with_capacity(ops.len());
    let (mut ai, mut bi) = (0usize, 0usize);
    for (op, _) in &ops {
        positions.push((ai, bi));
        match op {
            Op::Same => {
                ai += 1;
                bi += 1;
            }
            Op::Removed => ai += 1,
            Op::Added => bi += 1,
        }
    }
    let changed: Vec<usize> = (0..ops.len()).filter(|k| ops[*k].0 != Op::Same).collect();
    let mut out = format!("--- {a_name}\n+++ {b_name}\n");
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(context);
        let mut last = changed[k];
        while k + 1 < changed.len() && changed[k + 1] <= last + 2 * context + 1 {
            k += 1;
            last = changed[k];
        }
        let end = (last + context + 1).min(ops.len());
        let hunk = &ops[start..end];
        let a_len = hunk.iter().filter(|(op, _)| *op != Op::Added).count();
        let b_len = hunk.iter().filter(|(op, _)| *op != Op::Removed).count();
        let (a_start, b_start) = positions[start];
        let number = |from: usize, len: usize| if len == 0 { from } else { from + 1 };
        out.push_str(&format!(
            "@@ -{},{a_len} +{},{b_len} @@\n",
            number(a_start, a_len),
            number(b_start, b_len)
        ));
        for (op, index) in hunk {
            let (mark, line) = match op {
                Op::Same => (' ', &a[*index]),
                Op::Removed => ('-', &a[*index]),
                Op::Added => ('+', &b[*index]),
            };
            out.push(mark);
            out.push_str(line);
            out.push('\n');
        }
        k += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn equal_sequences_have_no_diff() {
        assert_eq!(unified(&lines("a b"), &lines("a b"), "A", "B", 3), None);
    }

    #[test]
    fn a_changed_line_with_context() {
        let diff = unified(
            &lines("1 2 3 4 5 6 7 8 9"),
            &lines("1 2 3 4 X 6 7 8 9"),
            "A",
            "B",
            2,
        );
        assert_eq!(
            diff.as_deref(),
            Some("--- A\n+++ B\n@@ -3,5 +3,5 @@\n 3\n 4\n-5\n+X\n 6\n 7\n")
        );
    }

    #[test]
    fn separate_changes_make_separate_hunks() {
        let diff = unified(
            &lines("a 1 2 3 4 5 6 7 8 b"),
            &lines("1 2 3 4 5 6 7 8 c"),
            "A",
            "B",
            1,
        )
        .unwrap_or_default();
        assert_eq!(
            diff,
            "--- A\n+++ B\n@@ -1,2 +1,1 @@\n-a\n 1\n@@ -9,2 +8,2 @@\n 8\n-b\n+c\n"
        );
    }

    #[test]
    fn insertions_into_empty() {
        let diff = unified(&[], &lines("x y"), "A", "B", 3).unwrap_or_default();
        assert_eq!(diff, "--- A\n+++ B\n@@ -0,0 +1,2 @@\n+x\n+y\n");
    }
}
