//! Printed documents as real PDFs: shipping labels, and pick lists for the warehouse. They
//! share one file (past the usual ~500 lines) because they share the font metrics, the
//! text fitting and the sanitizing that make both print correctly.
//!
//! The built-in local carrier prints real labels: a warehouse packs a box, prints this page on
//! an ordinary 4x6 inch thermal label printer and sticks it on the box, and the driver (or the
//! sorting station) scans the tracking number from the barcode. So the label has to be a genuine
//! PDF that any viewer or printer driver understands, with a Code128 barcode that a scanner can
//! actually read, not a picture of one.
//!
//! The page is drawn directly with `printpdf` using the PDF standard Helvetica and Courier
//! fonts (which every PDF reader has built in), so no font file is shipped or embedded. The bar
//! pattern comes from `barcoders`; each bar is drawn as a filled rectangle whose width is a whole
//! number of 203 dpi printer dots, with quiet zones of at least ten modules on both sides.

use anyhow::{Context, bail, ensure};
use barcoders::sym::code128::Code128;
use printpdf::{
    BuiltinFont, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfParseErrorSeverity,
    PdfSaveOptions, Point, Pt, Rect, TextItem, WindingOrder,
};

/// A postal address as printed on a label.
#[derive(Debug, Clone)]
pub struct LabelAddress {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
}

/// Everything printed on one package's shipping label.
#[derive(Debug, Clone)]
pub struct Label {
    pub tracking_number: String,
    pub carrier: String,
    pub service: String,
    pub weight_grams: u32,
    pub ship_from: LabelAddress,
    pub ship_to: LabelAddress,
    pub order_number: String,
    pub package_id: String,
}

/// Page width: 4 inches.
const PAGE_W: f32 = 101.6;
/// Page height: 6 inches.
const PAGE_H: f32 = 152.4;
/// Left and right margin for text and rules.
const MARGIN: f32 = 4.0;
/// Left and right margin for the barcode's outer quiet zones (they may come closer to the edge).
const BARCODE_MARGIN: f32 = 2.0;
/// One dot of a 203 dpi thermal printer, the usual resolution for 4x6 label printers. Module
/// widths are whole multiples of it so every bar prints at exactly the same width.
const PRINTER_DOT: f32 = 25.4 / 203.0;
/// Narrowest module (X dimension) allowed: 3 dots = 0.375 mm, which scans reliably.
const MIN_MODULE_DOTS: f32 = 3.0;
/// Widest module used: 4 dots = 0.5 mm.
const MAX_MODULE_DOTS: f32 = 4.0;
/// Code128 requires a quiet zone of at least 10 modules on each side.
const QUIET_ZONE_MODULES: usize = 10;
/// Height of the bars.
const BAR_HEIGHT: f32 = 30.0;

