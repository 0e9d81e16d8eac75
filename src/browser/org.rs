//! Organisation sync (Clerk's `organizationSyncOptions`): URL path patterns naming an
//! organisation (`:id` or `:slug`) or the personal account. A signed-in page navigation whose
//! URL names another organisation than the session's active one is sent through Clerk's
//! handshake with `organization_id`, which activates it.
//!
//! Patterns follow `path-to-regexp` 6 (what Clerk's SDK uses) with its defaults: `:name`
//! parameters, `(regex)` custom groups, `{…}` groups, the `?`, `*`, `+` modifiers, `\`
//! escapes; matched case-insensitively against the URL's path, a trailing `/`, `#` or `?`
//! allowed. A pattern this crate cannot run the same way (lookaround in a custom group, text
//! that needs it between two parameters) is refused when the configuration is built.

use regex_lite::Regex;

/// Where organisation sync applies (Clerk's `organizationSyncOptions`): give it to
/// [`ClerkConfigBuilder::organization_sync`](crate::ClerkConfigBuilder::organization_sync).
///
/// ```
/// use actix_clerk::OrganizationSync;
/// let sync = OrganizationSync::new()
///     .organization_patterns(["/orgs/:slug", "/orgs/:slug/(.*)"])
///     .personal_account_patterns(["/me", "/me/(.*)"]);
/// # let _ = sync;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct OrganizationSync {
    organization_patterns: Option<Vec<String>>,
    personal_account_patterns: Option<Vec<String>>,
}

impl OrganizationSync {
    /// No patterns (nothing is synced until some are given).
    pub fn new() -> Self {
        OrganizationSync::default()
    }

    /// Paths naming an organisation by `:id` or `:slug` (`organizationPatterns`).
    pub fn organization_patterns<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.organization_patterns = Some(patterns.into_iter().map(Into::into).collect());
        self
    }

    /// Paths of the personal account, where no organisation is active
    /// (`personalAccountPatterns`).
    pub fn personal_account_patterns<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.personal_account_patterns = Some(patterns.into_iter().map(Into::into).collect());
        self
    }
}

/// What a URL asks to activate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OrgTarget {
    /// An organisation by id or slug (a repeated parameter is a list).
    Organization {
        id: Option<ParamValue>,
        slug: Option<ParamValue>,
    },
    /// The personal account.
    PersonalAccount,
}

/// A matched parameter: one value, or a list (a `*`/`+` parameter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParamValue {
    One(String),
    List(Vec<String>),
}

impl ParamValue {
    /// As JavaScript prints it (`String(value)`).
    pub(crate) fn text(&self) -> String {
        match self {
            ParamValue::One(s) => s.clone(),
            ParamValue::List(l) => l.join(","),
        }
    }

    /// Whether it equals the session's value (`!==` in Clerk's check: a list never does).
    pub(crate) fn equals(&self, other: Option<&str>) -> bool {
        matches!(self, ParamValue::One(s) if Some(s.as_str()) == other)
    }
}

/// A compiled pattern list: the regex and its parameters, in group order.
#[derive(Debug)]
struct Matcher {
    regex: Regex,
    keys: Vec<Key>,
}

/// The compiled options.
#[derive(Debug)]
pub(crate) struct OrganizationMatcher {
    organization: Option<Matcher>,
    personal: Option<Matcher>,
}

/// Why a pattern is refused.
pub(crate) type PatternError = String;

impl OrganizationMatcher {
    pub(crate) fn new(opts: &OrganizationSync) -> Result<Self, PatternError> {
        Ok(OrganizationMatcher {
            organization: opts
                .organization_patterns
                .as_deref()
                .map(compile_list)
                .transpose()?,
            personal: opts
                .personal_account_patterns
                .as_deref()
                .map(compile_list)
                .transpose()?,
        })
    }

