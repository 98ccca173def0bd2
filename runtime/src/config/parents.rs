//! `parents`: the dependency graph of hosts and services (seed 002,
//! "Dependency Failure"). Resolves the names as written against the objects
//! of the file and rejects unknown names and cycles, each with the position
//! where the name is written.

use std::collections::HashMap;
use std::ops::Range;

use super::model::ServiceRef;

/// One parent as written: `"name"` or `{ host = "h", service = "s" }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Written {
    /// Where it is written.
    pub span: Range<usize>,
    /// The host of a table entry; `None` for a plain name.
    pub host: Option<String>,
    /// The name (of a host for a host's parent, of a service for a service's).
    pub name: String,
}

/// An object's parents as written, with what messages call it.
pub(super) struct Node<'a> {
    /// "host \"web1\"" or "service \"HTTP\" on host \"web1\"".
    pub context: &'a str,
    /// The host.
    pub host: &'a str,
    /// The service, `None` for a host.
    pub service: Option<&'a str>,
    /// Its parents as written.
    pub parents: &'a [Written],
}

/// A problem: where and the whole message.
pub(super) type Found = (Range<usize>, String);

/// Resolves hosts' parents (host names); returns each node's parent names
/// (unknown ones left out) and the problems: unknown names, table entries,
/// a host that names itself, cycles.
pub(super) fn hosts(nodes: &[Node<'_>]) -> (Vec<Vec<String>>, Vec<Found>) {
    let names: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.host, i)).collect();
    let mut problems = Vec::new();
    let mut resolved = Vec::with_capacity(nodes.len());
    let mut edges: Vec<Vec<(usize, Range<usize>)>> = Vec::with_capacity(nodes.len());
    for n in nodes {
        let mut out = Vec::new();
        let mut e = Vec::new();
        for p in n.parents {
            if p.host.is_some() {
                problems.push((
                    p.span.clone(),
                    format!("{}: key 'parents': expected a host name (a string), found a table", n.context),
                ));
                continue;
            }
            match names.get(p.name.as_str()) {
                Some(&i) => {
                    out.push(p.name.clone());
                    e.push((i, p.span.clone()));
                }
                None => {
                    let mut known: Vec<String> = names.keys().map(|s| s.to_string()).collect();
                    known.sort();
                    problems.push((
                        p.span.clone(),
                        format!(
                            "{}: key 'parents': no host named \"{}\" ({})",
                            n.context,
                            p.name,
                            super::read::list(&known, "hosts")
                        ),
                    ));
                }
            }
        }
        resolved.push(out);
        edges.push(e);
    }
    problems.extend(cycles(nodes, &edges, |n| n.host.to_string()));
    (resolved, problems)
}

/// Resolves services' parents (a plain name is a service on the same host);
/// returns each node's parents and the problems.
pub(super) fn services(nodes: &[Node<'_>]) -> (Vec<Vec<ServiceRef>>, Vec<Found>) {
    let names: HashMap<(&str, &str), usize> =
        nodes.iter().enumerate().map(|(i, n)| ((n.host, n.service.unwrap_or_default()), i)).collect();
    let mut problems = Vec::new();
    let mut resolved = Vec::with_capacity(nodes.len());
    let mut edges: Vec<Vec<(usize, Range<usize>)>> = Vec::with_capacity(nodes.len());
    for n in nodes {
        let mut out = Vec::new();
        let mut e = Vec::new();
        for p in n.parents {
            let host = p.host.as_deref().unwrap_or(n.host);
            match names.get(&(host, p.name.as_str())) {
                Some(&i) => {
                    out.push(ServiceRef { host: host.to_string(), service: p.name.clone() });
                    e.push((i, p.span.clone()));
                }
                None => {
                    let mut known: Vec<String> =
                        names.keys().filter(|(h, _)| *h == host).map(|(_, s)| s.to_string()).collect();
                    known.sort();
                    problems.push((
                        p.span.clone(),
                        format!(
                            "{}: key 'parents': no service \"{}\" on host \"{host}\" ({})",
                            n.context,
                            p.name,
                            super::read::list(&known, &format!("services of \"{host}\""))
                        ),
                    ));
                }
            }
        }
        resolved.push(out);
        edges.push(e);
    }
    problems.extend(cycles(nodes, &edges, |n| format!("{}/{}", n.host, n.service.unwrap_or_default())));
    (resolved, problems)
}

/// Every cycle of the graph, once each, reported at the parent entry that
/// closes it: `a -> b -> a`.
fn cycles(nodes: &[Node<'_>], edges: &[Vec<(usize, Range<usize>)>], name: impl Fn(&Node<'_>) -> String) -> Vec<Found> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; nodes.len()];
    let mut problems = Vec::new();
    for start in 0..nodes.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // Depth-first, iteratively: (node, next edge) on the path.
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::Open;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            let Some((to, span)) = edges[node].get(*next) else {
                mark[node] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            match mark[*to] {
                Mark::New => {
                    mark[*to] = Mark::Open;
                    path.push((*to, 0));
                }
                Mark::Open => {
                    let from = path.iter().position(|(n, _)| n == to).unwrap_or(0);
                    let mut names: Vec<String> = path[from..].iter().map(|(n, _)| name(&nodes[*n])).collect();
                    names.push(name(&nodes[*to]));
                    problems.push((
                        span.clone(),
                        format!("{}: key 'parents': dependency cycle {}", nodes[node].context, names.join(" -> ")),
                    ));
                }
                Mark::Done => {}
            }
        }
    }
    problems
}
