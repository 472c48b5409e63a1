//! The semantic check (Wireshark's `semcheck.c`): resolves names against the field registry,
//! decides which words are fields and which are literals, checks every operator against the
//! operands' types ([`Op::allowed`]), parses literals into the field's type, and builds the
//! program.

use std::cell::RefCell;
use std::sync::Arc;

use osprey_field::{registry, FieldDef, FieldType, Info};

use crate::error::{FilterError, FilterWarning, Result, Span};
use crate::literal::{self, IntError, Lit};
use crate::ops::{a_type, compatible, sliceable, type_name, Op};
use crate::parser::{Expr, SetElem, Term, TermKind};
use crate::program::{Func, Node, Operand, Set, SetItem};

/// The largest compiled regular expression, in bytes (regex crate `size_limit`).
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// The lazy DFA cache per regular expression.
const REGEX_DFA_LIMIT: usize = 1 << 20;

/// Checks `expr` and builds its program; also returns the deprecated forms it uses.
pub(crate) fn check(text: &str, expr: &Expr) -> Result<(Node, Vec<FilterWarning>)> {
    let checker = Checker {
        text,
        warnings: RefCell::new(Vec::new()),
    };
    let node = checker.expr(expr)?;
    Ok((node, checker.warnings.into_inner()))
}

struct Checker<'a> {
    text: &'a str,
    /// Deprecated forms met so far (the filter still compiles).
    warnings: RefCell<Vec<FilterWarning>>,
}

/// A checked operand: a value source with its type, or a literal still to be typed.
enum Side<'t> {
    Value {
        operand: Operand,
        ty: FieldType,
        info: Option<Info>,
        span: Span,
    },
    Literal(&'t Term),
}

fn err<T>(span: Span, msg: impl Into<String>) -> Result<T> {
    Err(FilterError::new(span, msg))
}

