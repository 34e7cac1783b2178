//! The SVG charts (`plotters`, SVG backend; text is plain SVG `<text>`, no fonts needed):
//!
//! * `escrow-cost.svg` — escrow bytes and escrow CPU per message and per chain;
//! * `authority-work.svg` — one authority's time per approval vs scope identities (the whole
//!   `approve` procedure, and the key shares alone), with fitted lines;
//! * `auditor-time.svg` — the auditor's execution time vs chains in scope, with a fitted line;
//! * `log-growth.svg` — log entries and bytes vs warrants served.

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use super::figures::{Figures, Fit, ms};
use super::warrants::Served;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type LogPart = dyn Fn(&super::warrants::LogRow) -> u64;

const SIZE: (u32, u32) = (900, 450);
const BLUE_: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const GREEN_: RGBColor = RGBColor(44, 160, 44);
const PURPLE: RGBColor = RGBColor(148, 103, 189);

fn chart_err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("drawing a chart: {e}")
}

/// Draws into an SVG string of the standard size.
fn svg(draw: impl FnOnce(&Area<'_>) -> Result<()>) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        draw(&root)?;
        root.present().map_err(chart_err)?;
    }
    Ok(out)
}

fn bars(area: &Area<'_>, title: &str, unit: &str, items: &[(&str, f64)]) -> Result<()> {
    let top = items.iter().map(|i| i.1).fold(0.0, f64::max).max(1e-6) * 1.25;
    let last = items.len().max(1) as i32 - 1;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d((0..last).into_segmented(), 0.0..top)
        .map_err(chart_err)?;
    let names: Vec<&str> = items.iter().map(|i| i.0).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(items.len())
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => names
                .get(*i as usize)
                .copied()
                .unwrap_or_default()
                .to_owned(),
            SegmentValue::Last => String::new(),
        })
        .y_desc(unit)
        .draw()
        .map_err(chart_err)?;
    let colours = [BLUE_, ORANGE, GREEN_, PURPLE];
    for (i, (_, v)) in items.iter().enumerate() {
        let i = i as i32;
        let colour = colours[i as usize % colours.len()];
        let mut bar = Rectangle::new(
            [
                (SegmentValue::Exact(i), 0.0),
                (SegmentValue::Exact(i + 1), *v),
            ],
            colour.filled(),
        );
        bar.set_margin(0, 0, 12, 12);
        chart.draw_series([bar]).map_err(chart_err)?;
        chart
            .draw_series([Text::new(
                super::extrapolate::num(*v),
                (SegmentValue::CenterOf(i), *v + top * 0.03),
                ("sans-serif", 14).into_font(),
            )])
            .map_err(chart_err)?;
    }
    Ok(())
}

/// `escrow-cost.svg`.
pub fn escrow_cost(f: &Figures) -> Result<String> {
    svg(|root| {
        let panels = root.split_evenly((1, 2));
        bars(
            &panels[0],
            "Escrow bytes",
            "bytes",
            &[
                ("per message", f.escrow_bytes_per_message()),
                ("per chain", f.escrow_bytes_per_chain()),
            ],
        )?;
        bars(
            &panels[1],
            "Escrow CPU (with − without escrow)",
            "ms",
            &[
                ("sender/chain", f.escrow_sender_ms.max(0.0)),
                ("recipient/chain", f.escrow_recipient_ms.max(0.0)),
                ("both/message", f.escrow_per_message_ms().max(0.0)),
            ],
        )
    })
}

struct Series<'a> {
    name: &'a str,
    points: Vec<(f64, f64)>,
    fit: Option<Fit>,
    colour: RGBColor,
}