    /// `OrganizationMatcher#findTarget` on a URL path.
    pub(crate) fn find_target(&self, path: &str) -> Option<OrgTarget> {
        if let Some(m) = &self.organization {
            if let Some(params) = m.exec(path) {
                let get = |name: &str| {
                    params
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                        .filter(|v| !matches!(v, ParamValue::One(s) if s.is_empty()))
                };
                if let Some(id) = get("id") {
                    return Some(OrgTarget::Organization {
                        id: Some(id),
                        slug: None,
                    });
                }
                if let Some(slug) = get("slug") {
                    return Some(OrgTarget::Organization {
                        id: None,
                        slug: Some(slug),
                    });
                }
            }
        }
        let m = self.personal.as_ref()?;
        m.exec(path).map(|_| OrgTarget::PersonalAccount)
    }
}

impl Matcher {
    /// `regex.exec(path)` and its parameters (those that took part in the match).
    fn exec(&self, path: &str) -> Option<Vec<(String, ParamValue)>> {
        let caps = self.regex.captures(path)?;
        let mut out = Vec::new();
        for (i, key) in self.keys.iter().enumerate() {
            let Some(m) = caps.get(i + 1) else {
                continue;
            };
            let value = if key.modifier == "*" || key.modifier == "+" {
                let sep = format!("{}{}", key.prefix, key.suffix);
                ParamValue::List(m.as_str().split(sep.as_str()).map(str::to_owned).collect())
            } else {
                ParamValue::One(m.as_str().to_owned())
            };
            out.push((key.name.clone(), value));
        }
        Some(out)
    }
}

#[derive(Debug, Clone)]
struct Key {
    name: String,
    prefix: String,
    suffix: String,
    pattern: String,
    modifier: String,
}

enum Part {
    Text(String),
    Key(Key),
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Kind {
    Modifier,
    Escaped,
    Open,
    Close,
    Name,
    Pattern,
    Char,
    End,
}

/// `path-to-regexp`'s lexer.
fn lex(s: &str) -> Result<Vec<(Kind, String)>, PatternError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' | '+' | '?' => {
                out.push((Kind::Modifier, c.to_string()));
                i += 1;
            }
            '\\' => {
                let next = chars.get(i + 1).map(|c| c.to_string()).unwrap_or_default();
                out.push((Kind::Escaped, next));
                i += 2;
            }
            '{' => {
                out.push((Kind::Open, "{".into()));
                i += 1;
            }
            '}' => {
                out.push((Kind::Close, "}".into()));
                i += 1;
            }
            ':' => {
                let mut j = i + 1;
                let mut name = String::new();
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    name.push(chars[j]);
                    j += 1;
                }
                if name.is_empty() {
                    return Err(format!("Missing parameter name at {i}"));
                }
                out.push((Kind::Name, name));
                i = j;
            }
            '(' => {
                let mut depth = 1;
                let mut pattern = String::new();
                let mut j = i + 1;
                if chars.get(j) == Some(&'?') {
                    return Err(format!("Pattern cannot start with \"?\" at {j}"));
                }
                while j < chars.len() {
                    if chars[j] == '\\' {
                        pattern.push(chars[j]);
                        if let Some(&n) = chars.get(j + 1) {
                            pattern.push(n);
                        }
                        j += 2;
                        continue;
                    }
                    if chars[j] == ')' {
                        depth -= 1;
                        if depth == 0 {
                            j += 1;
                            break;
                        }
                    } else if chars[j] == '(' {
                        depth += 1;
                        if chars.get(j + 1) != Some(&'?') {
                            return Err(format!("Capturing groups are not allowed at {j}"));
                        }
                    }
                    pattern.push(chars[j]);
                    j += 1;
                }
                if depth != 0 {
                    return Err(format!("Unbalanced pattern at {i}"));
                }
                if pattern.is_empty() {
                    return Err(format!("Missing pattern at {i}"));
                }
                out.push((Kind::Pattern, pattern));
                i = j;
            }
            _ => {
                out.push((Kind::Char, c.to_string()));
                i += 1;
            }
        }
    }
    out.push((Kind::End, String::new()));
    Ok(out)
}

const DELIMITERS: &str = "/#?";
const PREFIXES: &str = "./";
const SEGMENT: &str = "[^/#?]+?";

