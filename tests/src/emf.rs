//! CloudWatch Embedded Metric Format, checked line by line against the
//! specification
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>):
//! what CloudWatch Logs would accept and extract, or why not.

use serde_json::Value;

/// The units the specification allows.
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// One metric of a document: its name, dimensions (key, value) and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    pub namespace: String,
    pub name: String,
    pub unit: Option<String>,
    pub dimensions: Vec<(String, String)>,
    pub values: Vec<f64>,
}

/// Parses one log line as an EMF document; `Err` says which rule it breaks.
pub fn parse(line: &str) -> Result<Vec<Emitted>, String> {
    // A CloudWatch Logs event is at most 1 MB; EMF documents far less.
    if line.len() > 256 * 1024 {
        return Err(format!("{} bytes", line.len()));
    }
    let doc: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let root = doc.as_object().ok_or("the root is not an object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no _aws object")?;
    let timestamp = aws
        .get("Timestamp")
        .and_then(Value::as_u64)
        .ok_or("_aws.Timestamp is not a non-negative integer")?;
    // Milliseconds since the epoch: CloudWatch refuses times 2 weeks old or
    // 2 hours ahead.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    if timestamp + 14 * 86_400_000 < now || timestamp > now + 2 * 3_600_000 {
        return Err(format!("Timestamp {timestamp} is not near now ({now})"));
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("_aws.CloudWatchMetrics is not an array")?;
    if directives.is_empty() {
        return Err("no metric directives".into());
    }
    let mut emitted = Vec::new();
    for directive in directives {
        let namespace = directive
            .get("Namespace")
            .and_then(Value::as_str)
            .filter(|n| (1..=255).contains(&n.len()))
            .ok_or("Namespace is not a 1-255 character string")?;
        let sets = directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or("Dimensions is not an array")?;
        let mut dimension_sets = Vec::new();
        for set in sets {
            let keys = set.as_array().ok_or("a dimension set is not an array")?;
            if keys.len() > 30 {
                return Err(format!("{} dimensions in a set (at most 30)", keys.len()));
            }
            let mut dims = Vec::new();
            for key in keys {
                let key = key.as_str().ok_or("a dimension key is not a string")?;
                let value = root
                    .get(key)
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("dimension {key} has no string member"))?;
                if value.is_empty() || value.len() > 1024 || value.starts_with(':') {
                    return Err(format!("dimension {key} has an invalid value {value:?}"));
                }
                dims.push((key.to_string(), value.to_string()));
            }
            dimension_sets.push(dims);
        }
        let metrics = directive
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or("Metrics is not an array")?;
        if metrics.len() > 100 {
            return Err(format!(
                "{} metrics in a directive (at most 100)",
                metrics.len()
            ));
        }
        for metric in metrics {
            let name = metric
                .get("Name")
                .and_then(Value::as_str)
                .filter(|n| (1..=1024).contains(&n.len()))
                .ok_or("a metric Name is not a 1-1024 character string")?;
            let unit = match metric.get("Unit") {
                None => None,
                Some(Value::String(unit)) if UNITS.contains(&unit.as_str()) => Some(unit.clone()),
                Some(other) => return Err(format!("{name}: unit {other} is not allowed")),
            };
            if let Some(resolution) = metric.get("StorageResolution") {
                if resolution != 1 && resolution != 60 {
                    return Err(format!("{name}: StorageResolution {resolution}"));
                }
            }
            let values = match root.get(name) {
                Some(Value::Number(n)) => vec![n.as_f64().ok_or("a value is not a number")?],
                Some(Value::Array(values)) if values.len() <= 100 => values
                    .iter()
                    .map(|v| v.as_f64().ok_or(format!("{name}: a value is not a number")))
                    .collect::<Result<_, _>>()?,
                Some(Value::Array(values)) => {
                    return Err(format!("{name}: {} values (at most 100)", values.len()))
                }
                _ => return Err(format!("metric {name} has no numeric member")),
            };
            for dims in &dimension_sets {
                emitted.push(Emitted {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    unit: unit.clone(),
                    dimensions: dims.clone(),
                    values: values.clone(),
                });
            }
        }
    }
    Ok(emitted)
}

/// Every metric of `lines` (one document per line), each line checked.
pub fn parse_lines(lines: &[u8]) -> Result<Vec<Emitted>, String> {
    let text = std::str::from_utf8(lines).map_err(|e| e.to_string())?;
    let mut all = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        all.extend(parse(line).map_err(|e| format!("{e}: {line}"))?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    }

    #[test]
    fn a_valid_document_parses_and_broken_ones_say_why() {
        let good = format!(
            r#"{{"_aws":{{"Timestamp":{},"CloudWatchMetrics":[{{"Namespace":"tokengate","Dimensions":[["service"]],"Metrics":[{{"Name":"LoginFailed","Unit":"Count"}}]}}]}},"service":"login","LoginFailed":2}}"#,
            now()
        );
        let emitted = parse(&good).unwrap();
        assert_eq!(emitted[0].values, [2.0]);
        assert_eq!(emitted[0].dimensions, [("service".into(), "login".into())]);
        for (broken, why) in [
            (
                good.replace(r#""service":"login","#, ""),
                "dimension service",
            ),
            (
                good.replace(r#""Unit":"Count""#, r#""Unit":"Counts""#),
                "unit",
            ),
            (good.replace(r#","LoginFailed":2"#, ""), "no numeric member"),
            (
                good.replace("\"Timestamp\":", "\"Timestamp\":-"),
                "Timestamp",
            ),
            (
                good.replace("\"Namespace\":\"tokengate\"", "\"Namespace\":\"\""),
                "Namespace",
            ),
        ] {
            let err = parse(&broken).unwrap_err();
            assert!(err.contains(why), "{err} for {broken}");
        }
    }
}