/// A 4x6 inch label: ship-from and ship-to addresses, carrier and service, weight, order number, and the tracking number as a Code128 barcode with the number printed under it.
///
/// The barcode uses Code128 set C for all-digit tracking numbers of even length and set B
/// (printable ASCII) otherwise. With bars at least 0.375 mm wide that fits up to 18 characters
/// in set B or 36 digits in set C; longer or non-ASCII tracking numbers are an error rather than
/// a label that will not scan. Address and other text that is too long is shrunk a little and
/// then cut short with an ellipsis; characters outside Windows-1252 print as `?`.
pub fn label_pdf(label: &Label) -> anyhow::Result<Vec<u8>> {
    let bars = barcode_modules(&label.tracking_number)?;
    let mut page = Page::default();
    let right = PAGE_W - MARGIN;
    let full_width = PAGE_W - 2.0 * MARGIN;

    // Header, from the top: ship-from on the left; carrier, service and weight on the right.
    let right_column = 40.0;
    let from_width = full_width - right_column - 3.0;
    let mut y = PAGE_H - MARGIN - 3.0;
    page.text(MARGIN, y, Font::Bold, 7.0, "FROM:", from_width);
    for line in address_lines(&label.ship_from) {
        y -= 3.4;
        page.text(MARGIN, y, Font::Regular, 8.0, &line, from_width);
    }
    let top = PAGE_H - MARGIN;
    page.text_right(
        right,
        top - 5.0,
        Font::Bold,
        15.0,
        &label.carrier,
        right_column,
    );
    page.text_right(
        right,
        top - 11.0,
        Font::Bold,
        11.0,
        &label.service,
        right_column,
    );
    let weight = format_weight(label.weight_grams);
    page.text_right(
        right,
        top - 16.5,
        Font::Regular,
        10.0,
        &weight,
        right_column,
    );
    let header_rule = y.min(top - 19.0) - 3.0;
    page.rule(header_rule, 0.6);

    // Ship-to, below the header: the biggest text on the label.
    let indent = 5.0;
    let to_width = full_width - indent;
    let mut y = header_rule - 5.0;
    page.text(MARGIN, y, Font::Bold, 8.0, "SHIP TO:", to_width);
    let mut lines = address_lines(&label.ship_to).into_iter();
    if let Some(name) = lines.next() {
        y -= 8.0;
        page.text(MARGIN + indent, y, Font::Bold, 16.0, &name, to_width);
    }
    for line in lines {
        y -= 6.5;
        page.text(MARGIN + indent, y, Font::Bold, 14.0, &line, to_width);
    }
    let ship_to_bottom = y - 3.0;

    // From the bottom up: the tracking number, the barcode above it, and the order row.
    let number_y = MARGIN + 4.0;
    let number = sanitize(&label.tracking_number);
    page.text_centered(
        PAGE_W / 2.0,
        number_y,
        Font::Mono,
        13.0,
        &number,
        full_width,
    );
    let bars_bottom = number_y + 5.0;
    page.barcode(&bars, bars_bottom, BAR_HEIGHT)?;
    let caption_y = bars_bottom + BAR_HEIGHT + 3.0;
    page.text(
        MARGIN,
        caption_y,
        Font::Bold,
        7.0,
        "TRACKING NUMBER:",
        full_width,
    );
    let tracking_rule = caption_y + 5.0;
    page.rule(tracking_rule, 0.6);

    let half = full_width / 2.0 - 2.0;
    let order_y = tracking_rule + 4.5;
    let order = format!("ORDER {}", label.order_number);
    page.text(MARGIN, order_y, Font::Bold, 10.0, &order, half);
    let package = format!("PKG {}", label.package_id);
    page.text_right(right, order_y, Font::Regular, 8.0, &package, half);
    let order_rule = order_y + 6.5;
    page.rule(order_rule, 0.6);
    ensure!(
        ship_to_bottom > order_rule,
        "the label content does not fit on a 4x6 inch page"
    );

    let mut doc = PdfDocument::new(&format!("Shipping label {number}"));
    let pdf_page = PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), page.ops);
    let mut warnings = Vec::new();
    let bytes = doc
        .with_pages(vec![pdf_page])
        .save(&PdfSaveOptions::default(), &mut warnings);
    if let Some(error) = warnings
        .iter()
        .find(|w| w.severity == PdfParseErrorSeverity::Error)
    {
        bail!("writing the label PDF failed: {}", error.msg);
    }
    Ok(bytes)
}

/// The bar pattern (one entry per module, `1` = bar) for a tracking number, including the
/// start, check and stop characters.
fn barcode_modules(tracking_number: &str) -> anyhow::Result<Vec<u8>> {
    ensure!(
        !tracking_number.is_empty(),
        "a label needs a tracking number"
    );
    ensure!(
        tracking_number
            .chars()
            .all(|c| c.is_ascii_graphic() || c == ' '),
        "tracking number {tracking_number:?} has characters that Code128 set B cannot encode"
    );
    // Set C packs two digits per symbol, so all-digit numbers of even length get a barcode
    // half as wide; everything else uses set B (printable ASCII).
    let all_digits = tracking_number.chars().all(|c| c.is_ascii_digit());
    let set = if all_digits && tracking_number.len().is_multiple_of(2) {
        '\u{0106}' // Ć: character set C
    } else {
        '\u{0181}' // Ɓ: character set B
    };
    let code = Code128::new(format!("{set}{tracking_number}"))
        .map_err(|e| anyhow::anyhow!("cannot encode {tracking_number:?} as Code128: {e}"))?;
    Ok(code.encode())
}

