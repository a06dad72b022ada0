//! The indicators report (`gocua_report::Report`, as `gocua-server report`
//! and `GET /v1/report` give it) as a spreadsheet: what `--pii none` gives
//! in CSV or XLSX (docs/reports.md, "Extracts"). One row per unit,
//! indicator and breakdown, with the figures the report holds and nothing
//! else; the records listed for review on a sheet of their own.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use gocua_report::{Derived, Label, Level, Report, UnitReport};
use rust_xlsxwriter::{Format as XlsxFormat, Workbook};
use serde_json::json;

use super::csvzip::CsvZip;
use super::write::{Out, into_place, io, partial_path, time_text};
use super::{ExportError, Format, Lang, Pii, Request};
use crate::storage::{AreaScope, Storage, StorageError};

/// What an indicators file held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IndicatorsOutcome {
    pub path: PathBuf,
    pub format: &'static str,
    pub pii: &'static str,
    pub period: String,
    pub level: &'static str,
    pub today: String,
    /// Rows per sheet (English sheet names).
    pub rows: BTreeMap<&'static str, u64>,
}

/// The sheets: the report's terms, the figures, the records to review.
fn sheet_names(lang: Lang) -> [&'static str; 3] {
    match lang {
        Lang::Vi => ["bao_cao", "chi_tieu", "xem_lai"],
        Lang::En => ["report", "indicators", "reviews"],
    }
}

fn pick(lang: Lang, l: Label) -> &'static str {
    match lang {
        Lang::Vi => l.vi,
        Lang::En => l.en,
    }
}

const INDICATOR_HEADS: &[Label] = &[
    Label {
        vi: "Mã đơn vị",
        en: "Unit code",
    },
    Label {
        vi: "Đơn vị",
        en: "Unit",
    },
    Label {
        vi: "Mã chỉ tiêu",
        en: "Indicator code",
    },
    Label {
        vi: "Chỉ tiêu",
        en: "Indicator",
    },
    Label {
        vi: "Phân tổ",
        en: "Breakdown",
    },
    Label {
        vi: "Trong kỳ",
        en: "In period",
    },
    Label {
        vi: "Lũy kế / hiện tại",
        en: "To date / now",
    },
    Label {
        vi: "Tỷ lệ (%)",
        en: "Value (%)",
    },
];

const REVIEW_HEADS: &[Label] = &[
    Label {
        vi: "Mã hộ",
        en: "Household id",
    },
    Label {
        vi: "Mã lượt hỗ trợ",
        en: "Visit id",
    },
    Label {
        vi: "Mã lý do",
        en: "Reason code",
    },
    Label {
        vi: "Lý do",
        en: "Reason",
    },
    Label {
        vi: "Giá trị cần xem",
        en: "Value",
    },
    Label {
        vi: "Mốc đối chiếu",
        en: "Reference",
    },
    Label {
        vi: "Tính vào kỳ",
        en: "Counted in",
    },
    Label {
        vi: "Mã tỉnh",
        en: "Province code",
    },
    Label {
        vi: "Mã xã",
        en: "Commune code",
    },
    Label {
        vi: "Mã thôn",
        en: "Village id",
    },
];

const NATIONWIDE: Label = Label {
    vi: "Toàn quốc",
    en: "Nationwide",
};

fn heads(labels: &[Label], lang: Lang) -> Vec<&'static str> {
    labels.iter().map(|l| pick(lang, *l)).collect()
}

/// The names of the report's units, where the server knows them: communes
/// and provinces from the administrative units, villages and teams from its
/// roster.
fn unit_names(
    storage: &dyn Storage,
    report: &Report,
    lang: Lang,
) -> Result<BTreeMap<String, String>, StorageError> {
    let areas = crate::report::areas();
    let mut names = BTreeMap::new();
    match report.level {
        Level::Village => {
            let wanted: std::collections::BTreeSet<&str> =
                report.units.iter().map(|u| u.unit.as_str()).collect();
            for v in storage.villages(None)? {
                if wanted.contains(v.id.as_str()) {
                    names.insert(v.id, v.name);
                }
            }
        }
        Level::Team => {
            for u in &report.units {
                if let Some(t) = storage.team(&u.unit)? {
                    names.insert(u.unit.clone(), t.name);
                }
            }
        }
        Level::Commune | Level::Province | Level::National => {
            for u in &report.units {
                let name = match report.level {
                    Level::Commune => areas.commune_name(&u.unit).map(str::to_string),
                    Level::Province => areas.province_name(&u.unit).map(str::to_string),
                    _ => Some(pick(lang, NATIONWIDE).to_string()),
                };
                if let Some(n) = name {
                    names.insert(u.unit.clone(), n);
                }
            }
        }
    }
    Ok(names)
}

