//! The crate's layering rules, checked over its own source so a change that breaks one
//! fails the build's tests instead of waiting for a reviewer to notice:
//!
//! - no import circle between files (a file reaches another through `crate::` paths);
//! - the application (`app/`, every capability's `commands.rs` and `queries.rs`) never
//!   names the HTTP layer, so the console, workers and the CLI can run it;
//! - no HTTP handler (a function with `#[utoipa::path]`) touches the store: it parses,
//!   calls the application and renders.
//!
//! Test modules are left out: a test may reach anything it checks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every source file of the crate, as (module path such as `orders::http`, text
/// without its test module), except this one: it names what it looks for.
fn sources() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read the source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                files.insert(module_of(&root, &path), without_tests(&text).to_owned());
            }
        }
    }
    files.remove("layering");
    files
}

fn module_of(root: &Path, path: &Path) -> String {
    let rel: PathBuf = path
        .strip_prefix(root)
        .expect("under src")
        .with_extension("");
    let mut segments: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        segments.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        segments.pop();
    }
    segments.join("::")
}

fn without_tests(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |i| &text[..i])
}

/// The `crate::` paths a file names, groups (`crate::a::{b, c::d}`) expanded one level.
fn crate_paths(text: &str) -> Vec<String> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut paths = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        if text[..i].ends_with(|c: char| ident(c)) {
            continue; // `orderly_crate::`, not ours
        }
        let rest = &text[i + "crate::".len()..];
        let end = rest
            .find(|c: char| !(ident(c) || c == ':'))
            .unwrap_or(rest.len());
        let base = rest[..end].trim_end_matches(':');
        if rest[end..].starts_with('{') {
            let inner = &rest[end + 1..rest[end..].find('}').map_or(rest.len(), |j| end + j)];
            for part in inner.split(',') {
                let part: String = part
                    .trim()
                    .chars()
                    .take_while(|c| ident(*c) || *c == ':')
                    .collect();
                if !part.is_empty() {
                    paths.push(format!("{base}::{part}"));
                }
            }
        }
        paths.push(base.to_owned());
    }
    paths
}

/// The file a path lands in: its longest prefix that is a module.
fn file_of<'m>(modules: &'m BTreeMap<String, String>, path: &str) -> Option<&'m String> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len()).rev().find_map(|n| {
        modules
            .get_key_value(&segments[..n].join("::"))
            .map(|(k, _)| k)
    })
}

fn graph(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    modules
        .iter()
        .map(|(module, text)| {
            let deps = crate_paths(text)
                .iter()
                .filter_map(|p| file_of(modules, p))
                .filter(|d| *d != module)
                .cloned()
                .collect();
            (module.clone(), deps)
        })
        .collect()
}

/// A circle of files, if there is one (depth-first search for a back edge).
fn find_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(node.to_owned(), Mark::Open);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match marks.get(next) {
                Some(Mark::Open) => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut circle = stack[from..].to_vec();
                    circle.push(next.clone());
                    return Some(circle);
                }
                Some(Mark::Done) => {}
                None => {
                    if let Some(c) = visit(next, graph, marks, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if !marks.contains_key(node) {
            let mut stack = Vec::new();
            if let Some(c) = visit(node, graph, &mut marks, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

fn is_application(module: &str) -> bool {
    module == "app"
        || module.starts_with("app::")
        || module.ends_with("::commands")
        || module.ends_with("::queries")
}

fn names_http(text: &str) -> bool {
    text.contains("crate::http") || text.contains("axum")
}

/// `app.store.read()` or `self.store` touches the store; `app.store_credit(..)`, an
/// application query, does not.
fn touches_store(text: &str) -> bool {
    text.match_indices(".store").any(|(i, m)| {
        !text[i + m.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[test]
fn no_file_imports_itself_through_others() {
    let graph = graph(&sources());
    let edges: usize = graph.values().map(BTreeSet::len).sum();
    assert!(
        edges > 100,
        "only {edges} imports found: the parser is broken"
    );
    let circle = find_circle(&graph);
    assert!(
        circle.is_none(),
        "import circle: {}",
        circle.unwrap_or_default().join(" -> ")
    );
}

#[test]
fn the_application_never_names_the_http_layer() {
    let offenders: Vec<String> = sources()
        .into_iter()
        .filter(|(m, text)| is_application(m) && names_http(text))
        .map(|(m, _)| m)
        .collect();
    assert!(
        offenders.is_empty(),
        "application modules naming HTTP: {offenders:?}"
    );
}

#[test]
fn no_handler_touches_the_store() {
    let offenders: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| text.contains("#[utoipa::path") && touches_store(text))
        .map(|(m, _)| m)
        .collect();
    assert!(
        offenders.is_empty(),
        "handler files calling the store: {offenders:?}"
    );
}

/// The checks above are only as good as their parsing: a circle, an application file
/// naming HTTP and a handler reading the store, planted in made-up sources, are found.
#[test]
fn the_checks_find_what_they_look_for() {
    let modules: BTreeMap<String, String> = [
        ("a::commands", "use crate::b::{x, c::y};\nuse axum::Json;"),
        ("b", "fn f() { crate::a::commands::run() }"),
        (
            "b::c",
            "#[utoipa::path(get)]\nasync fn h(app: App) { app.store.read(); }",
        ),
        ("d", "use orderly_crate::x; fn g() {}"),
    ]
    .into_iter()
    .map(|(m, t)| (m.to_owned(), t.to_owned()))
    .collect();
    let g = graph(&modules);
    assert_eq!(
        g["a::commands"],
        BTreeSet::from(["b".to_owned(), "b::c".to_owned()])
    );
    assert!(g["d"].is_empty(), "a path of another crate is not ours");
    let circle = find_circle(&g).expect("a -> b -> a is a circle");
    assert_eq!(circle.first(), circle.last());
    assert!(circle.contains(&"b".to_owned()));
    assert!(is_application("a::commands") && !is_application("b::c"));
    assert!(names_http(&modules["a::commands"]) && !names_http(&modules["b"]));
    assert!(touches_store(&modules["b::c"]));
    assert!(!touches_store("app.store_credit(&actor, &email)"));
    let acyclic: BTreeMap<String, BTreeSet<String>> = [
        ("x".to_owned(), BTreeSet::from(["y".to_owned()])),
        ("y".to_owned(), BTreeSet::new()),
    ]
    .into_iter()
    .collect();
    assert!(find_circle(&acyclic).is_none());
}
