//! The shape of the house: checks on how pbx-core is built rather than on what it does.
//!
//! - **A core without circles.** pbx-core's files import each other as a tree: no file imports
//!   one that imports it back, directly or around a loop. The check reads every `.rs` file under
//!   `src/` as text (std only, no parser crate): comments, strings and character literals are
//!   blanked, then every path that starts at `crate::`, `super::`, `self::` or a child module —
//!   in `use` trees and in code (`crate::call::parse(…)`, `crate::vocab::vocabulary!`) — is
//!   resolved to the file that defines what it names, following re-exports (`pub use`) the way
//!   the compiler does. `$crate::` paths inside `macro_rules!` are not the macro file's imports
//!   (they are resolved where the macro expands) and are left out. `mod x;` declarations are not
//!   imports. A circle fails the test with every file of it and the names each takes from the
//!   next; `cargo test -p pbx-core --test house -- --nocapture` also prints the floors.
//! - **Every page's code runs.** Each page under `docs/` is included by `pbx-core/src/lib.rs`
//!   as a doctest, like the README, so a `rust` block there cannot rot.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

/// A module path from the crate root: `[]` is `lib.rs`, `["cdr", "parser"]` is `cdr/parser.rs`.
type ModPath = Vec<String>;

/// One file of the crate, as the check sees it.
struct File {
    /// Relative to `src/`, for messages.
    name: String,
    /// Its module path.
    module: ModPath,
    /// The code's tokens, comments and literals removed.
    tokens: Vec<Tok>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    Path,
    Punct(char),
}

/// The source with comments, string and character literals replaced by spaces (lines kept).
fn blank_literals(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == '\n' {
                        out.push('\n');
                    }
                    i += 1;
                }
            }
            out.push(' ');
            continue;
        }
        // Raw strings: r"…", r#"…"#, br#"…"# (the `r` not part of a longer identifier).
        if c == 'r' || (c == 'b' && next == Some('r')) {
            let start = if c == 'b' { i + 1 } else { i };
            let before_ok = i == 0 || !ident(b[i - 1]);
            let mut j = start + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if before_ok && b.get(j) == Some(&'"') {
                j += 1;
                loop {
                    if j >= b.len() {
                        break;
                    }
                    if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    if b[j] == '\n' {
                        out.push('\n');
                    }
                    j += 1;
                }
                out.push(' ');
                i = j;
                continue;
            }
        }
        if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                if i < b.len() && b[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 1;
            out.push(' ');
            continue;
        }
        if c == '\'' {
            // A character literal ('x', '\n', '\u{1F600}') or a lifetime ('a, 'static).
            if next == Some('\\') {
                i += 2;
                while i < b.len() && b[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push(' ');
                continue;
            }
            if b.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push(' ');
                continue;
            }
            i += 1; // a lifetime: drop the quote, keep the name
            out.push(' ');
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn tokenize(code: &str) -> Vec<Tok> {
    let b: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic()
            || c == '_'
            || (c == '$' && b.get(i + 1).is_some_and(|n| n.is_alphabetic()))
        {
            let start = i;
            i += 1;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            let mut word: String = b[start..i].iter().collect();
            if let Some(raw) = word.strip_prefix("r#") {
                word = raw.to_owned();
            }
            out.push(Tok::Ident(word));
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '.') {
                i += 1;
            }
        } else if c == ':' && b.get(i + 1) == Some(&':') {
            out.push(Tok::Path);
            i += 2;
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    out
}

fn read_files(src: &Path) -> Vec<File> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(src, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let mut module: ModPath = name
                .trim_end_matches(".rs")
                .split('/')
                .map(str::to_owned)
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            let text = fs::read_to_string(&path).unwrap();
            File {
                name,
                module,
                tokens: tokenize(&blank_literals(&text)),
            }
        })
        .collect()
}

/// One reference found in a file: the module it is made from (the file's module, or an inline
/// module inside it), and the path as written.
struct Reference {
    from: ModPath,
    path: Vec<String>,
    /// The name a `use` binds (its last segment or its `as`), for re-exports.
    binds: Option<String>,
}