/// The printed lines of an address, empty parts left out.
fn address_lines(address: &LabelAddress) -> Vec<String> {
    let mut lines = vec![address.name.clone(), address.line1.clone()];
    if let Some(line2) = &address.line2 {
        lines.push(line2.clone());
    }
    let mut city_line = address.city.clone();
    if let Some(region) = address.region.as_deref().filter(|r| !r.trim().is_empty()) {
        city_line.push_str(", ");
        city_line.push_str(region);
    }
    if !address.postal_code.trim().is_empty() {
        city_line.push(' ');
        city_line.push_str(&address.postal_code);
    }
    lines.push(city_line);
    lines.push(address.country.clone());
    lines
        .into_iter()
        .map(|l| sanitize(&l))
        .filter(|l| !l.is_empty())
        .collect()
}

/// Weight as printed: grams under a kilogram, otherwise kilograms, plus pounds.
fn format_weight(grams: u32) -> String {
    let pounds = f64::from(grams) / 453.592_37;
    if grams < 1000 {
        format!("{grams} g / {pounds:.2} lb")
    } else {
        format!("{:.2} kg / {pounds:.2} lb", f64::from(grams) / 1000.0)
    }
}

/// One line of text: control characters (newlines, tabs) become spaces, runs of spaces collapse.
fn sanitize(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Clone, Copy)]
enum Font {
    Regular,
    Bold,
    Mono,
}

impl Font {
    fn builtin(self) -> BuiltinFont {
        match self {
            Font::Regular => BuiltinFont::Helvetica,
            Font::Bold => BuiltinFont::HelveticaBold,
            Font::Mono => BuiltinFont::CourierBold,
        }
    }

    /// Advance width of `c` in thousandths of an em, from the standard font metrics (the same
    /// numbers every PDF reader uses for the 14 standard fonts). Characters outside ASCII are
    /// counted generously so fitted text never overflows.
    fn advance(self, c: char) -> u16 {
        let ascii = match self {
            Font::Regular => &HELVETICA_WIDTHS,
            Font::Bold => &HELVETICA_BOLD_WIDTHS,
            Font::Mono => return 600,
        };
        match c {
            ' '..='~' => ascii[usize::from(c as u8 - b' ')],
            '\u{2026}' => 1000,
            _ => 722,
        }
    }

    /// Width of `text` in millimetres at `size` points.
    fn width_mm(self, size: f32, text: &str) -> f32 {
        let em: f32 = text
            .chars()
            .map(|c| f32::from(self.advance(c)))
            .sum::<f32>()
            / 1000.0;
        Mm::from(Pt(em * size)).0
    }
}

/// Helvetica advance widths of the WinAnsi characters 0x20..=0x7E, in 1/1000 em.
#[rustfmt::skip]
const HELVETICA_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// Helvetica-Bold advance widths of the WinAnsi characters 0x20..=0x7E, in 1/1000 em.
#[rustfmt::skip]
const HELVETICA_BOLD_WIDTHS: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// One row of a printed pick list: a SKU, where it is, how many, and for which orders.
#[derive(Debug, Clone)]
pub struct PickRow {
    pub bin: String,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub destinations: String,
}