impl<'a> Checker<'a> {
    fn src(&self, span: Span) -> &'a str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    fn warn(&self, span: Span, message: String) {
        self.warnings
            .borrow_mut()
            .push(FilterWarning::new(span, message));
    }

    /// Wireshark's warnings about an operator: `~=`, renamed `!==` (any_ne), and `!=` on a
    /// field holding both a source and a destination value, where it means "neither equals"
    /// (Wireshark 3.x's "may have unexpected results").
    fn warn_operator(&self, op: Op, op_span: Span, field: Option<&FieldDef>, field_span: Span) {
        if self.src(op_span) == "~=" {
            self.warn(
                op_span,
                "\"~=\" is deprecated: use \"!==\" (any_ne), which means the same".into(),
            );
        }
        let both_ends = field.is_some_and(|f| {
            f.name.starts_with("Source or Destination")
                || f.blurb.starts_with("Source or Destination")
        });
        if op == Op::Ne && both_ends {
            let name = self.src(field_span);
            self.warn(
                op_span,
                format!("\"{}\" may have unexpected results: {name} has a source and a destination value, and it is true only when neither equals (\"!==\" is true when one differs)", self.src(op_span)),
            );
        }
    }

    fn expr(&self, e: &Expr) -> Result<Node> {
        Ok(match e {
            Expr::Or(es) => Node::Or(es.iter().map(|e| self.expr(e)).collect::<Result<_>>()?),
            Expr::And(es) => Node::And(es.iter().map(|e| self.expr(e)).collect::<Result<_>>()?),
            Expr::Xor(es) => Node::Xor(es.iter().map(|e| self.expr(e)).collect::<Result<_>>()?),
            Expr::Not(e) => Node::Not(Box::new(self.expr(e)?)),
            Expr::Test(t) => self.test(t)?,
            Expr::Cmp {
                lhs,
                op,
                op_span,
                rhs,
            } => self.cmp(lhs, *op, *op_span, rhs)?,
            Expr::In {
                lhs,
                negated,
                op_span,
                set,
            } => {
                let node = self.set(lhs, *op_span, set)?;
                if *negated {
                    Node::Not(Box::new(node))
                } else {
                    node
                }
            }
        })
    }

    /// Looks a name up, registering `tracee.args.<event>.<arg>` names on first use.
    fn resolve(&self, name: &str) -> Option<(Operand, FieldType, Info)> {
        let id = registry().resolve(name)?;
        let info = registry().get(id)?;
        // Argument fields registered at run time are typed per value, whatever type the data
        // seen so far gave them: a filter must mean the same before and after data is read.
        let ty = if id.is_dynamic() {
            FieldType::Dynamic
        } else {
            info.ty
        };
        Some((Operand::Field(id), ty, info))
    }

    fn unknown_field(span: Span, name: &str) -> FilterError {
        FilterError::new(
            span,
            format!("\"{name}\" is not a valid protocol or protocol field"),
        )
    }

    /// Resolves a term to a value source or leaves it a literal.
    fn side<'t>(&self, t: &'t Term) -> Result<Side<'t>> {
        match &t.kind {
            TermKind::Word(w) => match self.resolve(w) {
                Some((operand, ty, info)) => Ok(Side::Value {
                    operand,
                    ty,
                    info: Some(info),
                    span: t.span,
                }),
                None => Ok(Side::Literal(t)),
            },
            TermKind::Field(name) => match self.resolve(name) {
                Some((operand, ty, info)) => Ok(Side::Value {
                    operand,
                    ty,
                    info: Some(info),
                    span: t.span,
                }),
                None => Err(Self::unknown_field(t.span, name)),
            },
            TermKind::Str(_) | TermKind::Char(_) => Ok(Side::Literal(t)),
            TermKind::Slice(inner, ranges) => {
                let (operand, ty) = self.value(inner, "sliced")?;
                if !sliceable(ty) {
                    let name = self.src(inner.span);
                    let why = if ty == FieldType::Protocol {
                        format!("\"{name}\" is a protocol: Osprey keeps no protocol bytes to slice")
                    } else {
                        format!(
                            "\"{name}\" is {} and cannot be sliced into a sequence of bytes",
                            a_type(ty)
                        )
                    };
                    return err(inner.span, why);
                }
                let operand = Operand::Slice(Box::new(operand), ranges.clone().into_boxed_slice());
                Ok(Side::Value {
                    operand,
                    ty: FieldType::Bytes,
                    info: None,
                    span: t.span,
                })
            }
            TermKind::Call {
                name,
                name_span,
                args,
            } => {
                let (operand, ty) = self.call(name, *name_span, args)?;
                Ok(Side::Value {
                    operand,
                    ty,
                    info: None,
                    span: t.span,
                })
            }
            TermKind::BitAnd(a, b) => {
                let (operand, ty) = self.value(a, "used with \"&\"")?;
                // Bytes too: Wireshark's default "Broadcast" rule is `eth[0] & 1`.
                if !matches!(
                    ty,
                    FieldType::Int
                        | FieldType::UInt
                        | FieldType::Bool
                        | FieldType::Dynamic
                        | FieldType::Bytes
                        | FieldType::Ether
                ) {
                    return err(
                        a.span,
                        format!(
                            "\"{}\" is {}; \"&\" needs an integer field",
                            self.src(a.span),
                            a_type(ty)
                        ),
                    );
                }
                let mask = match &b.kind {
                    TermKind::Word(w) => literal::parse_int(w).ok(),
                    TermKind::Char(c) => Some(*c as i128),
                    _ => None,
                };
                let Some(mask) = mask else {
                    return err(
                        b.span,
                        format!(
                            "expected an integer mask after \"&\", found {}",
                            self.src(b.span)
                        ),
                    );
                };
                Ok(Side::Value {
                    operand: Operand::BitAnd(Box::new(operand), mask),
                    ty,
                    info: None,
                    span: t.span,
                })
            }
        }
    }

    /// A term that must be a value source (not a literal).
    fn value(&self, t: &Term, role: &str) -> Result<(Operand, FieldType)> {
        match self.side(t)? {
            Side::Value { operand, ty, .. } => Ok((operand, ty)),
            Side::Literal(t) => match &t.kind {
                TermKind::Word(w) if looks_like_name(w) => Err(Self::unknown_field(t.span, w)),
                _ => err(
                    t.span,
                    format!(
                        "only fields can be {role}; {} is a literal value",
                        self.src(t.span)
                    ),
                ),
            },
        }
    }

    fn test(&self, t: &Term) -> Result<Node> {
        match self.side(t)? {
            Side::Value { operand: Operand::Func(_), span, .. } => {
                err(span, "a function cannot be tested for presence: compare its result, e.g. len(x) > 0")
            }
            Side::Value { operand, .. } => Ok(Node::Test(operand)),
            Side::Literal(t) => match &t.kind {
                TermKind::Word(w) => Err(Self::unknown_field(t.span, w)),
                _ => err(t.span, format!("{} is a literal value, not a test: compare it with a field, e.g. http.host == {}", self.src(t.span), self.src(t.span))),
            },
        }
    }

    fn cmp(&self, lhs: &Term, op: Op, op_span: Span, rhs: &Term) -> Result<Node> {
        let l = self.side(lhs)?;
        let r = self.side(rhs)?;
        match (l, r) {
            (
                Side::Value {
                    operand,
                    ty,
                    info,
                    span,
                },
                Side::Literal(t),
            ) => {
                self.check_op(op, op_span, ty, span)?;
                self.warn_operator(op, op_span, info.as_deref(), span);
                let lit = self.literal(t, ty, op, info.as_deref(), self.src(span))?;
                Ok(Node::CmpLit {
                    lhs: operand,
                    op,
                    lit: Box::new(lit),
                })
            }
            (
                Side::Literal(t),
                Side::Value {
                    operand,
                    ty,
                    info,
                    span,
                },
            ) => {
                if matches!(&t.kind, TermKind::Word(w) if looks_like_name(w)) {
                    return Err(Self::unknown_field(t.span, self.src(t.span)));
                }
                let Some(flipped) = op.flipped() else {
                    return err(
                        t.span,
                        format!(
                            "the left side of \"{}\" must be a field or function, not {}",
                            op.symbol(),
                            self.src(t.span)
                        ),
                    );
                };
                self.check_op(flipped, op_span, ty, span)?;
                self.warn_operator(flipped, op_span, info.as_deref(), span);
                let lit = self.literal(t, ty, flipped, info.as_deref(), self.src(span))?;
                Ok(Node::CmpLit {
                    lhs: operand,
                    op: flipped,
                    lit: Box::new(lit),
                })
            }
            (
                Side::Value {
                    operand: lo,
                    ty: lt,
                    span: ls,
                    ..
                },
                Side::Value {
                    operand: ro,
                    ty: rt,
                    span: rs,
                    ..
                },
            ) => {
                self.check_op(op, op_span, lt, ls)?;
                if op == Op::Matches {
                    return err(rs, "\"matches\" needs a regular expression in double quotes on its right, e.g. matches \"^/etc/\"");
                }
                self.check_op(op, op_span, rt, rs)?;
                if !compatible(lt, rt) {
                    return err(
                        rs,
                        format!(
                            "{} ({}) and {} ({}) are not of compatible types",
                            self.src(ls),
                            type_name(lt),
                            self.src(rs),
                            type_name(rt)
                        ),
                    );
                }
                Ok(Node::CmpOperand {
                    lhs: lo,
                    op,
                    rhs: ro,
                })
            }
            (Side::Literal(a), Side::Literal(_)) => {
                if let TermKind::Word(w) = &a.kind {
                    if looks_like_name(w) {
                        return Err(Self::unknown_field(a.span, w));
                    }
                }
                err(
                    lhs.span.to(rhs.span),
                    format!(
                        "{} {} {} compares two values: one side must be a field or function",
                        self.src(lhs.span),
                        op.symbol(),
                        self.src(rhs.span)
                    ),
                )
            }
        }
    }

    /// Checks that `op` applies to a value of type `ty` (at `span`).
    fn check_op(&self, op: Op, op_span: Span, ty: FieldType, span: Span) -> Result<()> {
        if op.allowed(ty) {
            return Ok(());
        }
        let name = self.src(span);
        if matches!(ty, FieldType::Protocol | FieldType::None) {
            return err(
                span.to(op_span),
                format!(
                    "\"{name}\" is a {}: it can only be tested for presence, not with \"{}\"",
                    type_name(ty),
                    op.symbol()
                ),
            );
        }
        err(
            span,
            format!(
                "\"{name}\" ({}) cannot be used with \"{}\"",
                type_name(ty),
                op.symbol()
            ),
        )
    }

    fn set(&self, lhs: &Term, op_span: Span, elems: &[SetElem]) -> Result<Node> {
        let (operand, ty, info, span) = match self.side(lhs)? {
            Side::Value {
                operand,
                ty,
                info,
                span,
            } => (operand, ty, info, span),
            Side::Literal(t) => match &t.kind {
                TermKind::Word(w) if looks_like_name(w) => {
                    return Err(Self::unknown_field(t.span, w))
                }
                _ => {
                    return err(
                        t.span,
                        format!(
                            "the left side of \"in\" must be a field or function, not {}",
                            self.src(t.span)
                        ),
                    )
                }
            },
        };
        self.check_op(Op::In, op_span, ty, span)?;
        let name = self.src(span).to_string();
        let mut items = Vec::with_capacity(elems.len());
        for e in elems {
            let lo = self.side(&e.lo)?;
            match (lo, &e.hi) {
                (Side::Literal(t), None) => items.push(SetItem::Value(self.literal(
                    t,
                    ty,
                    Op::In,
                    info.as_deref(),
                    &name,
                )?)),
                (Side::Literal(t), Some(hi)) => {
                    self.check_op(Op::Le, op_span, ty, span)?;
                    let hi_side = self.side(hi)?;
                    let Side::Literal(h) = hi_side else {
                        return err(hi.span, "the ends of a range must be values, not fields");
                    };
                    let lo = self.literal(t, ty, Op::Le, info.as_deref(), &name)?;
                    let hi = self.literal(h, ty, Op::Le, info.as_deref(), &name)?;
                    items.push(SetItem::Range(Box::new(lo), Box::new(hi)));
                }
                (
                    Side::Value {
                        operand: o,
                        ty: ot,
                        span: os,
                        ..
                    },
                    None,
                ) => {
                    if !compatible(ty, ot) {
                        return err(
                            os,
                            format!(
                                "{name} ({}) and {} ({}) are not of compatible types",
                                type_name(ty),
                                self.src(os),
                                type_name(ot)
                            ),
                        );
                    }
                    items.push(SetItem::Operand(o));
                }
                (Side::Value { span: os, .. }, Some(_)) => {
                    return err(os, "the ends of a range must be values, not fields");
                }
            }
        }
        let plain_text = |l: &Lit| !l.numeric_text && l.ipv4.is_none() && l.ipv6.is_none();
        let sorted_text = (ty == FieldType::String
            && items
                .iter()
                .all(|i| matches!(i, SetItem::Value(l) if plain_text(l))))
        .then(|| {
            let mut v: Vec<Box<[u8]>> = items
                .iter()
                .filter_map(|i| {
                    if let SetItem::Value(l) = i {
                        Some(l.text.clone())
                    } else {
                        None
                    }
                })
                .collect();
            v.sort();
            v.dedup();
            v
        });
        Ok(Node::In {
            lhs: operand,
            set: Box::new(Set { sorted_text, items }),
        })
    }

    fn call(&self, name: &str, name_span: Span, args: &[Term]) -> Result<(Operand, FieldType)> {
        let arity = |min: usize, max: usize| -> Result<()> {
            if args.len() < min || args.len() > max {
                let takes = if min == max {
                    format!("{min} argument{}", if min == 1 { "" } else { "s" })
                } else if max == usize::MAX {
                    format!("at least {min} argument{}", if min == 1 { "" } else { "s" })
                } else {
                    format!("{min} to {max} arguments")
                };
                return err(
                    name_span,
                    format!("{name}() takes {takes}, {} given", args.len()),
                );
            }
            Ok(())
        };
        let arg = |i: usize| -> Result<(Operand, FieldType, Span)> {
            let (o, t) = self.value(&args[i], &format!("arguments of {name}()"))?;
            Ok((o, t, args[i].span))
        };
        let func = |f: Func| Operand::Func(Box::new(f));
        match name {
            "len" => {
                arity(1, 1)?;
                let (o, t, s) = arg(0)?;
                if !sliceable(t) {
                    return err(s, format!("len() needs a string, byte or address field; \"{}\" is {}", self.src(s), a_type(t)));
                }
                Ok((func(Func::Len(o)), FieldType::UInt))
            }
            "count" => {
                arity(1, 1)?;
                let (o, _, _) = arg(0)?;
                Ok((func(Func::Count(o)), FieldType::UInt))
            }
            "lower" | "upper" => {
                arity(1, 1)?;
                let (o, t, s) = arg(0)?;
                if !matches!(t, FieldType::String | FieldType::Dynamic) {
                    return err(s, format!("only string fields can be the argument of {name}(); \"{}\" is {}", self.src(s), a_type(t)));
                }
                let f = if name == "lower" { Func::Lower(o) } else { Func::Upper(o) };
                Ok((func(f), FieldType::String))
            }
            "string" => {
                arity(1, 1)?;
                let (o, t, s) = arg(0)?;
                if matches!(t, FieldType::Protocol | FieldType::None) {
                    return err(s, format!("\"{}\" is {} and has no value to convert", self.src(s), a_type(t)));
                }
                let info = match &o {
                    Operand::Field(id) => registry().info(*id),
                    _ => Info::Dynamic(Arc::new(FieldDef::new("string", "string", t))),
                };
                Ok((func(Func::String(o, info)), FieldType::String))
            }
            "max" | "min" => {
                arity(1, usize::MAX)?;
                let mut ops = Vec::new();
                let mut ty = FieldType::Dynamic;
                for i in 0..args.len() {
                    let (o, t, s) = arg(i)?;
                    if !matches!(t, FieldType::Int | FieldType::UInt | FieldType::Double | FieldType::AbsTime | FieldType::RelTime | FieldType::Dynamic) {
                        return err(s, format!("{name}() needs number or time fields; \"{}\" is {}", self.src(s), a_type(t)));
                    }
                    if ty != FieldType::Dynamic && t != FieldType::Dynamic && !compatible(ty, t) {
                        return err(s, format!("the arguments of {name}() must have one type; \"{}\" is {}", self.src(s), a_type(t)));
                    }
                    if ty == FieldType::Dynamic {
                        ty = t;
                    }
                    ops.push(o);
                }
                let f = if name == "max" { Func::Max(ops) } else { Func::Min(ops) };
                Ok((func(f), ty))
            }
            "abs" => {
                arity(1, 1)?;
                let (o, t, s) = arg(0)?;
                if !matches!(t, FieldType::Int | FieldType::UInt | FieldType::Double | FieldType::RelTime | FieldType::Dynamic) {
                    return err(s, format!("abs() needs a number field; \"{}\" is {}", self.src(s), a_type(t)));
                }
                Ok((func(Func::Abs(o)), t))
            }
            _ => err(name_span, format!("unknown function \"{name}\" (functions: len, count, lower, upper, string, max, min, abs)")),
        }
    }

    /// Parses literal `t` for comparing with a value of type `ty` by `op`. `info` is the
    /// field's declaration when the other side is a plain field; `name` names it in messages.
    fn literal(
        &self,
        t: &Term,
        ty: FieldType,
        op: Op,
        info: Option<&FieldDef>,
        name: &str,
    ) -> Result<Lit> {
        let span = t.span;
        let written = self.src(span);
        let (text, quoted): (Vec<u8>, bool) = match &t.kind {
            TermKind::Word(w) => (w.as_bytes().to_vec(), false),
            TermKind::Str(s) => (s.clone(), true),
            TermKind::Char(c) => (vec![*c], false),
            _ => return err(span, format!("expected a value, found {written}")),
        };
        let char_value = if let TermKind::Char(c) = t.kind {
            Some(c as i128)
        } else {
            None
        };
        let word = if quoted {
            None
        } else {
            std::str::from_utf8(&text)
                .ok()
                .filter(|_| char_value.is_none())
        };
        let mut lit = Lit::text(&text);

        if op == Op::Matches {
            if !quoted {
                return err(span, format!("\"matches\" needs a regular expression in double quotes, e.g. matches \"{written}\""));
            }
            let Ok(pattern) = std::str::from_utf8(&text) else {
                return err(span, "a regular expression must be valid UTF-8 text");
            };
            let re = regex::bytes::RegexBuilder::new(pattern)
                .case_insensitive(true)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_DFA_LIMIT)
                .nest_limit(64)
                .build()
                .map_err(|e| {
                    let detail = match e {
                        regex::Error::CompiledTooBig(_) => "it is too large to compile".to_string(),
                        other => other
                            .to_string()
                            .lines()
                            .last()
                            .unwrap_or("")
                            .trim()
                            .trim_start_matches("error: ")
                            .to_string(),
                    };
                    FilterError::new(
                        span,
                        format!("invalid regular expression {written}: {detail}"),
                    )
                })?;
            lit.regex = Some(Box::new(re));
            return Ok(lit);
        }

        let not_from_string = |what: &str| -> Result<Lit> {
            err(span, format!("{written} is a quoted string, but {name} is a {what}: write the value without quotes"))
        };
        match ty {
            FieldType::Protocol | FieldType::None => {
                return err(
                    span,
                    format!("\"{name}\" is {} and has no value to compare", a_type(ty)),
                );
            }
            FieldType::String => {
                if let Some(w) = word {
                    if let Some(f) = literal::parse_float(w) {
                        lit.numeric_text = true;
                        lit.float = Some(f);
                    }
                    if w.contains('/') {
                        lit.ipv4 = literal::parse_ipv4(w).ok();
                        lit.ipv6 = literal::parse_ipv6(w).ok();
                    }
                }
            }
            FieldType::Bytes => {
                if let Some(w) = word {
                    match literal::parse_bytes(w) {
                        Some(b) => lit.bytes = Some(b.into()),
                        None => return err(span, format!("\"{w}\" is not a valid byte string (e.g. 47:45:54); text goes in double quotes: \"{w}\"")),
                    }
                } else {
                    lit.bytes = Some(text.clone().into());
                }
            }
            FieldType::Ether => {
                let Some(w) = word else {
                    if char_value.is_some() && op == Op::Contains {
                        lit.bytes = Some(text.clone().into());
                        lit.prepare_contains();
                        return Ok(lit);
                    }
                    return not_from_string("Ethernet address");
                };
                if op == Op::Contains {
                    match literal::parse_bytes(w) {
                        Some(b) => lit.bytes = Some(b.into()),
                        None => {
                            return err(
                                span,
                                format!("\"{w}\" is not a valid byte string (e.g. 00:1b)"),
                            )
                        }
                    }
                } else {
                    lit.ether =
                        Some(literal::parse_ether(w).map_err(|m| FilterError::new(span, m))?);
                }
            }
            FieldType::Ipv4 => {
                let Some(w) = word else {
                    return not_from_string("IPv4 address");
                };
                lit.ipv4 = Some(literal::parse_ipv4(w).map_err(|m| FilterError::new(span, m))?);
            }
            FieldType::Ipv6 => {
                let Some(w) = word else {
                    return not_from_string("IPv6 address");
                };
                lit.ipv6 = Some(literal::parse_ipv6(w).map_err(|m| FilterError::new(span, m))?);
            }
            FieldType::Bool => {
                let b = match (word, quoted) {
                    (Some(w), _) => literal::parse_bool(w),
                    (None, true) => std::str::from_utf8(&text).ok().and_then(|s| {
                        if s.eq_ignore_ascii_case("true") {
                            Some(true)
                        } else if s.eq_ignore_ascii_case("false") {
                            Some(false)
                        } else {
                            None
                        }
                    }),
                    (None, false) => None,
                };
                let Some(b) = b else {
                    return err(
                        span,
                        format!(
                            "{written} is not a valid boolean for {name} (use true, false, 1 or 0)"
                        ),
                    );
                };
                lit.boolean = Some(b);
            }
            FieldType::Int | FieldType::UInt => {
                let n = if let Some(c) = char_value {
                    c
                } else {
                    let parsed = word.map(literal::parse_int);
                    match parsed {
                        Some(Ok(n)) => n,
                        Some(Err(IntError::Overflow)) => {
                            return err(span, format!("{written} causes an integer overflow"))
                        }
                        _ => {
                            // A value name from the field's table (`PTRACE_ATTACH`, `TCP`).
                            let strings = info.map(|i| i.strings).unwrap_or(&[]);
                            let s = String::from_utf8_lossy(&text);
                            match strings.iter().find(|(_, n)| n.eq_ignore_ascii_case(&s)) {
                                Some((v, _)) => {
                                    if !quoted {
                                        self.warn(span, format!("Interpreting the symbol {s} as a value name of {name}: writing value names without double quotes is deprecated, write \"{s}\""));
                                    }
                                    *v as i128
                                }
                                None if !strings.is_empty() => {
                                    return err(span, format!("\"{s}\" cannot be found among the possible values for {name}"));
                                }
                                None if quoted => return not_from_string(type_name(ty)),
                                None => {
                                    return err(
                                        span,
                                        format!(
                                            "\"{s}\" is not a valid number for {name} ({})",
                                            a_type(ty)
                                        ),
                                    )
                                }
                            }
                        }
                    }
                };
                if ty == FieldType::Int && (n > i64::MAX as i128 || n < i64::MIN as i128) {
                    return err(
                        span,
                        format!("{written} is too big for {name} (a signed 64-bit integer)"),
                    );
                }
                lit.int = Some(n);
                lit.float = Some(n as f64);
            }
            FieldType::Double => {
                let f = match (char_value, word) {
                    (Some(c), _) => c as f64,
                    (None, Some(w)) => match literal::parse_float(w) {
                        Some(f) => f,
                        None => {
                            return err(
                                span,
                                format!(
                                    "\"{w}\" is not a valid number for {name} ({})",
                                    a_type(ty)
                                ),
                            )
                        }
                    },
                    (None, None) => return not_from_string(type_name(ty)),
                };
                lit.float = Some(f);
            }
            FieldType::AbsTime => {
                let s = String::from_utf8_lossy(&text);
                let epoch = info.is_some_and(|i| i.display == osprey_field::Display::Epoch);
                let t = literal::parse_abs_time(&s).or_else(|| {
                    // Fields shown as seconds since the epoch take a number of seconds, as
                    // `frame.time_epoch` does in tshark.
                    if epoch && !quoted {
                        literal::parse_rel_time(&s)
                    } else {
                        None
                    }
                });
                match t {
                    Some(t) => lit.abs = Some(t),
                    None => return err(span, literal::abs_time_error(&s)),
                }
            }
            FieldType::RelTime => {
                let Some(w) = word else {
                    if quoted {
                        return not_from_string("time offset (seconds)");
                    }
                    return err(
                        span,
                        format!("{written} is not a valid time offset in seconds (e.g. 1.5)"),
                    );
                };
                match literal::parse_rel_time(w) {
                    Some(t) => lit.rel = Some(t),
                    None => {
                        return err(
                            span,
                            format!("\"{w}\" is not a valid time offset in seconds (e.g. 1.5)"),
                        )
                    }
                }
            }
            FieldType::Dynamic => fill_dynamic(&mut lit, &text, char_value),
        }
        if op == Op::Contains {
            lit.prepare_contains();
        }
        Ok(lit)
    }
}