/// `path-to-regexp`'s parser (default options).
fn parse(s: &str) -> Result<Vec<Part>, PatternError> {
    let tokens = lex(s)?;
    let mut out: Vec<Part> = Vec::new();
    let mut key_index = 0usize;
    let mut path = String::new();
    let mut i = 0;
    let take = |i: &mut usize, kind: Kind| -> Option<String> {
        if *i < tokens.len() && tokens[*i].0 == kind {
            *i += 1;
            Some(tokens[*i - 1].1.clone())
        } else {
            None
        }
    };
    let default_pattern = |out: &Vec<Part>, prefix: &str| -> Result<String, PatternError> {
        let last = out.last();
        let text = if !prefix.is_empty() {
            prefix.to_owned()
        } else {
            match last {
                Some(Part::Text(t)) => t.clone(),
                _ => String::new(),
            }
        };
        if let (Some(Part::Key(k)), true) = (last, text.is_empty()) {
            return Err(format!(
                "Must have text between two parameters, missing text after \"{}\"",
                k.name
            ));
        }
        if text.is_empty() || text.chars().any(|c| DELIMITERS.contains(c)) {
            Ok(SEGMENT.to_owned())
        } else {
            // `(?:(?!text)[^/#?])+?`: a lookahead, which this crate's regex engine lacks.
            Err(format!(
                "a parameter after {text:?} needs a lookahead (put a / before the parameter)"
            ))
        }
    };
    while i < tokens.len() {
        let ch = take(&mut i, Kind::Char);
        let name = take(&mut i, Kind::Name);
        let pattern = take(&mut i, Kind::Pattern);
        if name.is_some() || pattern.is_some() {
            let mut prefix = ch.unwrap_or_default();
            if !PREFIXES.contains(prefix.as_str()) || prefix.is_empty() {
                path.push_str(&prefix);
                prefix.clear();
            }
            if !path.is_empty() {
                out.push(Part::Text(std::mem::take(&mut path)));
            }
            let key_name = match name {
                Some(n) => n,
                None => {
                    key_index += 1;
                    (key_index - 1).to_string()
                }
            };
            let pattern = match pattern {
                Some(p) => p,
                None => default_pattern(&out, &prefix)?,
            };
            let modifier = take(&mut i, Kind::Modifier).unwrap_or_default();
            out.push(Part::Key(Key {
                name: key_name,
                prefix,
                suffix: String::new(),
                pattern,
                modifier,
            }));
            continue;
        }
        if let Some(c) = ch.or_else(|| take(&mut i, Kind::Escaped)) {
            path.push_str(&c);
            continue;
        }
        if !path.is_empty() {
            out.push(Part::Text(std::mem::take(&mut path)));
        }
        if take(&mut i, Kind::Open).is_some() {
            let text = |i: &mut usize| {
                let mut t = String::new();
                while let Some(c) = take(i, Kind::Char).or_else(|| take(i, Kind::Escaped)) {
                    t.push_str(&c);
                }
                t
            };
            let prefix = text(&mut i);
            let name = take(&mut i, Kind::Name).unwrap_or_default();
            let pattern = take(&mut i, Kind::Pattern).unwrap_or_default();
            let suffix = text(&mut i);
            if take(&mut i, Kind::Close).is_none() {
                return Err(format!("Unexpected token at {i}, expected CLOSE"));
            }
            let key_name = if !name.is_empty() {
                name.clone()
            } else if !pattern.is_empty() {
                key_index += 1;
                (key_index - 1).to_string()
            } else {
                String::new()
            };
            let pattern = if !name.is_empty() && pattern.is_empty() {
                default_pattern(&out, &prefix)?
            } else {
                pattern
            };
            let modifier = take(&mut i, Kind::Modifier).unwrap_or_default();
            out.push(Part::Key(Key {
                name: key_name,
                prefix,
                suffix,
                pattern,
                modifier,
            }));
            continue;
        }
        if take(&mut i, Kind::End).is_none() {
            return Err(format!("Unexpected token at {i}, expected END"));
        }
    }
    Ok(out)
}