fn scatter(area: &Area<'_>, title: &str, x_desc: &str, series: &[Series<'_>]) -> Result<()> {
    let all = || series.iter().flat_map(|s| s.points.iter());
    let x_max = all().map(|p| p.0).fold(0.0, f64::max).max(1.0) * 1.1;
    let y_max = all().map(|p| p.1).fold(0.0, f64::max).max(1e-3) * 1.25;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)
        .map_err(chart_err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc("ms")
        .draw()
        .map_err(chart_err)?;
    for s in series {
        let colour = s.colour;
        chart
            .draw_series(
                s.points
                    .iter()
                    .map(move |&p| Circle::new(p, 3, colour.filled())),
            )
            .map_err(chart_err)?
            .label(s.name)
            .legend(move |(x, y)| Circle::new((x + 10, y), 3, colour.filled()));
        if let Some(fit) = s.fit {
            chart
                .draw_series(LineSeries::new(
                    [(0.0, fit.a), (x_max, fit.at(x_max))],
                    colour.stroke_width(1),
                ))
                .map_err(chart_err)?
                .label(format!("fit: {:.3} ms + {:.4} ms × x", fit.a, fit.b))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour));
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(chart_err)?;
    Ok(())
}

/// `authority-work.svg`.
pub fn authority_work(served: &Served, f: &Figures) -> Result<String> {
    let points = |g: &dyn Fn(&super::warrants::ApprovalRow) -> f64| -> Vec<(f64, f64)> {
        served
            .approvals
            .iter()
            .map(|a| (a.scope_identities as f64, g(a)))
            .collect()
    };
    svg(|root| {
        scatter(
            root,
            "One authority's work per approval vs scope size",
            "scope identities (targets × days)",
            &[
                Series {
                    name: "escrow::authority::approve (checks, shares, journal, log)",
                    points: points(&|a| ms(a.approve)),
                    fit: Some(f.approve_fit),
                    colour: BLUE_,
                },
                Series {
                    name: "make_approval (key shares only)",
                    points: points(&|a| ms(a.make_approval)),
                    fit: Some(f.make_fit),
                    colour: ORANGE,
                },
            ],
        )
    })
}

/// `auditor-time.svg`.
pub fn auditor_time(served: &Served, f: &Figures) -> Result<String> {
    svg(|root| {
        scatter(
            root,
            "Auditor's execution time vs chains in scope",
            "chains in scope",
            &[Series {
                name: "auditor::execute::execute (2 threads)",
                points: served
                    .warrants
                    .iter()
                    .map(|w| (w.chains_in_scope as f64, ms(w.execute)))
                    .collect(),
                fit: Some(f.execute_fit),
                colour: GREEN_,
            }],
        )
    })
}

/// `log-growth.svg`.
pub fn log_growth(served: &Served) -> Result<String> {
    let x_max = served.log.last().map_or(1, |l| l.warrants.max(1)) as f64;
    svg(|root| {
        let panels = root.split_evenly((1, 2));
        let entries = served.log.last().map_or(1, |l| l.entries.max(1)) as f64 * 1.15;
        let mut chart = ChartBuilder::on(&panels[0])
            .caption("Log entries", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..x_max, 0.0..entries)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_desc("warrants served")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc("entries")
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()
            .map_err(chart_err)?;
        let line: Vec<(f64, f64)> = served
            .log
            .iter()
            .map(|l| (l.warrants as f64, l.entries as f64))
            .collect();
        chart
            .draw_series(LineSeries::new(line.clone(), BLUE_.stroke_width(2)))
            .map_err(chart_err)?;
        chart
            .draw_series(line.into_iter().map(|p| Circle::new(p, 3, BLUE_.filled())))
            .map_err(chart_err)?;

        let kib = |b: u64| b as f64 / 1024.0;
        let top = served.log.last().map_or(1.0, |l| kib(l.total()).max(1.0)) * 1.15;
        let mut chart = ChartBuilder::on(&panels[1])
            .caption("Log bytes (KiB)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..x_max, 0.0..top)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .x_desc("warrants served")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc("KiB")
            .draw()
            .map_err(chart_err)?;
        let parts: [(&str, RGBColor, &LogPart); 4] = [
            ("total", BLUE_, &|l| l.total()),
            ("entries", ORANGE, &|l| l.entry_bytes),
            ("checkpoints", GREEN_, &|l| l.checkpoint_bytes),
            ("hashes", PURPLE, &|l| l.hash_bytes),
        ];
        for (name, colour, g) in parts {
            let line: Vec<(f64, f64)> = served
                .log
                .iter()
                .map(|l| (l.warrants as f64, kib(g(l))))
                .collect();
            chart
                .draw_series(LineSeries::new(line, colour.stroke_width(2)))
                .map_err(chart_err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(chart_err)?;
        Ok(())
    })
}
