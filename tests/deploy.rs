//! Sweeps beyond one machine (deploy/): N shards cover a seed range exactly
//! once, the Slurm array and the Kubernetes Indexed Job agree with their
//! own shard counts, the Slurm script runs as a task would, and shard files
//! merge into one report and one comparison (a shard given twice counts
//! once).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn halab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_halab"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// (scenario, seed) of every record in `file`.
fn seeds_in(file: &Path) -> Vec<(String, u64)> {
    std::fs::read_to_string(file)
        .expect("records")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            (
                v["scenario"].as_str().expect("scenario").to_string(),
                v["seed"].as_u64().expect("seed"),
            )
        })
        .collect()
}

#[test]
fn the_manifests_agree_with_their_shard_counts() {
    let k8s = std::fs::read_to_string("deploy/k8s-indexed-job.yaml").expect("manifest");
    assert!(k8s.contains("completionMode: Indexed"));
    assert!(k8s.contains("completions: 8") && k8s.contains("--shard ${JOB_COMPLETION_INDEX}/8"));
    assert!(k8s.contains("--resume"));
    let slurm = std::fs::read_to_string("deploy/slurm-sweep.sh").expect("script");
    assert!(slurm.contains("#SBATCH --array=0-7") && slurm.contains("\nN=8\n"));
    assert!(slurm.contains("--shard \"${SLURM_ARRAY_TASK_ID}/$N\"") && slurm.contains("--resume"));
}

#[test]
fn shards_run_by_the_slurm_script_cover_the_range_once_and_merge() {
    let dir = tmp("deploy-slurm");
    let script = std::fs::canonicalize("deploy/slurm-sweep.sh").expect("script");
    let n = 8;
    for i in 0..n {
        let o = Command::new("bash")
            .arg(&script)
            .current_dir(&dir)
            .env("HALAB", env!("CARGO_BIN_EXE_halab"))
            .env("SCENARIOS", "tm-crash steady")
            .env("SEEDS", "1..20")
            .env("SLURM_ARRAY_TASK_ID", i.to_string())
            .env("SLURM_CPUS_PER_TASK", "1")
            .output()
            .expect("bash runs");
        assert_eq!(o.status.code(), Some(0), "task {i}: {}", text(&o));
    }
    let shards: Vec<PathBuf> = (0..n).map(|i| dir.join(format!("results/shard-{i}.jsonl"))).collect();
    let mut count: BTreeMap<(String, u64), usize> = BTreeMap::new();
    for s in &shards {
        for key in seeds_in(s) {
            *count.entry(key).or_default() += 1;
        }
    }
    assert_eq!(count.len(), 2 * 20, "every (scenario, seed) of the range");
    assert!(count.values().all(|c| *c == 1), "each exactly once: {count:?}");

    // Merged: one report of all shards, and the side-by-side table.
    let names: Vec<&str> = shards.iter().map(|p| p.to_str().expect("utf-8")).collect();
    let out = dir.join("report");
    let mut args = vec!["report", "--out", out.to_str().expect("utf-8"), "--from"];
    args.extend(&names);
    let o = halab(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(seeds_in(&out.join("records.jsonl")).len(), 40);
    let mut args = vec!["compare", "merged", "--from"];
    args.extend(&names);
    let o = halab(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("2 scenarios, 40 records from 8 file(s)"), "{t}");
    assert!(
        t.lines().any(|l| l.starts_with("tm-crash ") && l.contains("20/20")),
        "{t}"
    );

    // A shard given twice repeats its runs: the repeats are dropped, with a
    // note naming both places.
    let again = dir.join("report-again");
    let mut args = vec!["report", "--out", again.to_str().expect("utf-8"), "--from", names[3]];
    args.extend(&names[3..5]);
    let o = halab(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let repeated = seeds_in(&shards[3]).len();
    assert!(
        text(&o).contains(&format!("dropped {repeated} duplicate record(s)")),
        "{}",
        text(&o)
    );
    assert_eq!(
        seeds_in(&again.join("records.jsonl")).len(),
        repeated + seeds_in(&shards[4]).len()
    );
    // Rendering the one shard into the merged report would drop the
    // others' records: refused.
    let o = halab(&["report", "--out", out.to_str().expect("utf-8"), "--from", names[3]]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("that the new records lack"), "{}", text(&o));
}
