//! Reading the directory, merging the files' tables and validating `[sip]`, `[registrar]`,
//! and `[acl]` into the typed structs of `super`. Gateways are in `super::gateways`,
//! extensions in `super::extensions`.
//!
//! Depends on: `super::{file, error, acl, extensions}`, std, toml.

use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::error::SourceFile;
use super::file::{
    AclTable, ExtensionTable, GatewayTable, ListenEntry, ProfileFile, RangeTable, RegistrarTable,
    SipTable,
};
use super::{
    extensions, gateways, Acl, Config, ConfigError, ConfigErrors, ConfigWarning, IpNet, Listener,
    Location, RegistrarSettings, SipSettings, Timers, TlsSettings,
};

/// Shared state of one load: the files' texts (for locations) and the diagnostics so far.
pub(crate) struct Ctx {
    files: Vec<SourceFile>,
    pub(crate) errors: Vec<ConfigError>,
    pub(crate) warnings: Vec<ConfigWarning>,
}

impl Ctx {
    /// Location of byte `span.start` in file `file`.
    pub(crate) fn loc(&self, file: usize, span: &Range<usize>) -> Location {
        match self.files.get(file) {
            Some(f) => f.location(span.start),
            None => Location {
                path: PathBuf::new(),
                line: 1,
                column: 1,
            },
        }
    }

    /// Records an error.
    pub(crate) fn err(&mut self, e: ConfigError) {
        self.errors.push(e);
    }

    /// Checks `lo <= value <= hi`, recording [`ConfigError::OutOfRange`] otherwise.
    pub(crate) fn range(
        &mut self,
        file: usize,
        v: &Spanned<u64>,
        key: &'static str,
        lo: u64,
        hi: u64,
    ) -> bool {
        let value = *v.get_ref();
        if (lo..=hi).contains(&value) {
            return true;
        }
        let at = self.loc(file, &v.span());
        self.err(ConfigError::OutOfRange {
            at,
            key,
            value,
            min: lo,
            max: hi,
        });
        false
    }

    /// Checks a string is not blank, recording [`ConfigError::Empty`] otherwise.
    pub(crate) fn non_empty(
        &mut self,
        file: usize,
        v: &Spanned<String>,
        key: &'static str,
    ) -> bool {
        if !v.get_ref().trim().is_empty() {
            return true;
        }
        let at = self.loc(file, &v.span());
        self.err(ConfigError::Empty { at, key });
        false
    }
}

/// A table together with the index of the file it came from.
pub(crate) type InFile<T> = (usize, Spanned<T>);

