//! Tidy: the conventions of ARCHITECTURE.md, held by `cargo test` (after
//! TigerBeetle's `tidy.zig` and rust-analyzer's tidy test).
//!
//! Every `.rs` file of the workspace opens with a module doc (`//!` or
//! `#![doc]`), and no test is `#[ignore]`d. Library code (each crate's
//! `src/`, less `#[cfg(test)]` items and modules) has no `unwrap()`, no
//! `expect` whose message does not start with "invariant:" (anything else
//! is a handled error, not an `expect`), and no `select!` without
//! `biased;` (an unbiased select draws from a random source, which would
//! make the simulation depend on it). The simulation's crates (`engine`,
//! `sim`) read no wall clock and no thread-local random source outside
//! madsim's.
//!
//! Functions longer than [`MAX_FN_LINES`] are listed in
//! `tests/tidy/long_functions.txt`. The list is a ratchet: a function that
//! grows past the limit fails the test, and so does a listed one that is no
//! longer long (take it off the list).
//!
//! Each rule is a pure function of a file's text, shown failing on a slip
//! in the unit tests at the end.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// TigerBeetle's limit.
const MAX_FN_LINES: usize = 70;

/// Every crate's library code.
const LIBRARY_DIRS: [&str; 5] = ["src", "engine/src", "sim/src", "scenarios/src", "reports/src"];

/// All Rust sources of the workspace.
const ALL_DIRS: [&str; 8] = [
    "src",
    "engine/src",
    "sim/src",
    "scenarios/src",
    "reports/src",
    "tests",
    "benches",
    "examples",
];

/// The crates that run inside the simulation.
const SIMULATED_DIRS: [&str; 2] = ["engine/src", "sim/src"];

const LONG_FUNCTIONS: &str = "tests/tidy/long_functions.txt";

/// One broken rule, where.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Slip {
    file: String,
    line: usize,
    rule: &'static str,
    detail: String,
}

impl fmt::Display for Slip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: {}", self.file, self.line, self.rule, self.detail)
    }
}

fn slip(file: &str, line: usize, rule: &'static str, detail: impl Into<String>) -> Slip {
    Slip {
        file: file.to_string(),
        line,
        rule,
        detail: detail.into(),
    }
}

/// The file opens with a module doc.
fn check_module_doc(file: &str, text: &str) -> Vec<Slip> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if first.starts_with("//!") || first.starts_with("#![doc") {
        Vec::new()
    } else {
        vec![slip(file, 1, "module-doc", "the file opens without a `//!` module doc")]
    }
}

/// No `#[ignore]`: a test runs or is deleted.
fn check_no_ignore(file: &str, text: &str) -> Vec<Slip> {
    lines_matching(text, |l| l.trim_start().starts_with("#[ignore"))
        .map(|n| slip(file, n, "ignore", "a test is #[ignore]d"))
        .collect()
}

/// No wall clock and no thread-local random source outside madsim's.
fn check_simulated(file: &str, text: &str) -> Vec<Slip> {
    let banned = ["std::time::Instant", "std::time::SystemTime", "SystemTime::now"];
    let mut out = Vec::new();
    for n in lines_matching(text, |l| !l.trim_start().starts_with("//")) {
        let line = text.lines().nth(n - 1).unwrap_or("");
        for b in banned {
            if line.contains(b) {
                out.push(slip(file, n, "wall-clock", format!("`{b}` inside the simulation")));
            }
        }
        if line.replace("madsim::rand::thread_rng", "").contains("thread_rng") {
            out.push(slip(file, n, "thread-rng", "a random source outside madsim's"));
        }
    }
    out
}

fn lines_matching<'a>(text: &'a str, f: impl Fn(&str) -> bool + 'a) -> impl Iterator<Item = usize> + 'a {
    text.lines().enumerate().filter(move |(_, l)| f(l)).map(|(i, _)| i + 1)
}