/// Every path reference of a file: `use` trees (each leaf one reference) and paths in code.
fn references(file: &File, modules: &BTreeSet<ModPath>) -> Vec<Reference> {
    let t = &file.tokens;
    let mut out = Vec::new();
    // Inline modules (`mod tests { … }`) open a module of their own for `super::`/`self::`.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut in_macro_rules: Option<usize> = None;
    let mut i = 0;
    let here = |inline: &[(String, usize)]| {
        let mut m = file.module.clone();
        m.extend(inline.iter().map(|(n, _)| n.clone()));
        m
    };
    while i < t.len() {
        match &t[i] {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                if in_macro_rules == Some(depth) {
                    in_macro_rules = None;
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(w) if w == "macro_rules" => {
                // `macro_rules! name { … }`: its body is checked where it expands.
                if let (Some(Tok::Punct('!')), Some(Tok::Ident(_)), Some(Tok::Punct('{'))) =
                    (t.get(i + 1), t.get(i + 2), t.get(i + 3))
                {
                    in_macro_rules.get_or_insert(depth + 1);
                }
                i += 1;
            }
            Tok::Ident(w) if w == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Punct('{'))) =
                    (t.get(i + 1), t.get(i + 2))
                {
                    inline.push((name.clone(), depth + 1));
                }
                i += 2;
            }
            Tok::Ident(w) if w == "use" => {
                let from = here(&inline);
                let mut j = i + 1;
                let mut leaves = Vec::new();
                use_tree(t, &mut j, Vec::new(), &mut leaves);
                while j < t.len() && t[j] != Tok::Punct(';') {
                    j += 1;
                }
                for (path, binds) in leaves {
                    out.push(Reference {
                        from: from.clone(),
                        path,
                        binds,
                    });
                }
                i = j;
            }
            Tok::Ident(first) => {
                let starts_path = matches!(t.get(i + 1), Some(Tok::Path));
                let after_path = i > 0 && matches!(t[i - 1], Tok::Path);
                let from = here(&inline);
                let child = {
                    let mut m = from.clone();
                    m.push(first.clone());
                    modules.contains(&m)
                };
                let root = matches!(first.as_str(), "crate" | "super" | "self") || child;
                if starts_path && !after_path && root && in_macro_rules.is_none() {
                    let mut path = vec![first.clone()];
                    let mut j = i + 1;
                    while let (Some(Tok::Path), Some(Tok::Ident(seg))) = (t.get(j), t.get(j + 1)) {
                        path.push(seg.clone());
                        j += 2;
                    }
                    out.push(Reference {
                        from,
                        path,
                        binds: None,
                    });
                    i = j;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// Reads one use tree at `t[*j]` (`a::b::{c, d::e as f, self, *}`), adding each leaf path with
/// the name it binds (`None` for a glob or `_`).
fn use_tree(
    t: &[Tok],
    j: &mut usize,
    mut prefix: Vec<String>,
    leaves: &mut Vec<(Vec<String>, Option<String>)>,
) {
    loop {
        match t.get(*j) {
            Some(Tok::Path) => *j += 1,
            Some(Tok::Ident(seg)) => {
                *j += 1;
                if matches!(t.get(*j), Some(Tok::Path)) {
                    prefix.push(seg.clone());
                    continue;
                }
                // A leaf: `name`, `name as alias`, or `self` (the module itself).
                let mut binds = if seg == "self" {
                    prefix.last().cloned()
                } else {
                    Some(seg.clone())
                };
                if seg != "self" {
                    prefix.push(seg.clone());
                }
                if matches!(t.get(*j), Some(Tok::Ident(w)) if w == "as") {
                    binds = match t.get(*j + 1) {
                        Some(Tok::Ident(a)) if a != "_" => Some(a.clone()),
                        _ => None,
                    };
                    *j += 2;
                }
                leaves.push((prefix, binds));
                return;
            }
            Some(Tok::Punct('*')) => {
                *j += 1;
                leaves.push((prefix, None));
                return;
            }
            Some(Tok::Punct('{')) => {
                *j += 1;
                loop {
                    if matches!(t.get(*j), Some(Tok::Punct('}'))) {
                        *j += 1;
                        return;
                    }
                    use_tree(t, j, prefix.clone(), leaves);
                    match t.get(*j) {
                        Some(Tok::Punct(',')) => *j += 1,
                        Some(Tok::Punct('}')) => {
                            *j += 1;
                            return;
                        }
                        _ => return,
                    }
                }
            }
            _ => return,
        }
    }
}

/// The crate as a graph of files.
struct Crate {
    files: Vec<File>,
    /// Module path → index into `files` (file modules only).
    by_module: BTreeMap<ModPath, usize>,
    /// Every module path, inline ones included.
    modules: BTreeSet<ModPath>,
    /// Per file: the references it makes.
    refs: Vec<Vec<Reference>>,
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let files = read_files(src);
        let by_module: BTreeMap<ModPath, usize> = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.module.clone(), i))
            .collect();
        let mut modules: BTreeSet<ModPath> = by_module.keys().cloned().collect();
        for f in &files {
            let t = &f.tokens;
            for w in t.windows(3) {
                if let [Tok::Ident(m), Tok::Ident(name), Tok::Punct('{')] = w
                    && m == "mod"
                {
                    let mut p = f.module.clone();
                    p.push(name.clone());
                    modules.insert(p);
                }
            }
        }
        let refs = files.iter().map(|f| references(f, &modules)).collect();
        Crate {
            files,
            by_module,
            modules,
            refs,
        }
    }

    /// The file that holds module `m` (an inline module lives in its file).
    fn file_of(&self, m: &[String]) -> usize {
        let mut m = m.to_vec();
        loop {
            if let Some(&i) = self.by_module.get(&m) {
                return i;
            }
            m.pop();
        }
    }

    /// The module that defines what `path` names, seen from module `from`; `None` for paths
    /// outside the crate (`std::…`, `chrono::…`).
    fn resolve(
        &self,
        from: &[String],
        path: &[String],
        seen: &mut Vec<(ModPath, String)>,
    ) -> Option<ModPath> {
        let mut cur: ModPath;
        let mut rest = path;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                cur = Vec::new();
                rest = &rest[1..];
            }
            Some("self") => {
                cur = from.to_vec();
                rest = &rest[1..];
            }
            Some("super") => {
                cur = from.to_vec();
                while rest.first().map(String::as_str) == Some("super") {
                    cur.pop();
                    rest = &rest[1..];
                }
            }
            Some(first) => {
                let mut m = from.to_vec();
                m.push(first.to_owned());
                if !self.modules.contains(&m) {
                    return None;
                }
                cur = from.to_vec();
            }
            None => return None,
        }
        for seg in rest {
            let mut child = cur.clone();
            child.push(seg.clone());
            if self.modules.contains(&child) {
                cur = child;
                continue;
            }
            // A name that module `cur` imports (and so hands on): where it really comes from.
            if let Some(next) = self.reexport(&cur, seg, seen) {
                return Some(next);
            }
            break;
        }
        Some(cur)
    }

    /// Where the name `name`, imported by a `use` in module `m`, is defined.
    fn reexport(
        &self,
        m: &[String],
        name: &str,
        seen: &mut Vec<(ModPath, String)>,
    ) -> Option<ModPath> {
        let key = (m.to_vec(), name.to_owned());
        if seen.contains(&key) {
            return None;
        }
        seen.push(key);
        let file = self.file_of(m);
        let found = self.refs[file]
            .iter()
            .filter(|r| r.from == m && r.binds.as_deref() == Some(name))
            .find_map(|r| self.resolve(&r.from, &r.path, seen));
        seen.pop();
        found
    }

    /// file → file → the names the first takes from the second.
    fn edges(&self) -> BTreeMap<usize, BTreeMap<usize, BTreeSet<String>>> {
        let mut edges: BTreeMap<usize, BTreeMap<usize, BTreeSet<String>>> = BTreeMap::new();
        for (i, refs) in self.refs.iter().enumerate() {
            edges.entry(i).or_default();
            for r in refs {
                let Some(target) = self.resolve(&r.from, &r.path, &mut Vec::new()) else {
                    continue;
                };
                let j = self.file_of(&target);
                if j != i {
                    let name = r
                        .path
                        .iter()
                        .rev()
                        .find(|s| !matches!(s.as_str(), "crate" | "super" | "self"));
                    edges
                        .entry(i)
                        .or_default()
                        .entry(j)
                        .or_default()
                        .insert(name.cloned().unwrap_or_else(|| "*".into()));
                }
            }
        }
        edges
    }
}