/// Entry point of [`Config::load`].
pub(crate) fn load(dir: &Path) -> Result<Config, ConfigErrors> {
    let mut ctx = Ctx {
        files: Vec::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let profiles_dir = dir.join("sip-profiles");
    let parsed = read_profiles(&mut ctx, &profiles_dir);
    // A missing [sip] is only worth reporting when every file could be read and parsed
    // (it may be in the broken one) and there was at least one file.
    let all_parsed = !parsed.is_empty() && parsed.len() == ctx.files.len() && ctx.errors.is_empty();

    let Merged {
        sip,
        registrar,
        acl,
        calls,
        media,
        cdr,
        web,
        gateways,
        extensions: exts,
        ranges,
    } = merge(&mut ctx, parsed);
    let calls = calls
        .map(|(i, t)| super::calls::call_settings(&mut ctx, i, t))
        .unwrap_or_default();
    let media = media
        .map(|(i, t)| super::calls::media_settings(&mut ctx, dir, i, t))
        .unwrap_or_else(|| super::MediaSettings::default_in(dir));
    let cdr = cdr
        .map(|(i, t)| super::cdr::cdr_settings(&mut ctx, i, t))
        .unwrap_or_default();
    let web = web
        .map(|(i, t)| super::web::web_settings(&mut ctx, dir, i, t))
        .unwrap_or_default();

    let sip_settings = match sip {
        Some((i, s)) => Some((i, sip_settings(&mut ctx, dir, i, s))),
        None => {
            if all_parsed {
                ctx.err(ConfigError::MissingSip {
                    path: profiles_dir.clone(),
                });
            }
            None
        }
    };
    let registrar = match registrar {
        Some((i, r)) => registrar_settings(&mut ctx, i, r),
        None => RegistrarSettings::default(),
    };
    let acl = match acl {
        Some((i, a)) => acl_settings(&mut ctx, i, a),
        None => Acl::default(),
    };
    let gateways = gateways::build(&mut ctx, gateways, &acl);
    let extensions = extensions::build(&mut ctx, exts, ranges);
    let dialplan_dir = dir.join("dialplan");
    if !dialplan_dir.is_dir() {
        ctx.err(ConfigError::MissingDirectory {
            path: dialplan_dir.clone(),
            purpose: "dialplan files; may be empty",
        });
    }

    let source_files = ctx.files.iter().map(|f| f.path.clone()).collect();
    let sip = match sip_settings {
        Some((i, Some((sip, spans)))) if ctx.errors.is_empty() => {
            warn_public_listeners(&mut ctx, i, &spans, &sip, &extensions);
            sip
        }
        _ => {
            return Err(ConfigErrors {
                errors: ctx.errors,
                warnings: ctx.warnings,
            })
        }
    };
    Ok(Config {
        dir: dir.to_path_buf(),
        sip,
        registrar,
        acl,
        calls,
        cdr,
        web,
        media,
        gateways,
        extensions,
        dialplan_dir,
        source_files,
        warnings: ctx.warnings,
    })
}

/// Reads and deserializes every `*.toml` in `profiles_dir` (sorted by name, hidden files
/// skipped). Returns the parsed files with their index in `ctx.files`.
fn read_profiles(ctx: &mut Ctx, profiles_dir: &Path) -> Vec<(usize, ProfileFile)> {
    if !profiles_dir.is_dir() {
        ctx.err(ConfigError::MissingDirectory {
            path: profiles_dir.to_path_buf(),
            purpose: "SIP profiles (*.toml)",
        });
        return Vec::new();
    }
    let entries = match std::fs::read_dir(profiles_dir) {
        Ok(entries) => entries,
        Err(source) => {
            ctx.err(ConfigError::Io {
                path: profiles_dir.to_path_buf(),
                source,
            });
            return Vec::new();
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.starts_with('.') && name.ends_with(".toml") && p.is_file()
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        ctx.err(ConfigError::NoProfiles {
            path: profiles_dir.to_path_buf(),
        });
    }
    let mut parsed = Vec::new();
    for path in paths {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(source) => {
                ctx.err(ConfigError::Io { path, source });
                continue;
            }
        };
        let index = ctx.files.len();
        let result = toml::from_str::<ProfileFile>(&text);
        ctx.files.push(SourceFile { path, text });
        match result {
            Ok(file) => parsed.push((index, file)),
            Err(e) => {
                let at = ctx.loc(index, &e.span().unwrap_or(0..0));
                ctx.err(ConfigError::Syntax {
                    at,
                    message: e.message().to_string(),
                });
            }
        }
    }
    parsed
}

/// The tables of all files: single tables (first definition kept) and concatenated lists.
struct Merged {
    sip: Option<InFile<SipTable>>,
    registrar: Option<InFile<RegistrarTable>>,
    acl: Option<InFile<AclTable>>,
    calls: Option<InFile<super::calls::CallsTable>>,
    media: Option<InFile<super::calls::MediaTable>>,
    cdr: Option<InFile<super::cdr::CdrTable>>,
    web: Option<InFile<super::web::WebTable>>,
    gateways: Vec<InFile<GatewayTable>>,
    extensions: Vec<InFile<ExtensionTable>>,
    ranges: Vec<InFile<RangeTable>>,
}

/// Merges parsed files in order; a second `[sip]`, `[registrar]` or `[acl]` is a duplicate.
fn merge(ctx: &mut Ctx, parsed: Vec<(usize, ProfileFile)>) -> Merged {
    let mut m = Merged {
        sip: None,
        registrar: None,
        acl: None,
        calls: None,
        media: None,
        cdr: None,
        web: None,
        gateways: Vec::new(),
        extensions: Vec::new(),
        ranges: Vec::new(),
    };
    for (i, f) in parsed {
        merge_single(ctx, &mut m.sip, i, f.sip, "[sip] table");
        merge_single(ctx, &mut m.registrar, i, f.registrar, "[registrar] table");
        merge_single(ctx, &mut m.acl, i, f.acl, "[acl] table");
        merge_single(ctx, &mut m.calls, i, f.calls, "[calls] table");
        merge_single(ctx, &mut m.media, i, f.media, "[media] table");
        merge_single(ctx, &mut m.cdr, i, f.cdr, "[cdr] table");
        merge_single(ctx, &mut m.web, i, f.web, "[web] table");
        m.gateways.extend(f.gateway.into_iter().map(|g| (i, g)));
        m.extensions.extend(f.extension.into_iter().map(|e| (i, e)));
        m.ranges
            .extend(f.extension_range.into_iter().map(|r| (i, r)));
    }
    m
}

/// Keeps the first definition of a table that may appear once, reporting later ones.
fn merge_single<T>(
    ctx: &mut Ctx,
    slot: &mut Option<InFile<T>>,
    file: usize,
    table: Option<Spanned<T>>,
    what: &str,
) {
    let Some(table) = table else { return };
    match slot {
        Some((first_file, first)) => {
            let first = ctx.loc(*first_file, &first.span());
            let at = ctx.loc(file, &table.span());
            ctx.err(ConfigError::Duplicate {
                at,
                first,
                what: what.to_string(),
            });
        }
        None => *slot = Some((file, table)),
    }
}

/// The span of `v` if it is real, else `fallback` (defaults carry an empty span at 0).
fn span_or<T>(v: &Spanned<T>, fallback: &Range<usize>) -> Range<usize> {
    let span = v.span();
    if span == (0..0) {
        fallback.clone()
    } else {
        span
    }
}

/// Validates `[sip]`. Returns the settings and the span of each listener, or `None` when
/// something in it is invalid (errors recorded).
fn sip_settings(
    ctx: &mut Ctx,
    dir: &Path,
    i: usize,
    table: Spanned<SipTable>,
) -> Option<(SipSettings, Vec<Range<usize>>)> {
    let span = table.span();
    let s = table.into_inner();
    let mut ok = ctx.non_empty(i, &s.domain, "sip.domain");
    let realm = s.realm.unwrap_or_else(|| s.domain.clone());
    ok &= ctx.non_empty(i, &realm, "sip.realm");

    let (listen, listen_ok) = listeners(ctx, i, s.listen, &span);
    ok &= listen_ok;

    ok &= ctx.range(
        i,
        &s.max_message_size,
        "sip.max_message_size",
        1_024,
        1 << 20,
    );
    let timers = timer_settings(ctx, i, s.timers, &span);
    let tls = tls_settings(ctx, dir, i, s.tls, &span);
    let max_message_size = usize::try_from(*s.max_message_size.get_ref()).unwrap_or(usize::MAX);
    if !ok {
        return None;
    }
    let (listen, spans) = listen.into_iter().unzip();
    let settings = SipSettings {
        listen,
        domain: s.domain.into_inner().trim().to_string(),
        realm: realm.into_inner().trim().to_string(),
        user_agent: s.user_agent,
        max_message_size,
        timers: timers?,
        tls: tls?,
    };
    Some((settings, spans))
}

/// A listener with the span of its entry.
type SpannedListener = (Listener, Range<usize>);

/// Validates `[sip] listen`: addresses parse, no two need the same socket, not empty.
/// Returns the valid listeners and whether all were valid.
fn listeners(
    ctx: &mut Ctx,
    i: usize,
    list: Spanned<Vec<Spanned<ListenEntry>>>,
    sip_span: &Range<usize>,
) -> (Vec<SpannedListener>, bool) {
    let listen_span = span_or(&list, sip_span);
    let mut ok = true;
    let mut listen: Vec<SpannedListener> = Vec::new();
    for entry in list.into_inner() {
        let entry_span = span_or(&entry, &listen_span);
        let entry = entry.into_inner();
        let Ok(address) = entry.address.get_ref().trim().parse::<SocketAddr>() else {
            let at = ctx.loc(i, &span_or(&entry.address, &entry_span));
            let value = entry.address.into_inner();
            let (key, expected) = ("sip.listen.address", "ip:port");
            ctx.err(ConfigError::BadAddress {
                at,
                key,
                value,
                expected,
            });
            ok = false;
            continue;
        };
        let new = Listener {
            transport: entry.transport,
            address,
        };
        // Two listeners clash when they need the same socket: same address and same socket
        // kind (UDP, or stream for TCP and TLS). Port 0 is ephemeral, so never clashes.
        let clash = listen.iter().find(|(l, _)| {
            address.port() != 0
                && l.address == address
                && l.transport.is_stream() == new.transport.is_stream()
        });
        if let Some((first, first_span)) = clash {
            let what = format!(
                "listener {} {address} (clashes with {} {})",
                new.transport, first.transport, first.address
            );
            let (first, at) = (ctx.loc(i, first_span), ctx.loc(i, &entry_span));
            ctx.err(ConfigError::Duplicate { at, first, what });
            ok = false;
            continue;
        }
        listen.push((new, entry_span));
    }
    if listen.is_empty() && ok {
        ctx.err(ConfigError::NoListeners {
            at: ctx.loc(i, &listen_span),
        });
        ok = false;
    }
    (listen, ok)
}

/// Validates `[sip.timers]` (RFC 3261 §17.1.1.1: T1 <= T2; all positive).
fn timer_settings(
    ctx: &mut Ctx,
    i: usize,
    table: Option<Spanned<super::file::TimersTable>>,
    sip_span: &Range<usize>,
) -> Option<Timers> {
    let (span, t) = match table {
        Some(t) => (t.span(), t.into_inner()),
        None => (sip_span.clone(), Default::default()),
    };
    let mut ok = ctx.range(i, &t.t1_ms, "sip.timers.t1_ms", 1, 60_000);
    ok &= ctx.range(i, &t.t2_ms, "sip.timers.t2_ms", 1, 600_000);
    ok &= ctx.range(i, &t.t4_ms, "sip.timers.t4_ms", 1, 600_000);
    let (t1, t2, t4) = (*t.t1_ms.get_ref(), *t.t2_ms.get_ref(), *t.t4_ms.get_ref());
    if ok && t1 > t2 {
        let at = ctx.loc(i, &span);
        ctx.err(ConfigError::Order {
            at,
            smaller: "t1_ms",
            small_value: t1,
            larger: "t2_ms",
            large_value: t2,
        });
        ok = false;
    }
    ok.then(|| Timers {
        t1: Duration::from_millis(t1),
        t2: Duration::from_millis(t2),
        t4: Duration::from_millis(t4),
    })
}

/// Validates `[sip.tls]`: cert and key together, files exist (relative to `dir`).
fn tls_settings(
    ctx: &mut Ctx,
    dir: &Path,
    i: usize,
    table: Option<Spanned<super::file::TlsTable>>,
    sip_span: &Range<usize>,
) -> Option<TlsSettings> {
    let (span, t) = match table {
        Some(t) => (t.span(), t.into_inner()),
        None => (sip_span.clone(), Default::default()),
    };
    let mut ok = true;
    if t.cert.is_some() != t.key.is_some() {
        ctx.err(ConfigError::TlsHalfConfigured {
            at: ctx.loc(i, &span),
        });
        ok = false;
    }
    let mut file = |v: Option<Spanned<String>>, key: &'static str| -> Option<PathBuf> {
        let v = v?;
        if !ctx.non_empty(i, &v, key) {
            ok = false;
            return None;
        }
        let path = dir.join(v.get_ref().trim());
        if !path.is_file() {
            let at = ctx.loc(i, &v.span());
            ctx.err(ConfigError::MissingFile {
                at,
                key,
                path: path.clone(),
            });
            ok = false;
        }
        Some(path)
    };
    let cert = file(t.cert, "sip.tls.cert");
    let key = file(t.key, "sip.tls.key");
    let ca_file = file(t.ca_file, "sip.tls.ca_file");
    ok.then_some(TlsSettings { cert, key, ca_file })
}

