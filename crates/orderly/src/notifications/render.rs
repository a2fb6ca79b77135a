//! Rendering a message: the configured templates compiled once into a minijinja
//! environment (a syntax error stops start-up, naming the template), looked up by name,
//! channel and language with fallbacks (the channel's language, then the default one;
//! the channel's own template, then the one for every channel). HTML bodies are
//! auto-escaped, text bodies and subjects are not; undefined values render empty, so a
//! template may mention what only some events carry; fuel bounds a runaway loop.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use orderly_store::MessageContent;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// How much work one rendering may do (minijinja's fuel), far above any real message.
const FUEL: u64 = 200_000;

/// One template: its name, for a channel (or all) and a language.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub name: String,
    #[serde(default = "english")]
    pub language: String,
    #[serde(default)]
    pub channel: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Files sent with the message, made when it is sent (not kept with its words).
    #[serde(default)]
    pub attach: Vec<Attach>,
}

/// A file a template sends along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attach {
    /// The prepaid label (PDF) of the return the event is about, when its policy issues
    /// one; while it is due and not booked yet the message waits on the retry schedule.
    ReturnLabel,
}

fn english() -> String {
    "en".into()
}

pub struct Renderer {
    env: Environment<'static>,
    /// (name, channel or `*`, language) of every template.
    known: HashSet<(String, String, String)>,
    /// What each template name sends along (in any of its languages and channels).
    attach: HashMap<String, Vec<Attach>>,
}

fn key(name: &str, channel: &str, language: &str, part: &str) -> String {
    format!("{name}|{channel}|{language}|{part}")
}

impl Renderer {
    /// Compiles every template; the error names the first that does not compile.
    pub fn new(templates: &[Template]) -> Result<Renderer, String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_fuel(Some(FUEL));
        env.set_auto_escape_callback(|name| {
            if name.ends_with("|html") {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_formatter(|out, state, value| {
            // minijinja's HTML escaping also writes `/` as `&#x2f;`, which mail clients
            // show in links as typed; the five characters that matter are enough here.
            if *state.auto_escape() == AutoEscape::Html
                && !value.is_safe()
                && !value.is_undefined()
                && !value.is_none()
            {
                let text = value.to_string();
                let mut escaped = String::with_capacity(text.len());
                for c in text.chars() {
                    match c {
                        '&' => escaped.push_str("&amp;"),
                        '<' => escaped.push_str("&lt;"),
                        '>' => escaped.push_str("&gt;"),
                        '"' => escaped.push_str("&quot;"),
                        '\'' => escaped.push_str("&#39;"),
                        c => escaped.push(c),
                    }
                }
                std::fmt::Write::write_str(out, &escaped).map_err(minijinja::Error::from)
            } else {
                minijinja::escape_formatter(out, state, value)
            }
        });
        let mut known = HashSet::new();
        let mut attach: HashMap<String, Vec<Attach>> = HashMap::new();
        for t in templates {
            let files = attach.entry(t.name.clone()).or_default();
            for a in &t.attach {
                if !files.contains(a) {
                    files.push(*a);
                }
            }
            let channel = t.channel.clone().unwrap_or_else(|| "*".into());
            for (part, source) in [
                ("subject", &t.subject),
                ("text", &t.text),
                ("html", &t.html),
            ] {
                env.add_template_owned(key(&t.name, &channel, &t.language, part), source.clone())
                    .map_err(|e| {
                        format!(
                            "template {:?} ({}, {channel}) {part}: {e}",
                            t.name, t.language
                        )
                    })?;
            }
            known.insert((t.name.clone(), channel, t.language.clone()));
        }
        Ok(Renderer { env, known, attach })
    }

    /// The files template `name` sends along.
    pub fn attachments(&self, name: &str) -> &[Attach] {
        self.attach.get(name).map_or(&[], Vec::as_slice)
    }

    /// Whether a template of this name exists in any language.
    pub fn has(&self, name: &str) -> bool {
        self.known.iter().any(|(n, ..)| n == name)
    }

    /// Renders template `name` for `channel` in `language` (or `fallback`).
    pub fn render(
        &self,
        name: &str,
        channel: &str,
        language: &str,
        fallback: &str,
        context: &Value,
    ) -> Result<MessageContent, String> {
        let candidates = [
            (channel, language),
            ("*", language),
            (channel, fallback),
            ("*", fallback),
        ];
        let (channel, language) = candidates
            .into_iter()
            .find(|(c, l)| {
                self.known
                    .contains(&(name.to_owned(), (*c).to_owned(), (*l).to_owned()))
            })
            .ok_or_else(|| format!("no template {name:?} for {channel} in {language}"))?;
        let part = |part: &str| -> Result<String, String> {
            self.env
                .get_template(&key(name, channel, language, part))
                .and_then(|t| t.render(minijinja::value::Serde(context)))
                .map_err(|e| format!("template {name:?} {part}: {e}"))
        };
        Ok(MessageContent {
            language: language.to_owned(),
            subject: part("subject")?.trim().replace(['\r', '\n'], " "),
            text: part("text")?.trim().to_owned() + "\n",
            html: part("html")?.trim().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(name: &str, language: &str, channel: Option<&str>, subject: &str) -> Template {
        Template {
            name: name.into(),
            language: language.into(),
            channel: channel.map(Into::into),
            subject: subject.into(),
            text: "Hi {{ customer.name }}".into(),
            html: "<p>{{ customer.name }}</p>".into(),
            attach: Vec::new(),
        }
    }

    #[test]
    fn templates_fall_back_by_channel_then_language_and_escape_only_html() {
        let r = Renderer::new(&[
            template("hello", "en", None, "Hello"),
            template("hello", "de", None, "Hallo"),
            template("hello", "de", Some("marketplace"), "Servus"),
        ])
        .unwrap();
        let ctx = serde_json::json!({"customer": {"name": "Ana <b>"}});
        let en = r.render("hello", "web", "fr", "en", &ctx).unwrap();
        assert_eq!((en.language.as_str(), en.subject.as_str()), ("en", "Hello"));
        assert_eq!(en.text, "Hi Ana <b>\n");
        assert_eq!(en.html, "<p>Ana &lt;b&gt;</p>");
        let link = serde_json::json!({"customer": {"name": "https://x.test/a?b=1&c=2"}});
        let html = r.render("hello", "web", "en", "en", &link).unwrap().html;
        assert_eq!(html, "<p>https://x.test/a?b=1&amp;c=2</p>");
        assert_eq!(
            r.render("hello", "web", "de", "en", &ctx).unwrap().subject,
            "Hallo"
        );
        assert_eq!(
            r.render("hello", "marketplace", "de", "en", &ctx)
                .unwrap()
                .subject,
            "Servus"
        );
        assert!(r.render("bye", "web", "en", "en", &ctx).is_err());
    }

    #[test]
    fn a_broken_template_is_named() {
        let err = Renderer::new(&[template("broken", "en", None, "{% if %}")])
            .err()
            .unwrap();
        assert!(err.contains("\"broken\""), "{err}");
        assert!(err.contains("subject"), "{err}");
    }
}
