//! Snapshots of the matrix's renderings from a fixed run (`tests/fixtures/run.json`, a
//! subset of a real run with the machine details fixed), so a change to the tables shows up
//! in review.

use bench_matrix::{Run, render};

fn fixture() -> Run {
    serde_json::from_str(include_str!("fixtures/run.json")).expect("the fixture parses")
}

#[test]
fn matrix_markdown() {
    insta::assert_snapshot!(render::matrix_md(&fixture()));
}

#[test]
fn results_csv() {
    insta::assert_snapshot!(render::csv(&fixture()));
}

#[test]
fn crossover_markdown() {
    insta::assert_snapshot!(render::crossover_md(&fixture()));
}

#[test]
fn merge_keeps_machines_apart() {
    let a = fixture();
    let mut b = fixture();
    b.machines[0].label = "aarch64 (qemu-user)".into();
    b.machines[0].emulated = true;
    for r in &mut b.records {
        r.machine = "aarch64 (qemu-user)".into();
    }
    let merged = Run::merge([a.clone(), b, a.clone()]);
    assert_eq!(merged.machines.len(), 2);
    assert_eq!(merged.records.len(), 2 * a.records.len());
    let md = render::matrix_md(&merged);
    assert!(
        md.contains("## aarch64 (qemu-user)") && md.contains("emulated: not a hardware timing")
    );
}
