//! The command line in the user's language: clap parses (args.rs), but every
//! description comes from `i18n::help`, and clap's errors are said here, by
//! kind, in Vietnamese or English (as JSON with `--json`).

use std::ffi::OsString;
use std::io::Write;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgMatches, Command, CommandFactory, FromArgMatches};

use crate::args::{Cli, LangArg};
use crate::error::EXIT_USER;
use crate::i18n::help::{self as text, Usage};
use crate::i18n::{self, Lang, T};

/// What must be known before parsing: the language and `--json`, so that an
/// error of the parse itself is said the way the user asked.
#[derive(Debug, Clone, Copy)]
pub struct Early {
    pub lang: Lang,
    pub json: bool,
}

/// Looks for `--lang X`, `--lang=X` and `--json` before a `--`.
pub fn prescan(argv: &[OsString]) -> Early {
    let mut lang = None;
    let mut json = false;
    let mut words = argv.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(w) = words.next() {
        match w.as_ref() {
            "--" => break,
            "--json" => json = true,
            "--lang" => lang = words.next().map(|v| v.into_owned()),
            other => {
                if let Some(v) = other.strip_prefix("--lang=") {
                    lang = Some(v.to_string());
                }
            }
        }
    }
    let arg = match lang.as_deref().map(str::trim) {
        Some("vi") => Some(LangArg::Vi),
        Some("en") => Some(LangArg::En),
        _ => None,
    };
    Early {
        lang: crate::i18n::detect_lang(arg),
        json,
    }
}

/// The whole command tree, built, with every description in `lang`.
pub fn command(lang: Lang) -> Command {
    let mut cmd = Cli::command();
    // Built first: the help and version flags, the help commands and the
    // global options copied into every command exist only then.
    cmd.build();
    localize(cmd, "", lang)
}

fn localize(mut cmd: Command, path: &str, lang: Lang) -> Command {
    // Clap's help commands mirror the tree (`gocua household help add`):
    // each says what the command it names does.
    let named: Vec<&str> = path.split(' ').filter(|w| *w != "help").collect();
    let about = if cmd.get_name() == "help" && !path.is_empty() {
        text::about(lang, "help")
    } else {
        text::about(lang, &named.join(" "))
    };
    if let Some(about) = about {
        cmd = cmd.about(about).long_about(None::<&str>);
    }
    cmd = cmd.subcommand_value_name(match lang {
        Lang::Vi => "LỆNH",
        Lang::En => "COMMAND",
    });
    let help_path = if cmd.get_name() == "help" && !path.is_empty() {
        "help"
    } else {
        path
    };
    let ids: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    for id in ids {
        cmd = cmd.mut_arg(&id, |a| localize_arg(a, help_path, &id, lang));
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for sub in subs {
        let sub_path = if path.is_empty() {
            sub.clone()
        } else {
            format!("{path} {sub}")
        };
        cmd = cmd.mut_subcommand(&sub, |c| localize(c, &sub_path, lang));
    }
    cmd
}

fn localize_arg(mut a: Arg, path: &str, id: &str, lang: Lang) -> Arg {
    if let Some(help) = text::arg(lang, path, id) {
        a = a.help(help).long_help(None::<&str>);
    }
    // A command's own options first, then those of every command.
    match id {
        "help" => a = a.display_order(1001),
        "version" => a = a.display_order(1002),
        _ if a.is_global_set() => a = a.display_order(1000),
        _ => {}
    }
    if a.get_action().takes_values()
        && let Some(name) = text::value_name(lang, id)
    {
        a = a.value_name(name);
    }
    a
}

/// Parses the command line; on a usage error (or `--help`, `--version`) says
/// it and gives the exit code to end with.
pub fn parse(argv: Vec<OsString>, early: Early) -> Result<Cli, u8> {
    let mut cmd = command(early.lang);
    let path = command_path(&cmd, &argv);
    let result = cmd
        .clone()
        .try_get_matches_from(argv)
        .and_then(|mut m: ArgMatches| Cli::from_arg_matches_mut(&mut m));
    result.map_err(|e| fail(&e, &mut cmd, &path, early))
}

/// The command the words of `argv` name (`gocua household add`): the
/// subcommands found in turn, options and values aside.
fn command_path(root: &Command, argv: &[OsString]) -> String {
    let mut path = vec![root.get_name().to_string()];
    let mut at = root;
    for word in argv.iter().skip(1).map(|w| w.to_string_lossy()) {
        if word == "--" {
            break;
        }
        if let Some(sub) = at.find_subcommand(word.as_ref()) {
            path.push(sub.get_name().to_string());
            at = sub;
        }
    }
    path.join(" ")
}

fn fail(e: &clap::Error, cmd: &mut Command, path: &str, early: Early) -> u8 {
    let lang = early.lang;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let shown = text::clap_text(lang, &e.render().to_string());
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{}", shown.trim_end()).and_then(|_| stdout.flush());
            0
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand if !early.json => {
            let shown = text::clap_text(lang, &e.render().to_string());
            let _ = write!(std::io::stderr().lock(), "{shown}");
            EXIT_USER as u8
        }
        _ => {
            let usage = describe(e, cmd, path);
            let message = text::usage(lang, &usage);
            let mut stderr = std::io::stderr().lock();
            let _ = if early.json {
                let value = serde_json::json!({
                    "error": "usage",
                    "kind": usage.kind(),
                    "field": usage.field(),
                    "message": message,
                });
                writeln!(stderr, "{value}")
            } else {
                writeln!(stderr, "{}: {message}", i18n::t(lang, T::ErrorPrefix))
            };
            EXIT_USER as u8
        }
    }
}