/// `tokensToRegexp` with the defaults (start, end, not strict): the regex source and the
/// parameters in group order.
fn to_regex(parts: &[Part], keys: &mut Vec<Key>) -> Result<String, PatternError> {
    let mut route = String::from("^");
    for part in parts {
        match part {
            Part::Text(t) => route.push_str(&regex_lite::escape(t)),
            Part::Key(k) => {
                let prefix = regex_lite::escape(&k.prefix);
                let suffix = regex_lite::escape(&k.suffix);
                if k.pattern.is_empty() {
                    route.push_str(&format!("(?:{prefix}{suffix}){}", k.modifier));
                    continue;
                }
                keys.push(k.clone());
                let p = &k.pattern;
                if !prefix.is_empty() || !suffix.is_empty() {
                    if k.modifier == "+" || k.modifier == "*" {
                        let opt = if k.modifier == "*" { "?" } else { "" };
                        route.push_str(&format!(
                            "(?:{prefix}((?:{p})(?:{suffix}{prefix}(?:{p}))*){suffix}){opt}"
                        ));
                    } else {
                        route.push_str(&format!("(?:{prefix}({p}){suffix}){}", k.modifier));
                    }
                } else {
                    if k.modifier == "+" || k.modifier == "*" {
                        return Err(format!(
                            "Can not repeat \"{}\" without a prefix and suffix",
                            k.name
                        ));
                    }
                    route.push_str(&format!("({p}){}", k.modifier));
                }
            }
        }
    }
    route.push_str("[/#?]?$");
    Ok(route)
}

/// A list of patterns as `path-to-regexp`'s `match(array)` compiles it: one case-insensitive
/// alternation.
fn compile_list(patterns: &[String]) -> Result<Matcher, PatternError> {
    let mut keys = Vec::new();
    let mut sources = Vec::new();
    for p in patterns {
        let parts = parse(p).map_err(|e| format!("{p:?}: {e}"))?;
        sources.push(to_regex(&parts, &mut keys).map_err(|e| format!("{p:?}: {e}"))?);
    }
    let source = format!("(?i)(?:{})", sources.join("|"));
    let regex = Regex::new(&source).map_err(|e| format!("{patterns:?}: {e}"))?;
    if regex.captures_len() != keys.len() + 1 {
        return Err(format!(
            "{patterns:?}: capturing groups inside a custom pattern"
        ));
    }
    Ok(Matcher { regex, keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(org: &[&str], personal: &[&str]) -> OrganizationMatcher {
        OrganizationMatcher::new(
            &OrganizationSync::new()
                .organization_patterns(org.iter().copied())
                .personal_account_patterns(personal.iter().copied()),
        )
        .unwrap() // ok: test
    }

    #[test]
    fn clerk_documented_patterns() {
        let m = m(
            &["/orgs/:slug", "/orgs/:slug/(.*)", "/o/:id"],
            &["/me", "/me/(.*)"],
        );
        let slug = |s: &str| OrgTarget::Organization {
            id: None,
            slug: Some(ParamValue::One(s.into())),
        };
        assert_eq!(m.find_target("/orgs/acme"), Some(slug("acme")));
        assert_eq!(m.find_target("/orgs/acme/"), Some(slug("acme")));
        assert_eq!(m.find_target("/ORGS/Acme/settings/x"), Some(slug("Acme")));
        assert_eq!(
            m.find_target("/o/org_1"),
            Some(OrgTarget::Organization {
                id: Some(ParamValue::One("org_1".into())),
                slug: None
            })
        );
        assert_eq!(m.find_target("/me"), Some(OrgTarget::PersonalAccount));
        assert_eq!(m.find_target("/me/a/b"), Some(OrgTarget::PersonalAccount));
        assert_eq!(m.find_target("/other"), None);
        assert_eq!(m.find_target("/orgs"), None);
    }

    #[test]
    fn refused_patterns() {
        let refuse = |p: &str| {
            OrganizationMatcher::new(&OrganizationSync::new().organization_patterns([p])).is_err()
        };
        assert!(refuse("/:"));
        assert!(refuse("/(a(b))"));
        assert!(refuse("/:a-:b"));
        assert!(!refuse("/org-:slug"));
        assert!(refuse("/(?=x)"));
        assert!(!refuse("/orgs/:slug+"));
    }
}