/// A pick list on A4 pages for a picker's clipboard: a title and subtitle, then one row
/// per SKU in the order given (bin order), each with a box to tick.
pub fn pick_list_pdf(title: &str, subtitle: &str, rows: &[PickRow]) -> anyhow::Result<Vec<u8>> {
    const W: f32 = 210.0;
    const H: f32 = 297.0;
    const M: f32 = 15.0;
    const ROW: f32 = 9.0;
    let header = |page: &mut Page, number: usize| -> f32 {
        let mut y = H - M - 6.0;
        page.text(M, y, Font::Bold, 16.0, title, W - 2.0 * M);
        y -= 7.0;
        let sub = format!("{subtitle} - page {number}");
        page.text(M, y, Font::Regular, 9.0, &sub, W - 2.0 * M);
        y -= 9.0;
        for (x, label) in [
            (M, "BIN"),
            (M + 27.0, "SKU"),
            (M + 70.0, "ITEM"),
            (M + 127.0, "QTY"),
            (M + 142.0, "FOR"),
        ] {
            page.text(x, y, Font::Bold, 8.0, label, 40.0);
        }
        page.fill_rect(M, y - 2.0, W - 2.0 * M, 0.4);
        y - ROW
    };
    let mut pages = Vec::new();
    let mut page = Page::default();
    let mut y = header(&mut page, 1);
    for row in rows {
        if y < M {
            pages.push(std::mem::take(&mut page));
            y = header(&mut page, pages.len() + 1);
        }
        page.text(M, y, Font::Mono, 10.0, &sanitize(&row.bin), 25.0);
        page.text(M + 27.0, y, Font::Bold, 10.0, &sanitize(&row.sku), 41.0);
        page.text(M + 70.0, y, Font::Regular, 9.0, &sanitize(&row.name), 55.0);
        page.text_right(
            M + 136.0,
            y,
            Font::Bold,
            12.0,
            &row.quantity.to_string(),
            12.0,
        );
        page.text(
            M + 142.0,
            y,
            Font::Regular,
            8.0,
            &sanitize(&row.destinations),
            28.0,
        );
        page.fill_rect(W - M - 4.0, y - 0.5, 4.0, 0.3);
        page.fill_rect(M, y - 3.0, W - 2.0 * M, 0.15);
        y -= ROW;
    }
    pages.push(page);
    let mut doc = PdfDocument::new(title);
    let pdf_pages = pages
        .into_iter()
        .map(|p| PdfPage::new(Mm(W), Mm(H), p.ops))
        .collect();
    let mut warnings = Vec::new();
    let bytes = doc
        .with_pages(pdf_pages)
        .save(&PdfSaveOptions::default(), &mut warnings);
    if let Some(error) = warnings
        .iter()
        .find(|w| w.severity == PdfParseErrorSeverity::Error)
    {
        bail!("writing the pick list PDF failed: {}", error.msg);
    }
    Ok(bytes)
}

/// The drawing operations of the page, in millimetres from the bottom-left corner.
#[derive(Default)]
struct Page {
    ops: Vec<Op>,
}

impl Page {
    /// Left-aligned text whose baseline starts at (`x`, `y`), shrunk (down to 75 %) and then
    /// cut short with an ellipsis to fit `max_width`.
    fn text(&mut self, x: f32, y: f32, font: Font, size: f32, text: &str, max_width: f32) {
        let (text, size, _) = fit(font, size, text, max_width);
        self.push_text(x, y, font, size, text);
    }

    /// Right-aligned text ending at `right`.
    fn text_right(&mut self, right: f32, y: f32, font: Font, size: f32, text: &str, max_w: f32) {
        let (text, size, width) = fit(font, size, text, max_w);
        self.push_text(right - width, y, font, size, text);
    }

    /// Text centred on `centre`.
    fn text_centered(
        &mut self,
        centre: f32,
        y: f32,
        font: Font,
        size: f32,
        text: &str,
        max_w: f32,
    ) {
        let (text, size, width) = fit(font, size, text, max_w);
        self.push_text(centre - width / 2.0, y, font, size, text);
    }