/// Strongly connected components with more than one file (Tarjan), each sorted.
fn circles(
    n: usize,
    edges: &BTreeMap<usize, BTreeMap<usize, BTreeSet<String>>>,
) -> Vec<Vec<usize>> {
    struct State<'a> {
        edges: &'a BTreeMap<usize, BTreeMap<usize, BTreeSet<String>>>,
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        let targets: Vec<usize> = s
            .edges
            .get(&v)
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        for w in targets {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut scc = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack[w] = false;
                scc.push(w);
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort_unstable();
                s.out.push(scc);
            }
        }
    }
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn pbx_core_imports_form_a_tree() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let krate = Crate::read(&src);
    let edges = krate.edges();
    let n = krate.files.len();
    let found = circles(n, &edges);
    let arrows: usize = edges.values().map(BTreeMap::len).sum();
    if !found.is_empty() {
        let mut msg = format!("pbx-core's imports have {} circle(s):\n", found.len());
        for (k, scc) in found.iter().enumerate() {
            let names: Vec<&str> = scc.iter().map(|&i| krate.files[i].name.as_str()).collect();
            msg += &format!("circle {}: {}\n", k + 1, names.join(", "));
            for &a in scc {
                for (b, used) in &edges[&a] {
                    if scc.contains(b) {
                        let used: Vec<&str> = used.iter().map(String::as_str).collect();
                        msg += &format!(
                            "  {} -> {}: {}\n",
                            krate.files[a].name,
                            krate.files[*b].name,
                            used.join(", ")
                        );
                    }
                }
            }
        }
        panic!(
            "{msg}a file must not import one that imports it back; move what both need into a third file"
        );
    }
    // No circle: every file stands on a floor above everything it imports (floor 1 imports
    // nothing of the crate). Printed with --nocapture.
    let mut floor: HashMap<usize, usize> = HashMap::new();
    fn floor_of(
        v: usize,
        edges: &BTreeMap<usize, BTreeMap<usize, BTreeSet<String>>>,
        floor: &mut HashMap<usize, usize>,
    ) -> usize {
        if let Some(&f) = floor.get(&v) {
            return f;
        }
        let f = 1 + edges[&v]
            .keys()
            .map(|&w| floor_of(w, edges, floor))
            .max()
            .unwrap_or(0);
        floor.insert(v, f);
        f
    }
    let mut by_floor: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for v in 0..n {
        by_floor
            .entry(floor_of(v, &edges, &mut floor))
            .or_default()
            .push(&krate.files[v].name);
    }
    println!("pbx-core: {n} files, {arrows} imports between them, no circle");
    for (f, names) in by_floor.iter().rev() {
        println!("  floor {f}: {}", names.join(", "));
    }
}

