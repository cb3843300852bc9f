//! `--format` as docker's CLI takes it: a Go template (the gtmpl crate) rendered once per
//! row, over Docker-shaped objects (`{{.Names}}`, `{{.State.Pid}}`), with Docker's template
//! functions (`json`, `join`, `lower`, `upper`, `title`, `split`, `truncate`), the `json`
//! shorthand (`--format json`: one JSON document a line) and the `table` prefix (a header,
//! made by rendering the same template over the kind's header names, then aligned columns
//! split at tabs).

use anyhow::{Context as _, Result, anyhow};
use gtmpl::{Context, FuncError, Template, Value};
use serde_json::Value as Json;

use super::output::Table;

/// A parsed `--format`.
pub struct Format {
    template: Template,
    table: bool,
}

impl Format {
    /// Parses the `--format` text; a template error names what is wrong.
    pub fn parse(text: &str) -> Result<Format> {
        let (table, body) = match text.strip_prefix("table") {
            Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => {
                (true, rest.trim_start())
            }
            _ => (false, text),
        };
        let body = match body {
            "json" => "{{json .}}",
            b => b,
        };
        // Docker's templates write tabs as `\t`.
        let body = body.replace("\\t", "\t").replace("\\n", "\n");
        let mut template = Template::default();
        template.add_funcs(&[
            ("json", json as gtmpl::Func),
            ("join", join),
            ("lower", lower),
            ("upper", upper),
            ("title", title),
            ("split", split),
            ("truncate", truncate),
        ]);
        template
            .parse(body)
            .map_err(|e| anyhow!("invalid --format {text:?}: {e}"))?;
        Ok(Format { template, table })
    }

    /// Renders one row.
    pub fn render(&self, row: &Json) -> Result<String> {
        self.template
            .render(&Context::from(value(row)))
            .map_err(|e| anyhow!("--format: {e}"))
    }

    /// Prints `rows`: one rendered line each, or with `table`, `header` rendered first and
    /// every line's tab-separated cells aligned.
    pub fn print(&self, header: &Json, rows: &[Json]) -> Result<()> {
        let lines: Vec<String> = rows.iter().map(|r| self.render(r)).collect::<Result<_>>()?;
        if !self.table {
            for l in lines {
                println!("{l}");
            }
            return Ok(());
        }
        let head = self.render(header).context("the table's header")?;
        let titles: Vec<&str> = head.split('\t').collect();
        let mut t = Table::new(&titles);
        for l in &lines {
            t.row(l.split('\t').map(str::to_string).collect());
        }
        t.print();
        Ok(())
    }
}

/// A JSON value as the template sees it.
fn value(v: &Json) -> Value {
    match v {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::from(i),
            (_, Some(u), _) => Value::from(u),
            (_, _, Some(f)) => Value::from(f),
            _ => Value::Nil,
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::Array(a.iter().map(value).collect()),
        Json::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), value(v))).collect()),
    }
}

/// A template value back as JSON, for `json`.
fn to_json(v: &Value) -> Json {
    match v {
        Value::NoValue | Value::Nil | Value::Function(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::String(s) => Json::String(s.clone()),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Json::from(i),
            (_, Some(u), _) => Json::from(u),
            (_, _, Some(f)) => Json::from(f),
            _ => Json::Null,
        },
        Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        Value::Object(o) | Value::Map(o) => {
            let sorted: std::collections::BTreeMap<&String, Json> =
                o.iter().map(|(k, v)| (k, to_json(v))).collect();
            serde_json::to_value(sorted).unwrap_or(Json::Null)
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn arg<'a>(args: &'a [Value], i: usize, name: &str, n: usize) -> Result<&'a Value, FuncError> {
    args.get(i)
        .ok_or_else(|| FuncError::ExactlyXArgs(name.into(), n))
}

fn json(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(to_json(arg(args, 0, "json", 1)?).to_string()))
}

fn join(args: &[Value]) -> Result<Value, FuncError> {
    let sep = text(arg(args, 1, "join", 2)?);
    match arg(args, 0, "join", 2)? {
        Value::Array(a) => Ok(Value::String(
            a.iter().map(text).collect::<Vec<_>>().join(&sep),
        )),
        other => Ok(Value::String(text(other))),
    }
}

fn lower(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(
        text(arg(args, 0, "lower", 1)?).to_lowercase(),
    ))
}

fn upper(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(
        text(arg(args, 0, "upper", 1)?).to_uppercase(),
    ))
}

fn title(args: &[Value]) -> Result<Value, FuncError> {
    let s = text(arg(args, 0, "title", 1)?);
    let mut c = s.chars();
    Ok(Value::String(match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => s,
    }))
}

fn split(args: &[Value]) -> Result<Value, FuncError> {
    let (s, sep) = (
        text(arg(args, 0, "split", 2)?),
        text(arg(args, 1, "split", 2)?),
    );
    Ok(Value::Array(
        s.split(sep.as_str())
            .map(|p| Value::String(p.to_string()))
            .collect(),
    ))
}

fn truncate(args: &[Value]) -> Result<Value, FuncError> {
    let s = text(arg(args, 0, "truncate", 2)?);
    let n = match arg(args, 1, "truncate", 2)? {
        Value::Number(n) => n.as_u64().unwrap_or(0) as usize,
        _ => return Err(FuncError::UnableToConvertFromValue),
    };
    Ok(Value::String(s.chars().take(n).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_render_as_dockers_do() {
        let row = json!({"Names": "web", "State": {"Pid": 42, "Running": true}, "Labels": {"b": "2", "a": "1"}, "Ports": ["80/tcp", "53/udp"]});
        let f = |t: &str| Format::parse(t).unwrap().render(&row).unwrap();
        assert_eq!(f("{{.Names}}"), "web");
        assert_eq!(f("{{.State.Pid}} {{.State.Running}}"), "42 true");
        assert_eq!(f("{{json .Labels}}"), r#"{"a":"1","b":"2"}"#);
        assert_eq!(f("{{join .Ports \", \"}}"), "80/tcp, 53/udp");
        assert_eq!(
            f("{{upper .Names}}/{{title .Names}}/{{truncate .Names 2}}"),
            "WEB/Web/we"
        );
        assert_eq!(f("{{if .State.Running}}up{{else}}down{{end}}"), "up");
        assert_eq!(f("{{.Names}}\\t{{.State.Pid}}"), "web\t42");
        let whole: Json = serde_json::from_str(&f("json")).unwrap();
        assert_eq!(whole, row);
        let err = Format::parse("{{.Names").err().unwrap().to_string();
        assert!(err.contains("{{.Names"), "{err}");
        assert!(Format::parse("table {{.Names}}").unwrap().table);
        assert!(!Format::parse("tablet").unwrap().table);
    }
}
