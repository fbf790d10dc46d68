//! The topology SVG draws its labels as SVG text, so it renders outside a
//! browser: rasterised with resvg (no HTML engine), the host names and
//! addresses leave pixels where a `<foreignObject>` would leave nothing.

use podpath_sim::engine::Engine;

fn topo_svg() -> String {
    let text = include_str!("../../scenarios/minikube-service.yaml");
    let mut w = podpath_sim::scenario::load(text, "m.yaml", None).unwrap();
    w.flows.clear();
    podpath_render::topo::svg(&Engine::new(w).run()).unwrap()
}

/// Rasterises an SVG; the number of non-white pixels.
fn ink(svg: &str, fonts: &resvg::usvg::fontdb::Database) -> usize {
    let mut opt = resvg::usvg::Options::default();
    *opt.fontdb_mut() = fonts.clone();
    opt.font_family = "sans-serif".into();
    let tree = resvg::usvg::Tree::from_str(svg, &opt).expect("valid SVG");
    let size = tree.size().to_int_size();
    let mut pm = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    pm.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pm.as_mut(),
    );
    pm.pixels()
        .iter()
        .filter(|p| p.red() < 200 || p.green() < 200 || p.blue() < 200)
        .count()
}

#[test]
fn labels_are_svg_text_and_rasterise() {
    let svg = topo_svg();
    assert!(
        !svg.contains("<foreignObject"),
        "labels must not need a browser"
    );
    for want in ["laptop", "minikube", "192.168.49.2/24", "api-server-26psx"] {
        assert!(svg.contains(want), "no label {want}");
    }
    let mut fonts = resvg::usvg::fontdb::Database::new();
    fonts.load_system_fonts();
    // the diagram asks for "trebuchet ms", verdana, arial, sans-serif: any
    // installed sans face stands in, as a browser's fallback would
    let sans = fonts
        .faces()
        .find(|f| f.families.iter().any(|(n, _)| n.contains("Sans")))
        .map(|f| f.families[0].0.clone());
    if let Some(fam) = sans {
        fonts.set_sans_serif_family(fam.clone());
        fonts.set_serif_family(fam);
    }
    if fonts.is_empty() {
        // scripts/test installs fonts-dejavu-core; without any font no
        // text can be drawn
        eprintln!("SKIPPED topo_raster::labels_are_svg_text_and_rasterise: no fonts on this machine (apt-get install fonts-dejavu-core)");
        if let Ok(p) = std::env::var("PODPATH_SKIP_LOG") {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
            {
                let _ = writeln!(f, "SKIPPED topo_raster::labels_are_svg_text_and_rasterise: no fonts on this machine (apt-get install fonts-dejavu-core)");
            }
        }
        return;
    }
    // the same picture without its text: the labels are what differs
    let mut bare = String::new();
    let mut rest = svg.as_str();
    while let Some(i) = rest.find("<text") {
        bare.push_str(&rest[..i]);
        let j = rest[i..].find("</text>").expect("closed") + i + "</text>".len();
        rest = &rest[j..];
    }
    bare.push_str(rest);
    let with = ink(&svg, &fonts);
    let without = ink(&bare, &fonts);
    assert!(
        with > without + 2000,
        "labels drew {} pixels ({with} with text, {without} without)",
        with.saturating_sub(without)
    );
}