/// Validates `[registrar]` (RFC 3261 §10.3: min <= default <= max); defaults on error.
fn registrar_settings(
    ctx: &mut Ctx,
    i: usize,
    table: Spanned<RegistrarTable>,
) -> RegistrarSettings {
    let span = table.span();
    let r = table.into_inner();
    let max32 = u64::from(u32::MAX);
    let mut ok = ctx.range(i, &r.min_expires, "registrar.min_expires", 1, max32);
    ok &= ctx.range(i, &r.max_expires, "registrar.max_expires", 1, max32);
    ok &= ctx.range(i, &r.default_expires, "registrar.default_expires", 1, max32);
    ok &= ctx.range(i, &r.nonce_ttl_secs, "registrar.nonce_ttl_secs", 1, 86_400);
    ok &= ctx.range(
        i,
        &r.sweep_interval_secs,
        "registrar.sweep_interval_secs",
        1,
        86_400,
    );
    let (min, def, max) = (
        *r.min_expires.get_ref(),
        *r.default_expires.get_ref(),
        *r.max_expires.get_ref(),
    );
    for (smaller, small_value, larger, large_value) in [
        ("min_expires", min, "default_expires", def),
        ("default_expires", def, "max_expires", max),
    ] {
        if ok && small_value > large_value {
            let at = ctx.loc(i, &span);
            ctx.err(ConfigError::Order {
                at,
                smaller,
                small_value,
                larger,
                large_value,
            });
            ok = false;
        }
    }
    let secs = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    if !ok {
        return RegistrarSettings::default();
    }
    RegistrarSettings {
        min_expires: secs(min),
        max_expires: secs(max),
        default_expires: secs(def),
        nonce_ttl: Duration::from_secs(*r.nonce_ttl_secs.get_ref()),
        sweep_interval: Duration::from_secs(*r.sweep_interval_secs.get_ref()),
        sha256_first: r.sha256_first,
    }
}