/// The check itself finds a circle when there is one, and reads `use` trees and re-exports
/// the way the compiler resolves them.
#[test]
fn the_circle_check_sees_circles_and_reexports() {
    let dir = std::env::temp_dir().join(format!("pbx-house-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("cdr")).unwrap();
    let write = |name: &str, text: &str| fs::write(dir.join(name), text).unwrap();
    write(
        "lib.rs",
        "pub mod a;\npub mod b;\npub mod cdr;\nmod c;\npub use a::Thing;\n",
    );
    // a -> b through a grouped use; b -> a through the crate root's re-export.
    write(
        "a.rs",
        "use crate::{b::Other, cdr::{Parser as P}};\npub struct Thing;\n",
    );
    write(
        "b.rs",
        "// use crate::c::Nothing; (a comment is no import)\nfn f() -> crate::Thing { let _ = \"crate::c::X\"; crate::Thing }\npub struct Other;\n",
    );
    // cdr/mod.rs hands on its child's type; the child's `super::` reaches a sibling, not mod.rs.
    write(
        "cdr/mod.rs",
        "mod parser;\nmod field;\npub use parser::Parser;\n",
    );
    write(
        "cdr/parser.rs",
        "use super::field::Field;\npub struct Parser(Field);\n",
    );
    write(
        "cdr/field.rs",
        "pub struct Field;\n#[cfg(test)]\nmod tests { use super::*; }\n",
    );
    write("c.rs", "macro_rules! m { () => { $crate::a::Thing } }\n");
    let krate = Crate::read(&dir);
    let edges = krate.edges();
    let name = |i: usize| krate.files[i].name.as_str();
    let mut arrows: Vec<String> = Vec::new();
    for (a, targets) in &edges {
        for b in targets.keys() {
            arrows.push(format!("{} -> {}", name(*a), name(*b)));
        }
    }
    arrows.sort();
    assert_eq!(
        arrows,
        [
            "a.rs -> b.rs",
            "a.rs -> cdr/parser.rs",
            "b.rs -> a.rs",
            "cdr/mod.rs -> cdr/parser.rs",
            "cdr/parser.rs -> cdr/field.rs",
            "lib.rs -> a.rs",
        ]
    );
    let found = circles(krate.files.len(), &edges);
    let found: Vec<Vec<&str>> = found
        .iter()
        .map(|c| c.iter().map(|&i| name(i)).collect())
        .collect();
    assert_eq!(found, [vec!["a.rs", "b.rs"]]);
    fs::remove_dir_all(&dir).unwrap();
}

/// Every page under `docs/` runs its `rust` blocks as doctests of pbx-core, as the README does.
#[test]
fn every_docs_page_is_a_doctest() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let lib = fs::read_to_string(root.join("pbx-core/src/lib.rs")).unwrap();
    assert!(lib.contains("include_str!(\"../../README.md\")"));
    let mut pages: Vec<String> = fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .collect();
    pages.sort();
    assert!(!pages.is_empty(), "no pages under docs/");
    let missing: Vec<&String> = pages
        .iter()
        .filter(|p| !lib.contains(&format!("include_str!(\"../../docs/{p}\")")))
        .collect();
    assert!(
        missing.is_empty(),
        "pbx-core/src/lib.rs does not run these pages' code blocks as doctests (add them to `mod docs_doctests`): {missing:?}"
    );
}
