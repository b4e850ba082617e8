//! Extension lookup: [`Dialplan::find`], [`Dialplan::find_priority`],
//! [`Dialplan::find_label`] and [`Dialplan::can_match_more`].
//!
//! A lookup searches the context's own extensions first, then its includes in order,
//! depth-first, each context once (the order is computed at load time, so a lookup never
//! loops). Inside one context a literal beats any pattern, and patterns are tried in the
//! best-match order of `super::pattern`; the first that matches wins.
//!
//! Index per context (`ContextIndex`):
//! - literals in a `HashMap` (one hash per lookup), plus a sorted list for prefix queries;
//! - patterns sorted once by specificity (a pattern's "rank" is its position) and stored in
//!   a trie over their elements (`super::trie`): a lookup walks only the paths whose
//!   elements accept the dialled characters and keeps the smallest rank found;
//! - for `can_match_more`, pattern ranks bucketed by the first character they accept.
//!
//! Asterisk semantics kept: a priority (or label) lookup takes the best matching extension
//! *that has* that priority (or label), falling through to the next match otherwise.
//!
//! Depends on: `super::{model, pattern, trie}`, std.

use std::collections::HashMap;

use super::model::{Context, Dialplan, Extension, Step};
use super::pattern::Element;
use super::trie::PatternTrie;

/// Buckets for first characters: 0..128 ASCII, 128 for everything else.
const BUCKETS: usize = 129;

/// The bucket of a first character.
fn bucket(c: char) -> usize {
    if c.is_ascii() {
        c as usize
    } else {
        BUCKETS - 1
    }
}

/// A matched extension and the context it was found in.
#[derive(Debug, Clone, Copy)]
pub struct Match<'a> {
    /// The context holding the extension (the one searched or one it includes).
    pub context: &'a Context,
    /// The extension.
    pub extension: &'a Extension,
}

impl<'a> Match<'a> {
    /// The extension's steps, by ascending priority.
    pub fn steps(&self) -> &'a [Step] {
        self.extension.steps()
    }
}

/// A matched extension and one of its steps.
#[derive(Debug, Clone, Copy)]
pub struct StepMatch<'a> {
    /// The context holding the extension.
    pub context: &'a Context,
    /// The extension.
    pub extension: &'a Extension,
    /// The step asked for.
    pub step: &'a Step,
}

/// The lookup structures of one context.
#[derive(Debug, Default)]
pub(crate) struct ContextIndex {
    /// Literal extension → index in the context's extensions.
    literals: HashMap<String, u32>,
    /// Literal extension indexes sorted by name (for prefix queries).
    sorted_literals: Vec<(String, u32)>,
    /// Pattern extension indexes, best first; a "rank" is a position in this list.
    ranked: Vec<u32>,
    /// The patterns' elements, leading to their ranks.
    trie: PatternTrie,
    /// First-character bucket → ranks of every pattern that can start with it.
    by_first: Vec<Vec<u32>>,
}

impl ContextIndex {
    /// Indexes `extensions` (a context's, in their final order).
    pub(crate) fn build(extensions: &[Extension]) -> ContextIndex {
        let mut index = ContextIndex {
            by_first: vec![Vec::new(); BUCKETS],
            ..ContextIndex::default()
        };
        let mut patterns = Vec::new();
        for (i, e) in extensions.iter().enumerate() {
            let i = i as u32;
            if e.pattern.is_literal() {
                index.literals.insert(e.name.clone(), i);
                index.sorted_literals.push((e.name.clone(), i));
            } else {
                patterns.push(i);
            }
        }
        index.sorted_literals.sort();
        patterns.sort_by(|&a, &b| {
            extensions[a as usize]
                .pattern
                .cmp_specificity(&extensions[b as usize].pattern)
        });
        for (rank, &ext) in patterns.iter().enumerate() {
            let rank = rank as u32;
            let pattern = &extensions[ext as usize].pattern;
            let elements = pattern.elements();
            let firsts: Vec<usize> = match elements.first() {
                Some(Element::Char(c)) => vec![bucket(*c)],
                Some(Element::Set(set)) => set.bytes().map(usize::from).collect(),
                _ => (0..BUCKETS).collect(),
            };
            index.trie.insert(elements, rank);
            for &b in &firsts {
                index.by_first[b].push(rank);
            }
        }
        index.ranked = patterns;
        index
    }