/// The area's code and name, as asked for.
fn area_of(
    storage: &dyn Storage,
    scope: &AreaScope,
    lang: Lang,
) -> Result<(String, String), StorageError> {
    let areas = crate::report::areas();
    Ok(match scope {
        AreaScope::Country => ("all".to_string(), pick(lang, NATIONWIDE).to_string()),
        AreaScope::Province(c) => (
            c.clone(),
            areas.province_name(c).unwrap_or_default().to_string(),
        ),
        AreaScope::Commune(c) => (
            c.clone(),
            areas.commune_name(c).unwrap_or_default().to_string(),
        ),
        AreaScope::Village(v) => {
            let name = storage
                .villages(None)?
                .into_iter()
                .find(|x| &x.id == v)
                .map(|x| x.name)
                .unwrap_or_default();
            (v.clone(), name)
        }
    })
}

/// The rows of one unit: each figure as the report holds it, then what the
/// report derives from them (ratios as their value in %, the follow-ups due
/// on its day, the roster).
fn unit_rows(u: &UnitReport, name: &str, lang: Lang) -> Vec<Vec<Out>> {
    let row = |code: &str,
               label: Label,
               breakdown: String,
               period: Option<u64>,
               total: Option<u64>,
               pct: Option<f64>| {
        let count = |n: Option<u64>| n.map_or(Out::Null, |n| Out::Int(n as i64));
        vec![
            Out::Code(u.unit.clone()),
            Out::Text(name.to_string()),
            Out::Text(code.to_string()),
            Out::Text(pick(lang, label).to_string()),
            Out::Text(breakdown),
            count(period),
            count(total),
            pct.map_or(Out::Null, Out::Float),
        ]
    };
    let mut rows: Vec<Vec<Out>> = u
        .figures
        .iter()
        .map(|f| {
            row(
                f.indicator.code(),
                f.indicator.label(),
                f.breakdown.code(),
                f.period,
                Some(f.running_total),
                None,
            )
        })
        .collect();
    let all = || gocua_report::Breakdown::All.code();
    let (replaced_in_period, replaced) = u.feature_phones_replaced();
    for d in Derived::ALL {
        let (breakdown, period, total, pct) = match d {
            Derived::ReachedInPeriod => (all(), None, None, u.reached_in_period.pct),
            Derived::ReachedToDate => (all(), None, None, u.reached_to_date.pct),
            Derived::DigitalCitizensShare | Derived::DigitalCitizensTarget => {
                let working = gocua_report::Breakdown::Age {
                    age: gocua_report::AgeBand::WorkingAge,
                };
                let pct = if *d == Derived::DigitalCitizensShare {
                    u.digital_citizens.pct
                } else {
                    Some(u.digital_citizens_target_pct)
                };
                (working.code(), None, None, pct)
            }
            Derived::FeaturePhonesReplaced => {
                let b = gocua_report::Breakdown::Service {
                    service: gocua_report::report::SMARTPHONE_REPLACEMENT.to_string(),
                    outcome: "done".to_string(),
                };
                (b.code(), Some(replaced_in_period), Some(replaced), None)
            }
            Derived::FollowUpsDue => (all(), None, Some(u.follow_ups.due), None),
            Derived::FollowUpsOverdue => (all(), None, Some(u.follow_ups.overdue), None),
            Derived::Villages => (all(), None, Some(u.roster.villages), None),
            Derived::VillagesWithTeam => (all(), None, Some(u.roster.villages_with_team), None),
            Derived::Teams => (all(), None, Some(u.roster.teams), None),
            Derived::Volunteers => (all(), None, u.roster.volunteers, None),
            Derived::VolunteersTrainedShare => (all(), None, None, u.volunteers_trained.pct),
        };
        rows.push(row(d.code(), d.label(), breakdown, period, total, pct));
    }
    rows
}

fn review_rows(report: &Report, lang: Lang) -> Vec<Vec<Out>> {
    let code = |t: Option<String>| t.filter(|t| !t.is_empty()).map_or(Out::Null, Out::Code);
    report
        .reviews
        .iter()
        .map(|r| {
            vec![
                Out::Code(r.household_id.clone()),
                code(r.visit_id.clone()),
                Out::Text(r.reason.code().to_string()),
                Out::Text(pick(lang, r.reason.label()).to_string()),
                code(Some(r.value.clone())),
                code(r.reference.clone()),
                code(r.counted_in.map(|p| p.to_string())),
                code(Some(r.area.province.clone())),
                code(Some(r.area.commune.clone())),
                code(Some(r.area.village.clone())),
            ]
        })
        .collect()
}