/// What the syntax tree of a library file holds that the rules look at.
#[derive(Default)]
struct LibraryScan {
    /// `unwrap()` calls, by line.
    unwraps: Vec<usize>,
    /// `expect(..)` calls whose message is not an "invariant:" literal.
    expects: Vec<(usize, String)>,
    /// `select!` without `biased;`, by line.
    unbiased_selects: Vec<usize>,
    /// Functions over the limit: (line, qualified name, lines).
    long_fns: Vec<(usize, String, usize)>,
    /// Module files declared under `#[cfg(test)]` (`mod name;`).
    test_modules: Vec<String>,
    /// Line ranges of `#[cfg(test)]` items.
    test_lines: Vec<(usize, usize)>,
    /// `assert!`, `assert_eq!` and `assert_ne!` outside test code.
    asserts: usize,
    /// The impl or trait the visitor is in.
    owner: Vec<String>,
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && {
            let tokens = a.meta.require_list().map(|l| l.tokens.to_string()).unwrap_or_default();
            tokens == "test" || tokens.starts_with("all (test") || tokens.starts_with("any (test")
        }
    })
}

fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default(),
        _ => "_".to_string(),
    }
}

impl LibraryScan {
    fn function(&mut self, name: &syn::Ident, start: usize, block: &syn::Block) {
        use syn::spanned::Spanned;
        let end = block.span().end().line;
        let lines = end + 1 - start;
        if lines > MAX_FN_LINES {
            let mut qualified = self.owner.clone();
            qualified.push(name.to_string());
            self.long_fns.push((start, qualified.join("::"), lines));
        }
    }
}

impl<'ast> Visit<'ast> for LibraryScan {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Fn(i) => &i.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Mod(i) => &i.attrs,
            syn::Item::Const(i) => &i.attrs,
            syn::Item::Static(i) => &i.attrs,
            syn::Item::Struct(i) => &i.attrs,
            syn::Item::Enum(i) => &i.attrs,
            syn::Item::Trait(i) => &i.attrs,
            syn::Item::Use(i) => &i.attrs,
            syn::Item::Macro(i) => &i.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if !is_cfg_test(attrs) {
            return syn::visit::visit_item(self, item);
        }
        if let syn::Item::Mod(m) = item {
            if m.content.is_none() {
                self.test_modules.push(m.ident.to_string());
            }
        }
        use syn::spanned::Spanned;
        let start = attrs.first().map(|a| a.span().start().line).unwrap_or(1);
        self.test_lines.push((start, item.span().end().line));
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.function(&f.sig.ident, f.sig.fn_token.span.start().line, &f.block);
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if is_cfg_test(&f.attrs) {
            return;
        }
        self.function(&f.sig.ident, f.sig.fn_token.span.start().line, &f.block);
        syn::visit::visit_impl_item_fn(self, f);
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(block) = &f.default {
            self.function(&f.sig.ident, f.sig.fn_token.span.start().line, block);
        }
        syn::visit::visit_trait_item_fn(self, f);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        self.owner.push(type_name(&i.self_ty));
        syn::visit::visit_item_impl(self, i);
        self.owner.pop();
    }

    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        self.owner.push(t.ident.to_string());
        syn::visit::visit_item_trait(self, t);
        self.owner.pop();
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.owner.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.owner.pop();
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let line = call.method.span().start().line;
        match call.method.to_string().as_str() {
            "unwrap" if call.args.is_empty() => self.unwraps.push(line),
            "expect" if call.args.len() == 1 => {
                let message = match &call.args[0] {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s), ..
                    }) => s.value(),
                    _ => String::new(),
                };
                if !message.starts_with("invariant:") {
                    self.expects.push((line, message));
                }
            }
            _ => {}
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        if matches!(name.as_str(), "assert" | "assert_eq" | "assert_ne") {
            self.asserts += 1;
        }
        let is_select = name == "select";
        let biased = mac.tokens.to_string().trim_start().starts_with("biased ;");
        if is_select && !biased {
            self.unbiased_selects
                .push(mac.path.segments[0].ident.span().start().line);
        }
        // Macro bodies are tokens, not syntax; the statements of a
        // `select!` arm or a `format!` argument are not visited.
        syn::visit::visit_macro(self, mac);
    }
}

fn scan_library(file: &str, text: &str) -> Result<LibraryScan, String> {
    let ast = syn::parse_file(text).map_err(|e| format!("{file}: {e}"))?;
    let mut scan = LibraryScan::default();
    scan.visit_file(&ast);
    Ok(scan)
}

/// Functions over the limit: (`file::Owner::name`, lines).
type LongFunctions = Vec<(String, usize)>;