    /// The best extension of this context matching `exten` that satisfies `want`.
    fn find(
        &self,
        extensions: &[Extension],
        exten: &str,
        want: &dyn Fn(&Extension) -> bool,
    ) -> Option<usize> {
        if let Some(&i) = self.literals.get(exten) {
            if want(&extensions[i as usize]) {
                return Some(i as usize);
            }
        }
        let best = self.trie.best(exten, &|rank| {
            want(&extensions[self.ranked[rank as usize] as usize])
        });
        best.map(|r| self.ranked[r as usize] as usize)
    }

    /// Whether some extension of this context could match `prefix` plus more characters.
    fn can_match_more(&self, extensions: &[Extension], prefix: &str) -> bool {
        let from = self
            .sorted_literals
            .partition_point(|(name, _)| name.as_str() < prefix);
        let literal = self.sorted_literals[from..]
            .iter()
            .take_while(|(name, _)| name.starts_with(prefix))
            .any(|(name, _)| name.len() > prefix.len());
        if literal {
            return true;
        }
        let ranks: &[u32] = match prefix.chars().next() {
            None => return !self.ranked.is_empty(),
            Some(c) => &self.by_first[bucket(c)],
        };
        ranks.iter().any(|&r| {
            extensions[self.ranked[r as usize] as usize]
                .pattern
                .can_match_more(prefix)
        })
    }
}

impl Dialplan {
    /// The best extension for `exten` in `context` or the contexts it includes.
    pub fn find(&self, context: &str, exten: &str) -> Option<Match<'_>> {
        self.find_where(context, exten, &|_| true)
    }

    /// The step `priority` of the best extension for `exten` that has that priority.
    pub fn find_priority(
        &self,
        context: &str,
        exten: &str,
        priority: u32,
    ) -> Option<StepMatch<'_>> {
        let found = self.find_where(context, exten, &|e| e.step(priority).is_some())?;
        let step = found.extension.step(priority)?;
        Some(StepMatch {
            context: found.context,
            extension: found.extension,
            step,
        })
    }

    /// The step labelled `label` of the best extension for `exten` that has that label.
    pub fn find_label(&self, context: &str, exten: &str, label: &str) -> Option<StepMatch<'_>> {
        let found = self.find_where(context, exten, &|e| e.label(label).is_some())?;
        let step = found.extension.label(label)?;
        Some(StepMatch {
            context: found.context,
            extension: found.extension,
            step,
        })
    }

    /// Whether `prefix` followed by more characters could still match an extension of
    /// `context` or its includes (for digit collection: keep waiting). `false` for an
    /// unknown context.
    pub fn can_match_more(&self, context: &str, prefix: &str) -> bool {
        let Some(&start) = self.by_name.get(context) else {
            return false;
        };
        self.contexts[start].search.iter().any(|&ci| {
            let c = &self.contexts[ci];
            c.index.can_match_more(&c.extensions, prefix)
        })
    }

    /// The best extension satisfying `want`, in search order.
    fn find_where(
        &self,
        context: &str,
        exten: &str,
        want: &dyn Fn(&Extension) -> bool,
    ) -> Option<Match<'_>> {
        let &start = self.by_name.get(context)?;
        self.contexts[start].search.iter().find_map(|&ci| {
            let c = &self.contexts[ci];
            c.index.find(&c.extensions, exten, want).map(|e| Match {
                context: c,
                extension: &c.extensions[e],
            })
        })
    }
}

#[cfg(test)]
#[path = "matcher_tests.rs"]
mod tests;
