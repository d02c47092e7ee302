//! Call-group coverage: one `GroupMonitor::evaluate` over 500 groups (queues and ring groups,
//! staffed, unstaffed and empty; 50 with business hours of their own), in steady state.

use chrono::{TimeZone, Utc, Weekday};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pbx_core::groups::{CallGroup, GroupKind, GroupMember, GroupMonitor, MonitorState};
use pbx_core::hours::{BusinessHours, Holiday};
use std::hint::black_box;

fn groups(n: usize) -> Vec<CallGroup> {
    (0..n)
        .map(|g| CallGroup {
            id: (800 + g).to_string(),
            name: format!("Group {g}"),
            kind: if g % 3 == 0 {
                GroupKind::RingGroup
            } else {
                GroupKind::Queue
            },
            // Every 10th group is empty; of the rest, every 4th has nobody available.
            members: if g % 10 == 0 {
                Vec::new()
            } else {
                (0..1 + g % 8)
                    .map(|m| GroupMember {
                        extension: (1000 + 8 * g + m).to_string(),
                        name: Some(format!("Agent {m}")),
                        available: g % 4 != 1 && m % 2 == 0,
                    })
                    .collect()
            },
        })
        .collect()
}

fn hours(tz: chrono_tz::Tz) -> BusinessHours {
    let i = |s: &str| s.parse().expect("an interval");
    BusinessHours::weekdays(tz, i("08:00-18:00"))
        .with_day(Weekday::Sat, vec![i("09:00-13:00")])
        .with_holiday(Holiday::yearly("Christmas", 12, 25))
        .with_holiday(Holiday::yearly("New Year", 1, 1))
}

fn bench(c: &mut Criterion) {
    let groups = groups(500);
    let own_hours = groups
        .iter()
        .step_by(10)
        .map(|g| (g.id.clone(), hours(chrono_tz::Europe::Stockholm)))
        .collect();
    let monitor =
        GroupMonitor::new(hours(chrono_tz::America::Anchorage)).with_group_hours(own_hours);
    // Tuesday 2026-11-24 10:00 in Anchorage: open there, and in Stockholm (20:00) closed.
    let now = Utc
        .with_ymd_and_hms(2026, 11, 24, 19, 0, 0)
        .single()
        .expect("an instant");
    let mut state = MonitorState::default();
    for _ in 0..3 {
        monitor.evaluate(now, &groups, &mut state); // past the debounce: alerts open
    }
    let mut g = c.benchmark_group("groups");
    g.throughput(Throughput::Elements(groups.len() as u64));
    g.bench_function("evaluate/500", |b| {
        b.iter(|| black_box(monitor.evaluate(black_box(now), &groups, &mut state)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