    fn push_text(&mut self, x: f32, y: f32, font: Font, size: f32, text: String) {
        if text.is_empty() {
            return;
        }
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::Builtin(font.builtin()),
                size: Pt(size),
            },
            Op::SetTextCursor {
                pos: Point::new(Mm(x), Mm(y)),
            },
            Op::ShowText {
                items: vec![TextItem::Text(text)],
            },
            Op::EndTextSection,
        ]);
    }

    /// A filled black rectangle.
    fn fill_rect(&mut self, x: f32, y: f32, width: f32, height: f32) {
        let mut rectangle = Rect::from_xywh(
            Mm(x).into(),
            Mm(y).into(),
            Mm(width).into(),
            Mm(height).into(),
        );
        rectangle.mode = Some(PaintMode::Fill);
        rectangle.winding_order = Some(WindingOrder::NonZero);
        self.ops.push(Op::DrawRectangle { rectangle });
    }

    /// A horizontal rule across the page between the margins.
    fn rule(&mut self, y: f32, thickness: f32) {
        self.fill_rect(
            MARGIN,
            y - thickness / 2.0,
            PAGE_W - 2.0 * MARGIN,
            thickness,
        );
    }

    /// The bars of `modules`, centred horizontally, bottom at `y`. Runs of adjacent bar modules
    /// are drawn as one rectangle so no hairline gaps appear between them.
    fn barcode(&mut self, modules: &[u8], y: f32, height: f32) -> anyhow::Result<()> {
        let total_modules = modules.len() + 2 * QUIET_ZONE_MODULES;
        let available = PAGE_W - 2.0 * BARCODE_MARGIN;
        let module_count = u16::try_from(total_modules)
            .map(f32::from)
            .context("the barcode has too many modules")?;
        let dots = (available / module_count / PRINTER_DOT)
            .floor()
            .min(MAX_MODULE_DOTS);
        if dots < MIN_MODULE_DOTS {
            bail!(
                "the tracking number is too long to print as a scannable barcode on a 4x6 inch \
                 label ({} modules)",
                modules.len()
            );
        }
        let module = dots * PRINTER_DOT;
        let symbol_width = module * f32::from(u16::try_from(modules.len())?);
        let left = (PAGE_W - symbol_width) / 2.0;

        let mut start = None;
        for (i, bit) in modules.iter().chain(std::iter::once(&0)).enumerate() {
            match (*bit == 1, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    let x = left + module * f32::from(u16::try_from(s)?);
                    let run = module * f32::from(u16::try_from(i - s)?);
                    self.fill_rect(x, y, run, height);
                    start = None;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// `text` sanitised and fitted into `max_width` millimetres: first by shrinking the font to no
/// less than 75 % of `size`, then by cutting it short with an ellipsis. Returns the text, the
/// font size and the resulting width.
fn fit(font: Font, size: f32, text: &str, max_width: f32) -> (String, f32, f32) {
    let mut text = sanitize(text);
    let natural = font.width_mm(size, &text);
    if natural <= max_width {
        return (text, size, natural);
    }
    let shrunk = (size * max_width / natural).max(size * 0.75);
    let width = font.width_mm(shrunk, &text);
    if width <= max_width {
        return (text, shrunk, width);
    }
    while !text.is_empty() {
        text.pop();
        let candidate = format!("{}\u{2026}", text.trim_end());
        let width = font.width_mm(shrunk, &candidate);
        if width <= max_width {
            return (candidate, shrunk, width);
        }
    }
    (String::new(), shrunk, 0.0)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::*;

    const TRACKING: &str = "LC1A2B3C4D5E6F";

    fn sample_label() -> Label {
        Label {
            tracking_number: TRACKING.to_string(),
            carrier: "Orderly Local".to_string(),
            service: "Ground".to_string(),
            weight_grams: 1250,
            ship_from: LabelAddress {
                name: "Orderly East Warehouse".to_string(),
                line1: "100 Industrial Pkwy".to_string(),
                line2: Some("Dock 4".to_string()),
                city: "Newark".to_string(),
                region: Some("NJ".to_string()),
                postal_code: "07102".to_string(),
                country: "US".to_string(),
            },
            ship_to: LabelAddress {
                name: "Ada Lovelace".to_string(),
                line1: "12 Analytical Engine Rd".to_string(),
                line2: None,
                city: "Springfield".to_string(),
                region: Some("IL".to_string()),
                postal_code: "62704".to_string(),
                country: "US".to_string(),
            },
            order_number: "SO-1001".to_string(),
            package_id: "pkg-01HZX3".to_string(),
        }
    }

    /// Fails unless `tool` is on PATH, naming the Debian package that provides it.
    fn require_tool(tool: &str, debian_package: &str) {
        let found = std::env::var_os("PATH")
            .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
            .unwrap_or(false);
        assert!(
            found,
            "`{tool}` is not on PATH; the label tests need it: install the Debian package \
             `{debian_package}` (apt-get install -y {debian_package})"
        );
    }

    fn run(command: &mut Command) -> String {
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
        assert!(
            output.status.success(),
            "{command:?} failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn write_label(dir: &Path, label: &Label) -> std::path::PathBuf {
        let bytes = label_pdf(label).expect("label renders");
        let path = dir.join("label.pdf");
        std::fs::write(&path, bytes).expect("write label");
        path
    }

    #[test]
    fn label_is_a_pdf() {
        let bytes = label_pdf(&sample_label()).expect("label renders");
        assert!(
            bytes.starts_with(b"%PDF"),
            "not a PDF: {:?}",
            &bytes[..16.min(bytes.len())]
        );
    }

    #[test]
    fn label_text_is_extractable() {
        require_tool("pdftotext", "poppler-utils");
        let dir = tempfile::tempdir().expect("tempdir");
        let label = sample_label();
        let pdf = write_label(dir.path(), &label);
        let text = run(Command::new("pdftotext").arg(&pdf).arg("-"));
        for expected in [
            TRACKING,
            "Ada Lovelace",
            "62704",
            "Ground",
            "Orderly Local",
            "SO-1001",
            "Orderly East Warehouse",
            "1.25 kg",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from label text:\n{text}"
            );
        }
    }

    #[test]
    fn barcode_scans_as_the_tracking_number() {
        require_tool("pdftoppm", "poppler-utils");
        require_tool("zbarimg", "zbar-tools");
        let dir = tempfile::tempdir().expect("tempdir");
        let pdf = write_label(dir.path(), &sample_label());
        let prefix = dir.path().join("page");
        run(Command::new("pdftoppm")
            .args(["-r", "300", "-png", "-singlefile"])
            .arg(&pdf)
            .arg(&prefix));
        let png = dir.path().join("page.png");
        let output = run(Command::new("zbarimg")
            .args(["--raw", "-q", "-Scode128.enable"])
            .arg(&png));
        let decoded: Vec<&str> = output.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(decoded, [TRACKING], "zbarimg output: {output:?}");
    }

    #[test]
    fn digit_tracking_numbers_use_the_compact_set() {
        let digits = barcode_modules("12345678901234").expect("encodes");
        let mixed = barcode_modules("LC1A2B3C4D5E6F").expect("encodes");
        assert!(digits.len() < mixed.len());
        // Odd-length digit strings fall back to set B.
        assert!(barcode_modules("123").is_ok());
    }

    #[test]
    fn bad_tracking_numbers_are_rejected() {
        assert!(barcode_modules("").is_err());
        assert!(barcode_modules("LC\u{00e9}1").is_err());
        let mut label = sample_label();
        label.tracking_number = "X".repeat(60);
        assert!(label_pdf(&label).is_err(), "too long to scan");
    }

    #[test]
    fn long_text_is_fitted_not_overflowing() {
        let mut label = sample_label();
        label.ship_to.line1 = "An extremely long street name that goes on and on ".repeat(4);
        label.ship_to.name = "Ada\nLovelace".to_string();
        let (text, _, width) = fit(Font::Bold, 12.0, &label.ship_to.line1, 80.0);
        assert!(
            width <= 80.0 && text.ends_with('\u{2026}'),
            "{text} {width}"
        );
        assert!(label_pdf(&label).is_ok());
        assert_eq!(sanitize("Ada\nLovelace "), "Ada Lovelace");
        assert_eq!(format_weight(850), "850 g / 1.87 lb");
    }
}
