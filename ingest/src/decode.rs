//! Decoding input bytes into records: NDJSON (one JSON object per line) or CSV with a header row,
//! both UTF-8 (a leading BOM is ignored). A line that cannot be decoded becomes a record with a
//! decode problem (`bad_json`, `bad_csv`) so that it reaches the quarantine with its line number.

use serde_json::{Map, Value};

use crate::error::{IngestError, Result};

/// The encoding of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Csv,
}

impl Format {
    /// The format named by a file name or content type (`.csv`, `text/csv` → CSV; `.ndjson`,
    /// `.jsonl`, `.json`, `application/x-ndjson`, `application/json` → NDJSON).
    pub fn from_name(name: &str) -> Option<Format> {
        let name = name.to_ascii_lowercase();
        if name.ends_with(".csv") || name.starts_with("text/csv") {
            Some(Format::Csv)
        } else if [".ndjson", ".jsonl", ".json"].iter().any(|e| name.ends_with(e))
            || name.starts_with("application/x-ndjson")
            || name.starts_with("application/json")
            || name.starts_with("application/jsonl")
        {
            Some(Format::Ndjson)
        } else {
            None
        }
    }

    /// Guesses the format from the content: NDJSON if the first non-blank character is `{`.
    pub fn sniff(text: &str) -> Format {
        match text.trim_start_matches('\u{feff}').trim_start().chars().next() {
            Some('{') => Format::Ndjson,
            _ => Format::Csv,
        }
    }
}

/// One input record before validation.
#[derive(Debug)]
pub struct RawRecord {
    /// 1-based line (NDJSON) or data row number counting the header as line 1 (CSV).
    pub line: u64,
    /// The decoded fields; CSV values are strings, empty cells absent.
    pub fields: std::result::Result<Map<String, Value>, DecodeProblem>,
    /// The record as received (for the quarantine; masked before storage).
    pub raw: String,
    /// Whether the record came from CSV (CSV-only input forms are accepted then).
    pub from_csv: bool,
}

#[derive(Debug, Clone)]
pub struct DecodeProblem {
    pub reason: &'static str,
    pub message: String,
}

/// Decodes a whole input. Fails only if the input is not UTF-8 (nothing of it is accepted then).
pub fn decode(bytes: &[u8], format: Format) -> Result<Vec<RawRecord>> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        IngestError::UnreadableBody(format!("not valid UTF-8 at byte {}", e.valid_up_to()))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Ok(match format {
        Format::Ndjson => decode_ndjson(text),
        Format::Csv => decode_csv(text),
    })
}

fn decode_ndjson(text: &str) -> Vec<RawRecord> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let fields = match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(_) => Err(DecodeProblem { reason: "bad_json", message: "the line is not a JSON object".into() }),
                Err(e) => Err(DecodeProblem { reason: "bad_json", message: format!("invalid JSON: {e}") }),
            };
            RawRecord { line: i as u64 + 1, fields, raw: line.to_string(), from_csv: false }
        })
        .collect()
}

fn decode_csv(text: &str) -> Vec<RawRecord> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
        Err(e) => {
            return vec![RawRecord {
                line: 1,
                fields: Err(DecodeProblem { reason: "bad_csv", message: format!("unreadable header row: {e}") }),
                raw: text.lines().next().unwrap_or_default().to_string(),
                from_csv: true,
            }]
        }
    };
    let mut records = Vec::new();
    // Line numbers from byte offsets: the reader's own line count is off with CRLF line ends.
    let mut counted = (0usize, 1u64);
    let mut line_at = |byte: u64| {
        let bytes = text.as_bytes();
        let mut byte = (byte as usize).min(text.len());
        // A record's position can point at the line end before it.
        while byte < bytes.len() && matches!(bytes[byte], b'\r' | b'\n') {
            byte += 1;
        }
        let (from, line) = counted;
        let line = line + text.as_bytes()[from.min(byte)..byte].iter().filter(|&&b| b == b'\n').count() as u64;
        counted = (byte.max(from), line);
        line
    };
    for (i, row) in reader.records().enumerate() {
        let (line, raw, fields) = match row {
            Ok(row) => {
                let line = row.position().map_or(i as u64 + 2, |p| line_at(p.byte()));
                let raw = row.iter().collect::<Vec<_>>().join(",");
                let fields = if row.len() != headers.len() {
                    Err(DecodeProblem {
                        reason: "bad_csv",
                        message: format!("{} cells where the header has {}", row.len(), headers.len()),
                    })
                } else {
                    Ok(headers
                        .iter()
                        .zip(row.iter())
                        .filter(|(_, v)| !v.trim().is_empty())
                        .map(|(h, v)| (h.clone(), Value::String(v.to_string())))
                        .collect())
                };
                (line, raw, fields)
            }
            Err(e) => {
                let line = e.position().map_or(i as u64 + 2, |p| line_at(p.byte()));
                (line, String::new(), Err(DecodeProblem { reason: "bad_csv", message: e.to_string() }))
            }
        };
        records.push(RawRecord { line, fields, raw, from_csv: true });
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_lines_and_bad_json() {
        let recs = decode(b"{\"a\":1}\n\nnot json\n[1]\n", Format::Ndjson).unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].line, 1);
        assert!(recs[0].fields.is_ok());
        assert_eq!(recs[1].line, 3);
        assert_eq!(recs[1].fields.as_ref().unwrap_err().reason, "bad_json");
        assert_eq!(recs[2].fields.as_ref().unwrap_err().reason, "bad_json");
    }

    #[test]
    fn csv_with_bom_empty_cells_and_ragged_rows() {
        let recs = decode("\u{feff}a,b\n1,\n1,2,3\n".as_bytes(), Format::Csv).unwrap();
        assert_eq!(recs.len(), 2);
        let first = recs[0].fields.as_ref().unwrap();
        assert_eq!(first.get("a"), Some(&Value::String("1".into())));
        assert!(first.get("b").is_none());
        assert_eq!(recs[1].line, 3);
        assert_eq!(recs[1].fields.as_ref().unwrap_err().reason, "bad_csv");
    }

    #[test]
    fn csv_line_numbers_with_crlf() {
        let recs = decode(b"a,b\r\n1,2\r\n3,4\r\n", Format::Csv).unwrap();
        assert_eq!(recs.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 3]);
    }

    #[test]
    fn non_utf8_is_refused_whole() {
        assert!(decode(&[0xff, 0xfe, 0x00], Format::Csv).is_err());
    }

    #[test]
    fn formats_by_name_and_content() {
        assert_eq!(Format::from_name("x/loan_events.CSV"), Some(Format::Csv));
        assert_eq!(Format::from_name("application/x-ndjson"), Some(Format::Ndjson));
        assert_eq!(Format::from_name("x.txt"), None);
        assert_eq!(Format::sniff("  {\"a\":1}"), Format::Ndjson);
        assert_eq!(Format::sniff("a,b"), Format::Csv);
        assert_eq!(Format::sniff("\u{feff}{\"a\":1}"), Format::Ndjson);
    }
}