fn one(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => v.first().cloned(),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        _ => None,
    }
}

fn many(e: &clap::Error, kind: ContextKind) -> Vec<String> {
    match e.get(kind) {
        Some(ContextValue::String(s)) => vec![s.clone()],
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::StyledStr(s)) => vec![s.to_string()],
        _ => Vec::new(),
    }
}

/// The command a usage line is about (`gocua household add`), from the error's
/// usage: its words up to the first option or placeholder.
fn command_of(e: &clap::Error) -> String {
    let usage = one(e, ContextKind::Usage).unwrap_or_default();
    let line = usage
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let line = line.split_once(':').map_or(line, |(_, rest)| rest);
    let words: Vec<&str> = line
        .split_whitespace()
        .take_while(|w| !(w.starts_with('[') || w.starts_with('<') || w.starts_with('-')))
        .collect();
    if words.is_empty() {
        "gocua".to_string()
    } else {
        words.join(" ")
    }
}

/// The command at `command` (`gocua household add`) in the tree.
fn find<'c>(root: &'c Command, command: &str) -> Option<&'c Command> {
    command
        .split_whitespace()
        .skip(1)
        .try_fold(root, |c, name| c.find_subcommand(name))
}

/// What argument `shown` (`--head <HỌ_TÊN>`, `<MÃ_HỘ>`) of `cmd` means.
fn meaning(cmd: Option<&Command>, shown: &str) -> Option<&'static str> {
    let cmd = cmd?;
    let first = shown.split_whitespace().next().unwrap_or(shown);
    let arg = if let Some(long) = first.strip_prefix("--") {
        let long = long.split('=').next().unwrap_or(long);
        cmd.get_arguments().find(|a| a.get_long() == Some(long))
    } else {
        let name = first.trim_matches(|c| c == '<' || c == '>' || c == '[' || c == ']');
        let name = name.trim_end_matches("...");
        cmd.get_positionals().find(|a| {
            a.get_value_names()
                .and_then(|v| v.first())
                .is_some_and(|v| v.as_str() == name)
                || a.get_id().as_str().eq_ignore_ascii_case(name)
        })
    }?;
    help_static(arg)
}

/// An argument's description, which came from `i18n::help` (static texts).
fn help_static(arg: &Arg) -> Option<&'static str> {
    let shown = arg.get_help()?.to_string();
    text::all()
        .into_iter()
        .flat_map(|(_, vi, en)| [vi, en])
        .find(|t| *t == shown)
}

