use super::*;
use crate::http::{parse_request_head, HeadLimits};

fn get(path: &str, extra: &str) -> Response {
    request("GET", path, extra)
}

fn request(method: &str, path: &str, extra: &str) -> Response {
    let raw = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:8765\r\n{extra}\r\n");
    let (head, _) = parse_request_head(raw.as_bytes(), &HeadLimits::default())
        .unwrap()
        .unwrap();
    respond(&head, &config_json(10_000))
}

fn asset(path: &str) -> &'static Asset {
    ASSETS.iter().find(|a| a.path == path).unwrap()
}

#[test]
fn the_page_is_served_at_the_root_with_its_protections() {
    let page = get("/", "");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header_value("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        page.header_value("content-security-policy"),
        Some(CONTENT_SECURITY_POLICY)
    );
    assert_eq!(page.header_value("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header_value("cache-control"), Some("no-cache"));
    assert_eq!(page.header_value("etag"), Some(asset("/").etag));
    assert_eq!(&page.body[..], asset("/").body);
    assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
}

#[test]
fn gzip_goes_to_clients_that_accept_it_and_only_to_them() {
    let zipped = get("/", "Accept-Encoding: br, gzip, deflate\r\n");
    assert_eq!(zipped.header_value("content-encoding"), Some("gzip"));
    assert_eq!(&zipped.body[..], asset("/").gzip);
    assert_eq!(zipped.header_value("vary"), Some("Accept-Encoding"));
    for refused in ["gzip;q=0", "identity", "br", "*;q=0, deflate"] {
        let plain = get("/", &format!("Accept-Encoding: {refused}\r\n"));
        assert_eq!(plain.header_value("content-encoding"), None, "{refused}");
        assert_eq!(&plain.body[..], asset("/").body, "{refused}");
    }
    let star = get("/", "Accept-Encoding: *\r\n");
    assert_eq!(star.header_value("content-encoding"), Some("gzip"));
}

#[test]
fn a_current_copy_gets_304_without_a_body() {
    let etag = asset("/").etag;
    let strong = etag.trim_start_matches("W/");
    for tags in [
        etag.to_owned(),
        format!("\"other\", {strong}"),
        "*".to_owned(),
    ] {
        let response = get("/", &format!("If-None-Match: {tags}\r\n"));
        assert_eq!(response.status, 304, "{tags}");
        assert_eq!(response.header_value("etag"), Some(etag));
        assert!(response.body.is_empty());
    }
    assert_eq!(get("/", "If-None-Match: \"stale\"\r\n").status, 200);
}

#[test]
fn unknown_files_are_404_and_other_methods_405_with_json_reasons() {
    let missing = get("/assets/nope.js", "");
    assert_eq!(missing.status, 404);
    assert_eq!(
        &missing.body[..],
        br#"{"error":"not found","detail":"no dashboard file /assets/nope.js"}"#
    );
    let post = request("POST", "/", "Content-Length: 0\r\n");
    assert_eq!(post.status, 405);
    assert_eq!(post.header_value("allow"), Some("GET, HEAD"));
}

#[test]
fn the_page_settings_come_from_the_configuration() {
    let config = get(CONFIG_PATH, "");
    assert_eq!(config.status, 200);
    assert_eq!(config.header_value("cache-control"), Some("no-store"));
    let json: serde_json::Value = serde_json::from_slice(&config.body).unwrap();
    assert_eq!(json["max_events"], 10_000);
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn every_file_has_its_content_type_and_a_distinct_path() {
    let mut paths: Vec<&str> = ASSETS.iter().map(|a| a.path).collect();
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths.len(), ASSETS.len());
    assert!(paths.iter().all(|p| is_dashboard_path(p)));
    assert!(paths.iter().all(|p| !p.ends_with("README.md")));
    let js = ASSETS.iter().filter(|a| a.path.ends_with(".js"));
    assert!(js.clone().count() > 0);
    assert!(js
        .into_iter()
        .all(|a| a.content_type == "text/javascript; charset=utf-8"));
}

#[test]
fn everything_the_page_loads_fits_in_150_kib() {
    let total: usize = ASSETS.iter().map(|a| a.body.len()).sum();
    assert!(total <= 150 * 1024, "the dashboard is {total} bytes");
}

#[test]
fn the_page_has_no_inline_script_or_style() {
    let html = std::str::from_utf8(asset("/").body).unwrap();
    for tag in html.split("<script").skip(1) {
        let open = &tag[..tag.find('>').unwrap()];
        assert!(open.contains("src="), "inline script: <script{open}>");
        assert!(tag[open.len() + 1..].trim_start().starts_with("</script>"));
    }
    assert!(!html.contains("<style"), "inline <style>");
    assert!(!html.contains(" style="), "a style attribute");
    assert!(
        !has_event_handler_attribute(html),
        "an inline event handler"
    );
}

/// Whether `html` holds an attribute like ` onclick=`.
fn has_event_handler_attribute(html: &str) -> bool {
    html.split(" on").skip(1).any(|rest| {
        let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        name_len > 0 && rest[name_len..].starts_with('=')
    })
}

/// A broken relative import would only show as a blank page in a browser; catch it here.
#[test]
fn every_module_import_names_an_embedded_file() {
    for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
        let source = std::str::from_utf8(asset.body).unwrap();
        let dir = &asset.path[..asset.path.rfind('/').unwrap()];
        for piece in source.split(" from \"").skip(1) {
            let target = &piece[..piece.find('"').unwrap()];
            let resolved = resolve(dir, target);
            assert!(
                ASSETS.iter().any(|a| a.path == resolved),
                "{} imports {target} ({resolved}), which is not embedded",
                asset.path
            );
        }
    }
}

fn resolve(dir: &str, target: &str) -> String {
    if target.starts_with('/') {
        return target.to_owned();
    }
    let mut parts: Vec<&str> = dir.split('/').collect();
    for piece in target.split('/') {
        match piece {
            "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}