/// The rules on library code, and the functions over the limit.
fn check_library(file: &str, text: &str) -> Result<(Vec<Slip>, LongFunctions), String> {
    Ok(slips_of(file, &scan_library(file, text)?))
}

/// [`check_library`] on a file already scanned.
fn slips_of(file: &str, scan: &LibraryScan) -> (Vec<Slip>, LongFunctions) {
    let mut slips = Vec::new();
    for &n in &scan.unwraps {
        slips.push(slip(
            file,
            n,
            "unwrap",
            "`unwrap()` in library code; handle the error or `expect(\"invariant: ...\")`",
        ));
    }
    for (n, message) in &scan.expects {
        slips.push(slip(
            file,
            *n,
            "expect",
            format!("`expect({message:?})` does not state an invariant (\"invariant: ...\")"),
        ));
    }
    for &n in &scan.unbiased_selects {
        slips.push(slip(file, n, "select", "`select!` without `biased;`"));
    }
    let long = scan
        .long_fns
        .iter()
        .map(|(_, name, lines)| (format!("{file}::{name}"), *lines))
        .collect();
    (slips, long)
}

/// Every `.rs` file under `dir`, sorted, as paths relative to the root.
fn rust_files(root: &Path, dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(root).expect("under the root");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

/// The module files `mod name;` under `#[cfg(test)]` in `file` refer to.
fn test_module_files(file: &str, names: &[String]) -> Vec<String> {
    let path = PathBuf::from(file);
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let parent = path
        .parent()
        .map(|p| p.to_string_lossy().to_string())
        .unwrap_or_default();
    let dir = if matches!(stem, "mod" | "lib" | "main") {
        parent
    } else {
        format!("{parent}/{stem}")
    };
    names
        .iter()
        .flat_map(|n| [format!("{dir}/{n}.rs"), format!("{dir}/{n}/mod.rs")])
        .collect()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(root: &Path, file: &str) -> String {
    std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn every_file_has_a_module_doc_and_no_test_is_ignored() {
    let root = root();
    let mut slips = Vec::new();
    for dir in ALL_DIRS {
        for file in rust_files(&root, dir) {
            if file == "tests/tidy.rs" {
                // Its rules and examples name what they look for.
                continue;
            }
            let text = read(&root, &file);
            slips.extend(check_module_doc(&file, &text));
            slips.extend(check_no_ignore(&file, &text));
        }
    }
    assert_no_slips(&slips);
}

#[test]
fn the_simulation_reads_no_wall_clock_and_no_foreign_randomness() {
    let root = root();
    let mut slips = Vec::new();
    for dir in SIMULATED_DIRS {
        for file in rust_files(&root, dir) {
            slips.extend(check_simulated(&file, &read(&root, &file)));
        }
    }
    assert_no_slips(&slips);
}

#[test]
fn library_code_keeps_the_conventions_and_the_long_function_list_only_shrinks() {
    let root = root();
    let mut slips = Vec::new();
    let mut long = BTreeSet::new();
    for dir in LIBRARY_DIRS {
        for (file, _, scan) in library_files(&root, dir) {
            let (s, l) = slips_of(&file, &scan);
            slips.extend(s);
            long.extend(l.into_iter().map(|(name, _)| name));
        }
    }
    assert_no_slips(&slips);

    let listed: BTreeSet<String> = read(&root, LONG_FUNCTIONS)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    let new: Vec<_> = long.difference(&listed).collect();
    let gone: Vec<_> = listed.difference(&long).collect();
    assert!(
        new.is_empty(),
        "functions over {MAX_FN_LINES} lines: split them (the list in {LONG_FUNCTIONS} may only shrink):\n{new:#?}"
    );
    assert!(
        gone.is_empty(),
        "no longer over {MAX_FN_LINES} lines (or renamed): take them off {LONG_FUNCTIONS}:\n{gone:#?}"
    );
}

/// Lines of code (not blank, not only a comment) outside test code.
fn code_lines(text: &str, test_lines: &[(usize, usize)]) -> usize {
    text.lines()
        .enumerate()
        .filter(|(i, _)| !test_lines.iter().any(|&(a, b)| (a..=b).contains(&(i + 1))))
        .map(|(_, l)| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .count()
}

/// Assertions (that run in every build) and lines of code in the library
/// files under `dir`, test code left out.
fn assertion_density(root: &Path, dir: &str) -> (usize, usize) {
    library_files(root, dir).iter().fold((0, 0), |(a, l), (_, text, scan)| {
        (a + scan.asserts, l + code_lines(text, &scan.test_lines))
    })
}

/// The library files under `dir` with their text and scan, less the
/// test-only module files (a parent's `#[cfg(test)] mod x;`, and their
/// children).
fn library_files(root: &Path, dir: &str) -> Vec<(String, String, LibraryScan)> {
    let mut test_only = BTreeSet::new();
    let mut scans = Vec::new();
    for file in rust_files(root, dir) {
        let text = read(root, &file);
        let scan = scan_library(&file, &text).unwrap_or_else(|e| panic!("{e}"));
        test_only.extend(test_module_files(&file, &scan.test_modules));
        scans.push((file, text, scan));
    }
    scans.retain(|(f, _, _)| !is_under(f, &test_only));
    scans
}

/// Assertions per 1,000 lines of code may not fall below these floors
/// (issue 17 asks for 30 in the engine and at least as many in the
/// JobManager; raise a floor as assertions are added, never lower it).
const DENSITY_FLOORS: [(&str, f64); 2] = [("engine/src", 33.0), ("engine/src/process/jobmanager", 40.0)];

#[test]
fn assertion_density_does_not_fall() {
    let root = root();
    let density = |dir| {
        let (asserts, lines) = assertion_density(&root, dir);
        asserts as f64 / lines as f64
    };
    assert!(
        density("engine/src/process/jobmanager") >= density("engine/src"),
        "the JobManager asserts at least as densely as the engine as a whole"
    );
    for (dir, floor) in DENSITY_FLOORS {
        let (asserts, lines) = assertion_density(&root, dir);
        let density = asserts as f64 * 1000.0 / lines as f64;
        println!("{dir}: {asserts} assertions in {lines} lines of code: {density:.1} per 1,000");
        if std::env::var_os("HALAB_DENSITY_BY_FILE").is_some() {
            for (file, text, scan) in library_files(&root, dir) {
                let lines = code_lines(&text, &scan.test_lines);
                println!("  {file}: {} in {lines}", scan.asserts);
            }
        }
        assert!(
            density >= floor,
            "{dir}: {density:.1} assertions per 1,000 lines, below the floor {floor}"
        );
    }
}

fn is_under(file: &str, test_only: &BTreeSet<String>) -> bool {
    test_only.iter().any(|t| {
        file == t
            || t.strip_suffix("/mod.rs")
                .or(t.strip_suffix(".rs"))
                .is_some_and(|dir| file.starts_with(&format!("{dir}/")))
    })
}

fn assert_no_slips(slips: &[Slip]) {
    let text: Vec<String> = slips.iter().map(Slip::to_string).collect();
    assert!(slips.is_empty(), "{} slip(s):\n{}", slips.len(), text.join("\n"));
}

// Each rule, shown failing on a scratch slip and passing on the fix.
mod rules {
    use super::*;

    fn rules_hit(text: &str) -> Vec<&'static str> {
        let (slips, long) = check_library("x.rs", text).expect("parses");
        let mut rules: Vec<_> = slips.iter().map(|s| s.rule).collect();
        rules.extend(long.iter().map(|_| "long-fn"));
        rules
    }

    #[test]
    fn module_doc() {
        assert_eq!(check_module_doc("x.rs", "\n//! Doc.\nfn f() {}").len(), 0);
        assert_eq!(check_module_doc("x.rs", "#![doc = include_str!(\"a.md\")]").len(), 0);
        let s = check_module_doc("x.rs", "/// Item doc.\nfn f() {}");
        assert_eq!(
            s[0].to_string(),
            "x.rs:1: module-doc: the file opens without a `//!` module doc"
        );
    }

    #[test]
    fn ignore() {
        let s = check_no_ignore("x.rs", "#[test]\n#[ignore]\nfn t() {}");
        assert_eq!((s.len(), s[0].line), (1, 2));
        assert!(check_no_ignore("x.rs", "#[test]\nfn t() {}").is_empty());
    }

    #[test]
    fn unwrap_and_expect() {
        assert_eq!(rules_hit("fn f(x: Option<u8>) -> u8 { x.unwrap() }"), ["unwrap"]);
        assert_eq!(
            rules_hit("fn f(x: Option<u8>) -> u8 { x.expect(\"there\") }"),
            ["expect"]
        );
        assert_eq!(rules_hit("fn f(x: Option<u8>) -> u8 { x.expect(&msg()) }"), ["expect"]);
        assert!(rules_hit("fn f(x: Option<u8>) -> u8 { x.expect(\"invariant: set by g\") }").is_empty());
        assert!(rules_hit("fn f(x: Option<u8>) -> u8 { x.unwrap_or(0) }").is_empty());
        // Test code may unwrap.
        assert!(rules_hit("#[cfg(test)]\nmod tests { fn f(x: Option<u8>) -> u8 { x.unwrap() } }").is_empty());
        assert!(rules_hit("#[cfg(test)]\nfn f(x: Option<u8>) -> u8 { x.unwrap() }").is_empty());
        let (_, _) = check_library("x.rs", "#[cfg(test)]\nmod props;").expect("parses");
        let scan = scan_library("a/b.rs", "#[cfg(test)]\nmod props;").expect("parses");
        assert_eq!(
            test_module_files("a/b.rs", &scan.test_modules),
            ["a/b/props.rs", "a/b/props/mod.rs"]
        );
        assert_eq!(test_module_files("a/mod.rs", &scan.test_modules)[0], "a/props.rs");
        let test_only: BTreeSet<String> = ["a/b/props.rs".to_string()].into();
        assert!(is_under("a/b/props.rs", &test_only) && is_under("a/b/props/x.rs", &test_only));
        assert!(!is_under("a/b.rs", &test_only));
    }

    #[test]
    fn assertions_and_code_lines_leave_tests_out() {
        let text = "//! Doc.\nfn f(x: u8) {\n    // why\n    assert!(x > 0);\n\n    assert_eq!(x, 1, \"one\");\n}\n#[cfg(test)]\nmod tests {\n    fn g() { assert!(true); }\n}\n";
        let scan = scan_library("x.rs", text).expect("parses");
        assert_eq!(scan.asserts, 2);
        assert_eq!(scan.test_lines, [(8, 11)]);
        assert_eq!(code_lines(text, &scan.test_lines), 4);
    }

    #[test]
    fn select_without_biased() {
        let unbiased = "async fn f() { tokio::select! { _ = a() => {}, _ = b() => {} } }";
        assert_eq!(rules_hit(unbiased), ["select"]);
        let biased = "async fn f() { tokio::select! { biased; _ = a() => {}, _ = b() => {} } }";
        assert!(rules_hit(biased).is_empty());
    }

    #[test]
    fn wall_clock_and_randomness_in_the_simulation() {
        let hits = |t: &str| {
            check_simulated("x.rs", t)
                .into_iter()
                .map(|s| s.rule)
                .collect::<Vec<_>>()
        };
        assert_eq!(hits("let t = std::time::Instant::now();"), ["wall-clock"]);
        assert_eq!(hits("let t = SystemTime::now();"), ["wall-clock"]);
        assert_eq!(hits("let r = rand::thread_rng();"), ["thread-rng"]);
        assert!(hits("let r = madsim::rand::thread_rng();").is_empty());
        assert!(hits("let t = madsim::time::Instant::now();").is_empty());
        assert!(hits("// std::time::Instant is banned").is_empty());
    }

    #[test]
    fn long_functions_are_named_with_their_owner() {
        let body = "let x = 1;\n".repeat(MAX_FN_LINES);
        let text = format!("struct S;\nimpl S {{\n    fn big(&self) {{\n{body}    }}\n}}\nfn small() {{}}");
        let (_, long) = check_library("x.rs", &text).expect("parses");
        assert_eq!(long, [("x.rs::S::big".to_string(), MAX_FN_LINES + 2)]);
        let text = format!("fn edge() {{\n{}}}", "let x = 1;\n".repeat(MAX_FN_LINES - 2));
        assert!(
            check_library("x.rs", &text).expect("parses").1.is_empty(),
            "70 lines is fine"
        );
    }
}