fn describe(e: &clap::Error, root: &mut Command, path: &str) -> Usage {
    // The words typed say which command; clap's usage line, when the error
    // has one, may name a deeper one (a missing subcommand's).
    let from_usage = command_of(e);
    let command = if from_usage.split_whitespace().count() > path.split_whitespace().count() {
        from_usage
    } else {
        path.to_string()
    };
    let cmd = find(root, &command);
    let arg = one(e, ContextKind::InvalidArg).unwrap_or_default();
    let subcommands = |c: Option<&Command>| -> Vec<String> {
        c.map(|c| {
            c.get_subcommands()
                .map(|s| s.get_name().to_string())
                .filter(|n| n != "help")
                .collect()
        })
        .unwrap_or_default()
    };
    match e.kind() {
        ErrorKind::UnknownArgument => Usage::UnknownArgument {
            arg,
            suggestion: one(e, ContextKind::SuggestedArg),
            command,
        },
        ErrorKind::InvalidSubcommand => Usage::UnknownCommand {
            name: one(e, ContextKind::InvalidSubcommand).unwrap_or_default(),
            suggestion: one(e, ContextKind::SuggestedSubcommand),
            commands: subcommands(cmd),
            command,
        },
        ErrorKind::MissingRequiredArgument => Usage::Missing {
            args: many(e, ContextKind::InvalidArg)
                .into_iter()
                .map(|a| {
                    let m = meaning(cmd, &a);
                    (a, m)
                })
                .collect(),
            command,
        },
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            Usage::MissingCommand {
                commands: subcommands(cmd),
                command,
            }
        }
        ErrorKind::InvalidValue => {
            let allowed = many(e, ContextKind::ValidValue);
            let value = one(e, ContextKind::InvalidValue).unwrap_or_default();
            if value.is_empty() {
                Usage::NoValue {
                    meaning: meaning(cmd, &arg),
                    arg,
                }
            } else if allowed.is_empty() {
                Usage::BadValue {
                    meaning: meaning(cmd, &arg),
                    arg,
                    value,
                }
            } else {
                Usage::NotAllowed {
                    arg,
                    value,
                    allowed,
                }
            }
        }
        ErrorKind::ValueValidation => Usage::BadValue {
            meaning: meaning(cmd, &arg),
            value: one(e, ContextKind::InvalidValue).unwrap_or_default(),
            arg,
        },
        ErrorKind::ArgumentConflict => Usage::Conflict {
            other: one(e, ContextKind::PriorArg).unwrap_or_default(),
            arg,
        },
        ErrorKind::NoEquals
        | ErrorKind::TooManyValues
        | ErrorKind::TooFewValues
        | ErrorKind::WrongNumberOfValues => Usage::WrongValues { arg },
        _ => Usage::Other { command },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command and argument of the tree, with its description.
    fn walk(cmd: &Command, path: &str, out: &mut Vec<(String, Option<String>)>) {
        out.push((
            format!("command `{path}`"),
            cmd.get_about().map(|a| a.to_string()),
        ));
        for a in cmd.get_arguments() {
            out.push((
                format!("`{path}` argument {}", a.get_id()),
                a.get_help().map(|h| h.to_string()),
            ));
        }
        for s in cmd.get_subcommands() {
            walk(s, &format!("{path} {}", s.get_name()), out);
        }
    }

    #[test]
    fn every_command_and_argument_is_described_in_both_languages() {
        let mut vi = Vec::new();
        walk(&command(Lang::Vi), "gocua", &mut vi);
        let mut en = Vec::new();
        walk(&command(Lang::En), "gocua", &mut en);
        assert_eq!(vi.len(), en.len());
        assert!(vi.len() > 150, "the tree looks cut short: {}", vi.len());
        // Every gap at once: one run tells what to add to the table.
        let mut gaps = Vec::new();
        for ((what, v), (what_en, e)) in vi.iter().zip(&en) {
            assert_eq!(what, what_en);
            let v = v.as_deref().unwrap_or_default().trim();
            let e = e.as_deref().unwrap_or_default().trim();
            if v.is_empty() {
                gaps.push(format!("{what} has no Vietnamese description"));
            } else if e.is_empty() {
                gaps.push(format!("{what} has no English description"));
            } else if v == e {
                gaps.push(format!("{what} is described the same in both languages"));
            }
        }
        assert!(gaps.is_empty(), "{}", gaps.join("\n"));
    }

    /// Every argument's value placeholders, through the whole tree.
    fn placeholders(cmd: &Command, path: &str, out: &mut Vec<(String, Vec<String>)>) {
        for a in cmd
            .get_arguments()
            .filter(|a| a.get_action().takes_values())
        {
            let names = a
                .get_value_names()
                .map(|v| v.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default();
            out.push((format!("`{path}` argument {}", a.get_id()), names));
        }
        for s in cmd.get_subcommands() {
            placeholders(s, &format!("{path} {}", s.get_name()), out);
        }
    }

    #[test]
    fn no_placeholder_is_left_in_english() {
        let (mut vi, mut en) = (Vec::new(), Vec::new());
        placeholders(&command(Lang::Vi), "gocua", &mut vi);
        placeholders(&command(Lang::En), "gocua", &mut en);
        let gaps: Vec<String> = vi
            .iter()
            .zip(&en)
            .filter(|((_, v), (_, e))| !v.is_empty() && v == e)
            .map(|((what, v), _)| format!("{what}: {v:?}"))
            .collect();
        assert!(gaps.is_empty(), "{}", gaps.join("\n"));
    }

    #[test]
    fn value_placeholders_are_in_the_language() {
        let vi = command(Lang::Vi);
        let add = find(&vi, "gocua household add").map(|c| {
            c.get_arguments()
                .filter_map(|a| {
                    a.get_value_names()
                        .map(|v| v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                })
                .flatten()
                .collect::<Vec<_>>()
        });
        let names = add.unwrap_or_default();
        assert!(names.contains(&"HỌ_TÊN".to_string()), "{names:?}");
        assert!(!names.iter().any(|n| n == "HEAD"), "{names:?}");
    }

    fn error_of(lang: Lang, args: &[&str]) -> (Usage, String) {
        let mut cmd = command(lang);
        let argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        let e = match cmd.clone().try_get_matches_from(argv) {
            Err(e) => e,
            Ok(_) => panic!("{args:?} parsed"),
        };
        let argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        let path = command_path(&cmd, &argv);
        let u = describe(&e, &mut cmd, &path);
        let m = text::usage(lang, &u);
        (u, m)
    }

    #[test]
    fn usage_errors_say_what_and_what_to_do() {
        let (u, m) = error_of(Lang::Vi, &["gocua", "household", "add", "--hed", "An"]);
        assert_eq!(u.kind(), "unknown_argument");
        assert!(m.contains("--hed") && m.contains("--head"), "{m}");
        assert!(m.contains("gocua household add --help"), "{m}");

        let (u, m) = error_of(Lang::Vi, &["gocua", "househld"]);
        assert_eq!(u.kind(), "unknown_command");
        assert!(m.contains("`gocua household`"), "{m}");

        let (u, m) = error_of(Lang::Vi, &["gocua", "household", "add"]);
        assert_eq!(u.kind(), "missing_argument");
        assert!(
            m.contains("--head <HỌ_TÊN>") && m.contains("Họ tên chủ hộ"),
            "{m}"
        );

        let (u, m) = error_of(Lang::En, &["gocua", "--lang", "fr", "status"]);
        assert_eq!(u.kind(), "value_not_allowed");
        assert!(m.contains("\"fr\"") && m.contains("`vi`, `en`"), "{m}");

        let (u, m) = error_of(Lang::Vi, &["gocua", "household", "list", "--limit", "mot"]);
        assert_eq!(u.kind(), "invalid_value");
        assert!(m.contains("\"mot\"") && m.contains("nhiều nhất"), "{m}");

        let (u, m) = error_of(Lang::Vi, &["gocua", "member", "add", "x", "--gender"]);
        assert_eq!(u.kind(), "missing_value");
        assert!(
            m.contains("--gender") && m.contains("nam, nữ hoặc khác"),
            "{m}"
        );

        let (u, m) = error_of(Lang::Vi, &["gocua", "visit"]);
        assert_eq!(u.kind(), "missing_command");
        assert!(m.contains("`record`, `list`"), "{m}");
    }

    #[test]
    fn the_language_is_found_before_parsing() {
        let argv = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        let e = prescan(&argv(&["gocua", "--lang", "en", "--json", "status"]));
        assert_eq!(e.lang, Lang::En);
        assert!(e.json);
        let e = prescan(&argv(&["gocua", "status", "--lang=vi"]));
        assert_eq!(e.lang, Lang::Vi);
        assert!(!e.json);
        let e = prescan(&argv(&["gocua", "--", "--json"]));
        assert!(!e.json);
    }
}