/// Validates `[acl]`: every entry a CIDR network.
fn acl_settings(ctx: &mut Ctx, i: usize, table: Spanned<AclTable>) -> Acl {
    let span = table.span();
    let entries = table.into_inner().allow;
    if entries.is_empty() {
        ctx.warnings.push(ConfigWarning::EmptyAcl {
            at: ctx.loc(i, &span),
        });
    }
    let mut allow = Vec::new();
    for entry in entries {
        match entry.get_ref().parse::<IpNet>() {
            Ok(net) => allow.push(net),
            Err(reason) => {
                let at = ctx.loc(i, &entry.span());
                ctx.err(ConfigError::BadCidr {
                    at,
                    value: entry.into_inner(),
                    reason,
                });
            }
        }
    }
    Acl { allow }
}

/// Warns once per non-loopback listener when loopback-only extensions exist.
fn warn_public_listeners(
    ctx: &mut Ctx,
    i: usize,
    spans: &[Range<usize>],
    sip: &SipSettings,
    extensions: &[super::Extension],
) {
    let restricted: Vec<&super::Extension> =
        extensions.iter().filter(|e| e.loopback_only).collect();
    let Some(example) = restricted.first() else {
        return;
    };
    for (l, span) in sip.listen.iter().zip(spans) {
        if !l.address.ip().to_canonical().is_loopback() {
            ctx.warnings
                .push(ConfigWarning::LoopbackOnlyUsersOnPublicListener {
                    at: ctx.loc(i, span),
                    address: l.address,
                    count: restricted.len(),
                    example: example.number.clone(),
                });
        }
    }
}