/// Every form a literal compared with an argument field can take; each value picks its own.
fn fill_dynamic(lit: &mut Lit, text: &[u8], char_value: Option<i128>) {
    if let Some(c) = char_value {
        lit.int = Some(c);
        lit.float = Some(c as f64);
        lit.bytes = Some(text.into());
        return;
    }
    let Ok(s) = std::str::from_utf8(text) else {
        return;
    };
    if let Ok(i) = literal::parse_int(s) {
        lit.int = Some(i);
    }
    if let Some(f) = literal::parse_float(s) {
        lit.float = Some(f);
        lit.numeric_text = true;
    }
    lit.boolean = if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        lit.int.map(|i| i != 0)
    };
    lit.ipv4 = literal::parse_ipv4(s).ok();
    lit.ipv6 = literal::parse_ipv6(s).ok();
    lit.ether = literal::parse_ether(s).ok();
    lit.bytes = literal::parse_bytes(s).map(Into::into);
    lit.abs = literal::parse_abs_time(s);
    lit.rel = literal::parse_rel_time(s);
}

/// True for a word that was meant as a field name rather than a value: it starts with a
/// letter or `_` and is not an address or byte string (`ab:cd`, `fe80::1`).
fn looks_like_name(w: &str) -> bool {
    let first = w.as_bytes().first().copied().unwrap_or(b'0');
    (first.is_ascii_alphabetic() || first == b'_')
        && !w.contains(':')
        && !w.eq_ignore_ascii_case("true")
        && !w.eq_ignore_ascii_case("false")
}
