//! The last step of a load: resolves `include =>` targets, rejects unknown targets and
//! loops, computes each context's search order, sorts steps and builds the lookup indexes.
//!
//! Depends on: `super::{parse, model, matcher, error}`, std.

use std::collections::HashMap;

use super::error::DialplanError;
use super::matcher::ContextIndex;
use super::model::{Context, Dialplan, Extension, Global};
use super::parse::ContextDraft;

/// DFS colours for loop detection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Colour {
    White,
    Grey,
    Black,
}

/// Checks every include (unknown target, loop) and returns each context's search order:
/// itself, then its includes in order, depth-first, each context once.
pub(crate) fn resolve(
    contexts: &[ContextDraft],
    by_name: &HashMap<String, usize>,
    errors: &mut Vec<DialplanError>,
) -> Vec<Vec<usize>> {
    // Resolved edges; unknown targets are reported and left out.
    let edges: Vec<Vec<(usize, usize)>> = contexts
        .iter()
        .map(|c| {
            c.includes
                .iter()
                .enumerate()
                .filter_map(|(k, inc)| match by_name.get(&inc.context) {
                    Some(&t) => Some((t, k)),
                    None => {
                        errors.push(DialplanError::UnknownInclude {
                            at: inc.at.clone(),
                            target: inc.context.clone(),
                        });
                        None
                    }
                })
                .collect()
        })
        .collect();
    let mut colour = vec![Colour::White; contexts.len()];
    let mut stack = Vec::new();
    for start in 0..contexts.len() {
        if colour[start] == Colour::White {
            find_loops(start, contexts, &edges, &mut colour, &mut stack, errors);
        }
    }
    (0..contexts.len())
        .map(|start| search_order(start, &edges))
        .collect()
}

/// Depth-first walk from `node`; an edge to a grey context closes a loop, reported at that
/// include with the chain of contexts.
fn find_loops(
    node: usize,
    contexts: &[ContextDraft],
    edges: &[Vec<(usize, usize)>],
    colour: &mut [Colour],
    stack: &mut Vec<usize>,
    errors: &mut Vec<DialplanError>,
) {
    colour[node] = Colour::Grey;
    stack.push(node);
    for &(target, include) in &edges[node] {
        match colour[target] {
            Colour::White => find_loops(target, contexts, edges, colour, stack, errors),
            Colour::Grey => {
                let from = stack.iter().position(|&c| c == target).unwrap_or(0);
                let mut chain: Vec<&str> = stack[from..]
                    .iter()
                    .map(|&c| contexts[c].name.as_str())
                    .collect();
                chain.push(&contexts[target].name);
                errors.push(DialplanError::IncludeLoop {
                    at: contexts[node].includes[include].at.clone(),
                    chain: chain.join(" -> "),
                });
            }
            Colour::Black => {}
        }
    }
    stack.pop();
    colour[node] = Colour::Black;
}

/// `start`, then its includes depth-first in order, each context once (cycle-safe).
fn search_order(start: usize, edges: &[Vec<(usize, usize)>]) -> Vec<usize> {
    let mut order = Vec::new();
    let mut seen = vec![false; edges.len()];
    let mut todo = vec![start];
    while let Some(node) = todo.pop() {
        if std::mem::replace(&mut seen[node], true) {
            continue;
        }
        order.push(node);
        // Reversed so the first include is popped (visited) first.
        todo.extend(edges[node].iter().rev().map(|&(t, _)| t));
    }
    order
}

/// Builds the immutable dialplan from drafts that passed every check.
pub(crate) fn build(
    drafts: Vec<ContextDraft>,
    by_name: HashMap<String, usize>,
    globals: Vec<Global>,
    search: Vec<Vec<usize>>,
) -> Dialplan {
    let contexts = drafts
        .into_iter()
        .zip(search)
        .map(|(draft, search)| {
            let extensions: Vec<Extension> = draft
                .extensions
                .into_iter()
                .map(|e| {
                    let mut steps = e.steps;
                    steps.sort_by_key(|s| s.priority);
                    Extension {
                        name: e.name,
                        pattern: e.pattern,
                        at: e.at,
                        steps,
                    }
                })
                .collect();
            let index = ContextIndex::build(&extensions);
            Context {
                name: draft.name,
                at: draft.at,
                extensions,
                includes: draft.includes,
                search,
                index,
            }
        })
        .collect();
    Dialplan {
        contexts,
        by_name,
        globals,
    }
}
