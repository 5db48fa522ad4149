//! Text renderings of plans and differences.

use std::fmt::Write;

use iot_crr_model::{Action, Counts, Kind, Plan};

/// `12 things, 3 thing groups, ...` (non-zero kinds only).
pub fn counts_line(c: &Counts) -> String {
    let parts: Vec<String> = Kind::ALL
        .iter()
        .filter(|k| c.get(**k) > 0)
        .map(|k| match c.get(*k) {
            1 => format!("1 {}", k.noun()),
            n => format!("{n} {}", plural(*k)),
        })
        .collect();
    if parts.is_empty() {
        "empty".into()
    } else {
        parts.join(", ")
    }
}

fn plural(k: Kind) -> &'static str {
    k.plural()
}

fn sign(a: Action) -> char {
    match a {
        Action::Create => '+',
        Action::Update => '~',
        Action::Delete => '-',
    }
}

/// The plan as a table of counts by kind, then the changes, then warnings.
pub fn plan_text(plan: &Plan, max_lines: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Plan: {} -> {}", plan.source, plan.target);
    let _ = writeln!(s, "  source: {}", counts_line(&plan.desired_counts));
    let _ = writeln!(s, "  target: {}", counts_line(&plan.target_counts));
    if plan.options.prune {
        let _ = writeln!(s, "  prune: deletes what only the target has");
    }
    if let Some(r) = &plan.options.rewrite {
        let _ = writeln!(
            s,
            "  ARNs rewritten: {}/{} -> {}/{}",
            r.from_region.as_deref().unwrap_or("*"),
            r.from_account.as_deref().unwrap_or("*"),
            r.to_region.as_deref().unwrap_or("*"),
            r.to_account.as_deref().unwrap_or("*"),
        );
    }
    if plan.is_empty() {
        let _ = writeln!(s, "\nNo changes: the target is up to date.");
    } else {
        // Columns: resources created, updated, deleted; relations (memberships,
        // attachments, tags) added and removed.
        let column = |c: &iot_crr_model::Change| match (c.is_relation(), c.action()) {
            (false, Action::Create) => 0,
            (false, Action::Update) => 1,
            (false, Action::Delete) => 2,
            (true, Action::Delete) => 4,
            (true, _) => 3,
        };
        let mut table: Vec<(Kind, [usize; 5])> = Kind::ALL.iter().map(|k| (*k, [0; 5])).collect();
        for c in &plan.changes {
            let kind = c.change.key().kind;
            if let Some(row) = table.iter_mut().find(|(k, _)| *k == kind) {
                row.1[column(&c.change)] += 1;
            }
        }
        let header = ["create", "update", "delete", "link", "unlink"];
        let shown = || table.iter().filter(|(_, r)| r.iter().any(|n| *n > 0));
        // 14 fits the registry's kinds; longer names (the account settings) widen it.
        let w = shown()
            .map(|(k, _)| k.as_str().len())
            .max()
            .unwrap_or(0)
            .max(14);
        let _ = write!(s, "\n  {:<w$}", "kind");
        for h in header {
            let _ = write!(s, " {h:>9}");
        }
        let _ = writeln!(s);
        let mut totals = [0usize; 5];
        for (k, row) in shown() {
            let _ = write!(s, "  {:<w$}", k.as_str());
            for (i, n) in row.iter().enumerate() {
                totals[i] += n;
                let _ = write!(s, " {n:>9}");
            }
            let _ = writeln!(s);
        }
        let _ = write!(s, "  {:<w$}", "total");
        for n in totals {
            let _ = write!(s, " {n:>9}");
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "  (link/unlink: group and billing-group memberships, policy and principal \
             attachments, tags, counted on the thing or the policy's target)"
        );
        let _ = writeln!(
            s,
            "\n{} change(s) in dependency order ({} stages):",
            plan.changes.len(),
            {
                let mut st: Vec<u32> = plan.changes.iter().map(|c| c.stage).collect();
                st.dedup();
                st.len()
            }
        );
        let limit = if max_lines == 0 {
            usize::MAX
        } else {
            max_lines
        };
        for c in plan.changes.iter().take(limit) {
            let _ = writeln!(s, "  {} {}", sign(c.change.action()), c.change);
        }
        if plan.changes.len() > limit {
            let _ = writeln!(
                s,
                "  ... and {} more (--max-lines 0 lists all; --format json or --output gives the full plan)",
                plan.changes.len() - limit
            );
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(s, "\nWarnings:");
        for w in &plan.warnings {
            let _ = writeln!(s, "  ! {w}");
        }
    }
    s
}

/// The differences between source and target, one a line.
pub fn verify_text(plan: &Plan) -> String {
    let mut s = String::new();
    let compared = plan.desired_counts.total().max(plan.target_counts.total());
    if plan.is_empty() {
        let _ = writeln!(
            s,
            "equal: {} and {} match ({} source resources compared: {})",
            plan.source,
            plan.target,
            plan.desired_counts.total(),
            counts_line(&plan.desired_counts)
        );
    } else {
        let _ = writeln!(
            s,
            "different: {} change(s) would make {} equal to {} ({} resources compared):",
            plan.changes.len(),
            plan.target,
            plan.source,
            compared
        );
        for c in &plan.changes {
            let _ = writeln!(
                s,
                "  {} {}: {}",
                sign(c.change.action()),
                c.change.key(),
                c.change
            );
        }
    }
    for w in &plan.warnings {
        let _ = writeln!(s, "  ! {w}");
    }
    s
}

/// A duration in seconds for a person: `42.0 s`, `12 min 05 s`, `27 h 46 min`.
pub fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let s = seconds.round() as u64;
    if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, (s / 60) % 60)
    }
}

#[cfg(test)]
mod duration_tests {
    #[test]
    fn durations_read_well() {
        assert_eq!(super::duration(4.25), "4.2 s");
        assert_eq!(super::duration(725.0), "12 min 05 s");
        assert_eq!(super::duration(100_000.0), "27 h 46 min");
    }
}
