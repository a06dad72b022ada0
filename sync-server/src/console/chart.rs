//! The coverage page's bar chart, drawn by the server as inline SVG: the
//! geometry is computed here, the template writes it (escaping the labels).

/// One unit's pair of bars.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub y: u32,
    pub reached_w: u32,
    pub reached_text: String,
    pub citizens_w: u32,
    pub citizens_text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    /// Where the bars start (after the labels).
    pub plot_x: u32,
    /// The digital-citizens target's line.
    pub target_x: u32,
    pub target_text: String,
    pub bars: Vec<Bar>,
}

const WIDTH: u32 = 640;
const PLOT_X: u32 = 170;
/// Room right of a full bar for its figure.
const PLOT_W: u32 = WIDTH - PLOT_X - 50;
const ROW: u32 = 30;
/// Label characters kept: a phone shows the rest in the table.
const LABEL_CHARS: usize = 24;

fn width_of(pct: Option<f64>) -> u32 {
    let p = pct.unwrap_or(0.0).clamp(0.0, 100.0);
    (p * f64::from(PLOT_W) / 100.0).round() as u32
}

fn pct_text(pct: Option<f64>) -> String {
    pct.map_or_else(|| "—".to_string(), |p| format!("{p:.1}%"))
}

fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_string();
    }
    let mut s: String = label.chars().take(LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

/// Bars for (label, % households reached, % digital citizens), with the
/// digital-citizens target at `target_pct`.
pub fn bars(units: &[(String, Option<f64>, Option<f64>)], target_pct: f64) -> Chart {
    let bars: Vec<Bar> = units
        .iter()
        .zip(0u32..)
        .map(|((label, reached, citizens), i)| Bar {
            label: short(label),
            y: 4 + i * ROW,
            reached_w: width_of(*reached),
            reached_text: pct_text(*reached),
            citizens_w: width_of(*citizens),
            citizens_text: pct_text(*citizens),
        })
        .collect();
    let rows = u32::try_from(bars.len()).unwrap_or(u32::MAX);
    Chart {
        width: WIDTH,
        height: rows.saturating_mul(ROW).saturating_add(20),
        plot_x: PLOT_X,
        target_x: PLOT_X + width_of(Some(target_pct)),
        target_text: format!("{target_pct}%"),
        bars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_as_long_as_their_share() {
        let c = bars(
            &[
                ("Thôn Đông".into(), Some(50.0), Some(10.0)),
                (
                    "Một thôn có cái tên dài hơn hai mươi tư chữ".into(),
                    None,
                    Some(140.0),
                ),
            ],
            70.0,
        );
        assert_eq!(c.bars[0].reached_w, PLOT_W / 2);
        assert_eq!(c.bars[0].reached_text, "50.0%");
        assert_eq!(c.bars[1].reached_w, 0);
        assert_eq!(c.bars[1].reached_text, "—");
        // Never past the plot, whatever the figure says.
        assert_eq!(c.bars[1].citizens_w, PLOT_W);
        assert_eq!(c.bars[1].label.chars().count(), LABEL_CHARS);
        assert_eq!(c.target_x, PLOT_X + PLOT_W * 7 / 10);
        assert_eq!(c.bars[1].y, c.bars[0].y + ROW);
        assert!(c.height > c.bars[1].y + ROW);
    }
}