/// The report's terms: what the figures are of (the first sheet; the
/// manifest of a CSV).
fn terms(report: &Report, area: &(String, String), lang: Lang) -> Vec<(&'static str, Label, Out)> {
    let l = |vi, en| Label { vi, en };
    vec![
        ("area", l("Mã địa bàn", "Area code"), Out::Code(area.0.clone())),
        ("area_name", l("Địa bàn", "Area"), Out::Text(area.1.clone())),
        (
            "period",
            l("Kỳ báo cáo", "Period"),
            Out::Code(report.period.to_string()),
        ),
        ("first_day", l("Từ ngày", "First day"), Out::Code(report.first_day.clone())),
        ("last_day", l("Đến ngày", "Last day"), Out::Code(report.last_day.clone())),
        (
            "periods_start_day",
            l("Ngày bắt đầu kỳ", "Periods start on day"),
            Out::Int(i64::from(report.periods_start_day)),
        ),
        ("level", l("Cấp", "Level"), Out::Text(report.level.code().to_string())),
        ("today", l("Lập ngày", "Made on"), Out::Code(report.today.clone())),
        (
            "generated_at",
            l("Lập lúc (UTC)", "Generated at (UTC)"),
            Out::Code(time_text(crate::now())),
        ),
        (
            "note",
            l("Ghi chú", "Note"),
            Out::Text(
                match lang {
                    Lang::Vi => "Số liệu tổng hợp, không có dữ liệu cá nhân. Tỷ lệ tính theo %; chỉ tiêu hiện trạng không có số trong kỳ.",
                    Lang::En => "Aggregates, no personal data. Ratios in %; states have no count in the period.",
                }
                .to_string(),
            ),
        ),
    ]
}

/// Writes `report`, the indicators of `scope`, to `out` as `request.format`
/// (CSV or XLSX) with `request.lang`'s headers. `request.pii` must be
/// `none`: the report holds no personal data.
pub fn write_indicators(
    storage: &dyn Storage,
    scope: &AreaScope,
    report: &Report,
    request: &Request,
    out: &Path,
) -> Result<IndicatorsOutcome, ExportError> {
    if request.pii != Pii::None || request.format == Format::Jsonl {
        return Err(ExportError::AggregatesOnly);
    }
    let partial = partial_path(out);
    let result = write_to(storage, scope, report, request, &partial, out);
    into_place(&partial, out, result)
}

fn write_to(
    storage: &dyn Storage,
    scope: &AreaScope,
    report: &Report,
    request: &Request,
    partial: &Path,
    out: &Path,
) -> Result<IndicatorsOutcome, ExportError> {
    let lang = request.lang;
    let names = unit_names(storage, report, lang)?;
    let area = area_of(storage, scope, lang)?;
    let figures: Vec<Vec<Out>> = report
        .units
        .iter()
        .flat_map(|u| {
            let name = names.get(&u.unit).map(String::as_str).unwrap_or_default();
            unit_rows(u, name, lang)
        })
        .collect();
    let reviews = review_rows(report, lang);
    let en = sheet_names(Lang::En);
    let outcome = IndicatorsOutcome {
        path: out.to_path_buf(),
        format: match request.format {
            Format::Xlsx => "xlsx",
            _ => "csv",
        },
        pii: Pii::None.as_str(),
        period: report.period.to_string(),
        level: report.level.code(),
        today: report.today.clone(),
        rows: BTreeMap::from([(en[1], figures.len() as u64), (en[2], reviews.len() as u64)]),
    };
    let [terms_sheet, figures_sheet, reviews_sheet] = sheet_names(lang);
    match request.format {
        Format::Xlsx => {
            let mut book = Workbook::new();
            let text = XlsxFormat::new().set_num_format("@");
            let sheet = book.add_worksheet();
            sheet.set_name(terms_sheet).map_err(io)?;
            for (i, (_, label, value)) in terms(report, &area, lang).into_iter().enumerate() {
                let r = i as u32;
                sheet.write_string(r, 0, pick(lang, label)).map_err(io)?;
                value.write_xlsx(sheet, r, 1, Some(&text))?;
            }
            for (name, head, rows) in [
                (figures_sheet, INDICATOR_HEADS, figures),
                (reviews_sheet, REVIEW_HEADS, reviews),
            ] {
                let sheet = book.add_worksheet();
                sheet.set_name(name).map_err(io)?;
                for (i, h) in heads(head, lang).into_iter().enumerate() {
                    sheet.write_string(0, i as u16, h).map_err(io)?;
                }
                for (r, cells) in rows.into_iter().enumerate() {
                    for (c, cell) in cells.into_iter().enumerate() {
                        cell.write_xlsx(sheet, r as u32 + 1, c as u16, Some(&text))?;
                    }
                }
            }
            book.save(partial)
                .map_err(|e| ExportError::Write(e.to_string()))?;
        }
        Format::Csv | Format::Jsonl => {
            let file = File::create(partial)
                .map(BufWriter::new)
                .map_err(|e| ExportError::Write(format!("{}: {e}", partial.display())))?;
            let mut zip = CsvZip::create(file, request.csv_excel_text)?;
            for (name, head, rows) in [
                (figures_sheet, INDICATOR_HEADS, figures),
                (reviews_sheet, REVIEW_HEADS, reviews),
            ] {
                zip.start_table(name, &heads(head, lang))?;
                for cells in rows {
                    zip.record(cells)?;
                }
            }
            let mut manifest = serde_json::Map::new();
            for (key, _, value) in terms(report, &area, Lang::En) {
                manifest.insert(key.into(), value.json());
            }
            manifest.insert("format".into(), json!(outcome.format));
            manifest.insert("pii".into(), json!(outcome.pii));
            manifest.insert("rows".into(), json!(outcome.rows));
            zip.finish(serde_json::Value::Object(manifest).to_string().as_bytes())?;
        }
    }
    Ok(outcome)
}
