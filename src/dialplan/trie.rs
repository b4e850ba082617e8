//! A trie over pattern elements, for finding the best matching pattern of a context without
//! testing every pattern: a lookup only walks the paths whose elements accept the dialled
//! characters, so its cost follows the number of patterns that could match, not the number
//! in the context.
//!
//! ```text
//!  root ─'9'─► n1 ─{.}──────────────── `_9.` (one-or-more ends here)
//!   │           └─X─► n2 ─X─► n3 ◄──── `_9XX` (ends here)
//!   └─N─► n4 ─{!}───────────────────── `_N!` (zero-or-more ends here)
//! ```
//!
//! Patterns are identified by their rank (position in the context's best-first order), so
//! the best match is the smallest rank found.
//!
//! Depends on: `super::pattern`.

use super::pattern::Element;

/// One trie node.
#[derive(Debug, Default)]
struct Node {
    /// Child per distinct element (character or set), with the child's index.
    children: Vec<(Element, u32)>,
    /// Ranks of patterns that end at this node, ascending.
    end: Vec<u32>,
    /// Ranks of patterns ending with `.` after this node's path, ascending.
    one_or_more: Vec<u32>,
    /// Ranks of patterns ending with `!` after this node's path, ascending.
    zero_or_more: Vec<u32>,
}

/// The pattern trie of one context.
#[derive(Debug)]
pub(crate) struct PatternTrie {
    /// Nodes; index 0 is the root.
    nodes: Vec<Node>,
}

impl Default for PatternTrie {
    fn default() -> PatternTrie {
        PatternTrie {
            nodes: vec![Node::default()],
        }
    }
}

impl PatternTrie {
    /// Adds a pattern's elements under `rank`; ranks must be inserted in ascending order.
    pub(crate) fn insert(&mut self, elements: &[Element], rank: u32) {
        let mut node = 0usize;
        for element in elements {
            match element {
                Element::OneOrMore => {
                    self.nodes[node].one_or_more.push(rank);
                    return;
                }
                Element::ZeroOrMore => {
                    self.nodes[node].zero_or_more.push(rank);
                    return;
                }
                e => {
                    let found = self.nodes[node]
                        .children
                        .iter()
                        .find(|(c, _)| c == e)
                        .map(|&(_, child)| child as usize);
                    node = match found {
                        Some(child) => child,
                        None => {
                            let child = self.nodes.len();
                            self.nodes.push(Node::default());
                            self.nodes[node].children.push((*e, child as u32));
                            child
                        }
                    };
                }
            }
        }
        self.nodes[node].end.push(rank);
    }

    /// The smallest rank of a pattern matching `exten` for which `want(rank)` holds.
    pub(crate) fn best(&self, exten: &str, want: &dyn Fn(u32) -> bool) -> Option<u32> {
        let mut best = None;
        self.walk(0, exten, want, &mut best);
        best
    }

    /// Depth-first search from `node` with `rest` still to match, keeping the best rank.
    fn walk(&self, node: usize, rest: &str, want: &dyn Fn(u32) -> bool, best: &mut Option<u32>) {
        let n = &self.nodes[node];
        let mut consider = |ranks: &[u32]| {
            let below = best.unwrap_or(u32::MAX);
            if let Some(&r) = ranks.iter().take_while(|&&r| r < below).find(|&&r| want(r)) {
                *best = Some(r);
            }
        };
        consider(&n.zero_or_more);
        let mut chars = rest.chars();
        let Some(c) = chars.next() else {
            consider(&n.end);
            return;
        };
        consider(&n.one_or_more);
        let tail = chars.as_str();
        for &(element, child) in &n.children {
            if element.accepts(c) {
                self.walk(child as usize, tail, want, best);
            }
        }
    }
}
