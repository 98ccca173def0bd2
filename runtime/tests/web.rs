//! The status page of a real `wasmon run` on loopback: over plain HTTP
//! (login, cookies, CSRF, headers, escaping, refused actions) and in
//! headless Chromium over W3C WebDriver (a row turning CRITICAL live,
//! acknowledging, downtime, a graph), which also takes the README's
//! screenshots.

mod support;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use support::Daemon;

const CI: &str = "ci-token-0123456789";
const DASH: &str = "dash-token-0123456789";

const CONFIG: &str = "[engine]\nstate_file = \"state.db\"\n\n\
    [defaults]\ncheck_interval = \"1h\"\nretry_interval = \"1h\"\nmax_check_attempts = 1\n\n\
    [[host]]\nname = \"web1\"\naddress = \"127.0.0.1\"\ncheck = \"dummy\"\nparams = { state = \"OK\", text = \"pings\" }\n\n\
    [[service]]\nhost = \"web1\"\nname = \"Passive\"\nactive_checks = false\n\n\
    [[service]]\nhost = \"web1\"\nname = \"Disk\"\nactive_checks = false\n\n\
    [[service]]\nhost = \"db1\"\nname = \"Load\"\nactive_checks = false\n\n\
    [[host]]\nname = \"db1\"\naddress = \"127.0.0.1\"\ncheck = \"dummy\"\nparams = { state = \"OK\", text = \"pings\" }\n\n\
    [api]\nlisten = \"127.0.0.1:0\"\n\n\
    [[api.token]]\nname = \"ci\"\ntoken = \"ci-token-0123456789\"\nscopes = [\"read\", \"write\"]\n\n\
    [[api.token]]\nname = \"dash\"\ntoken = \"dash-token-0123456789\"\nscopes = [\"read\"]\n";

fn start(name: &str) -> Daemon {
    let d = Daemon::with_config(&format!("web-{name}"), CONFIG, &["-v"], &[]);
    d.base();
    d
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).timeout(Duration::from_secs(30)).build().unwrap()
}

/// Submits a passive result through the API.
async fn submit(d: &Daemon, service: &str, state: &str, output: &str) {
    let r = http()
        .post(d.url("/api/v1/results"))
        .bearer_auth(CI)
        .json(&json!({"host": "web1", "service": service, "state": state, "output": output}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn status(d: &Daemon, service: &str) -> Value {
    let r =
        http().get(d.url(&format!("/api/v1/hosts/web1/services/{service}"))).bearer_auth(DASH).send().await.unwrap();
    r.json().await.unwrap()
}

/// The value of `name="NAME" value="..."` in a page.
fn hidden(page: &str, name: &str) -> String {
    let at = page.find(&format!("name=\"{name}\" value=\"")).unwrap_or_else(|| panic!("no {name} in {page}"));
    let rest = &page[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn cookies(headers: &HeaderMap) -> Vec<String> {
    headers.get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect()
}

/// Logs in with `token` over HTTP: the session cookie (`name=value`).
async fn login(d: &Daemon, token: &str) -> String {
    let c = http();
    let form = c.get(d.url("/login")).send().await.unwrap();
    let login_cookie = cookies(form.headers())[0].split(';').next().unwrap().to_string();
    let csrf = hidden(&form.text().await.unwrap(), "csrf");
    let r = c
        .post(d.url("/login"))
        .header("cookie", &login_cookie)
        .form(&[("token", token), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = cookies(r.headers()).into_iter().find(|c| c.starts_with("wasmon_session=")).unwrap();
    session.split(';').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_cookies_csrf_headers_and_escaping() {
    let d = start("http");
    let c = http();

    // No session: the page sends the browser to the login form.
    let r = c.get(d.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/login");

    let form = c.get(d.url("/login")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let h = form.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let login_cookie = cookies(&h)[0].clone();
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"), "{login_cookie}");
    let login_cookie = login_cookie.split(';').next().unwrap().to_string();
    let page = form.text().await.unwrap();
    assert!(page.contains("name=\"token\""), "{page}");
    let csrf = hidden(&page, "csrf");

    // A wrong token, a missing CSRF token: no session.
    let r = c
        .post(d.url("/login"))
        .header("cookie", &login_cookie)
        .form(&[("token", "wrong"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(!cookies(r.headers()).iter().any(|c| c.starts_with("wasmon_session=")));
    let r = c.post(d.url("/login")).header("cookie", &login_cookie).form(&[("token", CI)]).send().await.unwrap();
    assert_eq!(r.status(), 403, "login without the form's CSRF token");
    let r = c.post(d.url("/login")).form(&[("token", CI), ("csrf", &csrf)]).send().await.unwrap();
    assert_eq!(r.status(), 403, "login without the CSRF cookie");

    // The right token: a session cookie, HttpOnly, SameSite=Strict, expiring.
    let r = c
        .post(d.url("/login"))
        .header("cookie", &login_cookie)
        .form(&[("token", CI), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/");
    let session = cookies(r.headers()).into_iter().find(|c| c.starts_with("wasmon_session=")).unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Max-Age=43200", "Path=/"] {
        assert!(session.contains(part), "{part} in {session}");
    }
    let ci = session.split(';').next().unwrap().to_string();

    // A check output with markup shows as text.
    submit(&d, "Passive", "CRITICAL", "<script>alert(1)</script> down | time=1.5s;1;2;0").await;
    let page = c.get(d.url("/")).header("cookie", &ci).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let page = page.text().await.unwrap();
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; down"), "{page}");
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(page.contains("<title>CRITICAL (1 unhandled)"), "the worst state in the title: {page}");
    assert!(page.contains("href=\"/web/favicon/critical.svg\""));
    let csrf = hidden(&page, "csrf");

    // Its detail page: escaped output, the metric and its graph from the
    // retention file (written by the retention thread: poll).
    let start = Instant::now();
    let detail = loop {
        let p = c.get(d.url("/host/web1/service/Passive")).header("cookie", &ci).send().await.unwrap();
        assert_eq!(p.status(), 200);
        let p = p.text().await.unwrap();
        if p.contains("<svg class=\"graph\"") || start.elapsed() > Duration::from_secs(20) {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(detail.contains("<svg class=\"graph\""), "a graph of 'time': {detail}");
    assert!(detail.contains("data-metric=\"time\""), "{detail}");
    assert!(detail.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!detail.contains("<script>alert"));
    assert!(detail.contains("OK → CRITICAL"), "the state history: {detail}");

    // Actions: refused without a session, with a wrong CSRF token, and
    // for a read-only token; nothing is acknowledged.
    let obj = hidden(&detail, "obj");
    let act = |cookie: Option<String>, csrf: String| {
        let mut req = c.post(d.url("/action"));
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        req.form(&[
            ("csrf", csrf.as_str()),
            ("obj", obj.as_str()),
            ("action", "acknowledge"),
            ("comment", "x"),
            ("back", "/"),
        ])
        .send()
    };
    assert_eq!(act(None, csrf.clone()).await.unwrap().status(), 401);
    assert_eq!(act(Some(ci.clone()), "0".repeat(64)).await.unwrap().status(), 403);
    let dash = login(&d, DASH).await;
    let dash_page = c.get(d.url("/")).header("cookie", &dash).send().await.unwrap().text().await.unwrap();
    let r = act(Some(dash.clone()), hidden(&dash_page, "csrf")).await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("lacks the 'write' scope"));
    assert!(status(&d, "Passive").await["acknowledgement"].is_null(), "nothing was acknowledged");
    let r = c.get(d.url("/web/events")).send().await.unwrap();
    assert_eq!(r.status(), 401, "the event stream needs a session");

    // With the write token and its CSRF token, the action goes through
    // the API's code: the author is the token's name.
    let r = act(Some(ci.clone()), csrf.clone()).await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(status(&d, "Passive").await["acknowledgement"]["author"], "ci");

    // Logging out ends the session.
    let r = c.post(d.url("/logout")).header("cookie", &ci).form(&[("csrf", &csrf)]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = c.get(d.url("/")).header("cookie", &ci).send().await.unwrap();
    assert_eq!(r.status(), 303, "the session is gone");
}

/// Debian's chromedriver on a free port, stopped when dropped. The one
/// browser test starts it: once per test binary.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn driver() -> Option<Driver> {
    let binary = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(binary) = binary else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromedriver is missing (apt-get install chromium chromium-driver; tests/run does)"
        );
        eprintln!("skipping the browser test: no chromedriver (apt-get install chromium chromium-driver)");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    support::wait_for("chromedriver to listen", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    Some(Driver { child, port })
}

/// Where the screenshots go: `target/screenshots`, or the README's
/// `docs/screenshots` with `WASMON_UPDATE_SCREENSHOTS=1` (so that a test run
/// does not change the working tree).
fn screenshots() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = if std::env::var_os("WASMON_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1") {
        root.join("docs/screenshots")
    } else {
        root.join("target/screenshots")
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(b: &fantoccini::Client, name: &str) {
    let png = b.screenshot().await.unwrap();
    std::fs::write(screenshots().join(name), png).unwrap();
}

/// Waits up to 45 s for `script` (a function body) to return true (an
/// action answers once the state file is synced, which a busy disk can
/// make slow).
async fn until(b: &fantoccini::Client, what: &str, script: &str) {
    let start = Instant::now();
    loop {
        let v = b.execute(script, vec![]).await.unwrap();
        if v == Value::Bool(true) {
            return;
        }
        if start.elapsed() > Duration::from_secs(45) {
            let page = b.execute("return location.href + '\\n' + document.body.innerText;", vec![]).await;
            panic!("timed out waiting for {what}; the page: {page:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_live_rows_acknowledge_downtime_graph() {
    let Some(driver) = driver() else { return };
    let d = start("browser");
    submit(&d, "Disk", "WARNING", "/var 91% used | used=91%;90;95;0;100").await;
    submit(&d, "Passive", "OK", "fine | time=0.2s;1;2;0").await;

    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800"]}),
    );
    let b = fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session over WebDriver");
    browse(&b, &d).await;
    b.close().await.unwrap();
}

async fn browse(b: &fantoccini::Client, d: &Daemon) {
    use fantoccini::Locator;

    // Log in.
    b.goto(&d.url("/services")).await.unwrap();
    assert!(b.current_url().await.unwrap().path().ends_with("/login"), "sent to the login form");
    b.find(Locator::Css("#token")).await.unwrap().send_keys(CI).await.unwrap();
    b.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    until(b, "the problems page", "return location.pathname === '/' && !!document.getElementById('problems');").await;

    // The services page, connected live; a row selected, a mark on the
    // window that a reload would lose.
    b.goto(&d.url("/services")).await.unwrap();
    until(b, "the live connection", "return document.getElementById('live').textContent === 'live';").await;
    let row = b
        .execute(
            "return document.querySelector('tr.row td:nth-child(3) a[href$=\"/Passive\"]').closest('tr').id;",
            vec![],
        )
        .await
        .unwrap();
    let row = row.as_str().unwrap().to_string();
    b.execute(
        "window.notReloaded = true; document.querySelector('#' + arguments[0] + ' input[name=obj]').click(); return true;",
        vec![json!(row)],
    )
    .await
    .unwrap();

    // A passive result turns it CRITICAL: the row changes without a reload
    // and stays selected; its HTML output shows as text.
    submit(d, "Passive", "CRITICAL", "<b>bold</b><script>window.pwned = true</script> timeout | time=2.5s;1;2;0").await;
    let critical = format!(
        "const r = document.getElementById('{row}'); return !!r && r.querySelector('.badge').textContent === 'CRITICAL';"
    );
    until(b, "the row to turn CRITICAL live", &critical).await;
    let checks = b
        .execute(
            &format!(
                "const r = document.getElementById('{row}'); return [window.notReloaded === true, \
                 r.querySelector('input[name=obj]').checked, r.querySelector('td.info').textContent, \
                 window.pwned === undefined, r.querySelectorAll('td.info b, td.info script').length];"
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(checks[0], true, "no reload");
    assert_eq!(checks[1], true, "the selection survived the swap");
    assert!(
        checks[2].as_str().unwrap().contains("<b>bold</b><script>window.pwned = true</script> timeout"),
        "{checks}"
    );
    assert_eq!(checks[3], true, "the check's script did not run");
    assert_eq!(checks[4], 0, "no markup from the output");
    until(b, "the title to say CRITICAL", "return document.title.startsWith('CRITICAL');").await;
    shot(b, "services.png").await;

    // Problems: unhandled, first.
    b.goto(&d.url("/")).await.unwrap();
    let group_of = format!(
        "let g = null; for (const tr of document.querySelectorAll('#problems tr')) {{ \
           if (tr.classList.contains('group')) g = tr.textContent.trim().split(' ')[0]; \
           if (tr.id === '{row}') return g; }} return null;"
    );
    assert_eq!(b.execute(&group_of, vec![]).await.unwrap(), "Unhandled");
    shot(b, "problems.png").await;

    // The detail page: a graph per metric, the output as text.
    b.goto(&d.url("/host/web1/service/Passive")).await.unwrap();
    until(b, "a graph", "return !!document.querySelector('svg.graph[data-metric=\"time\"] polyline, svg.graph[data-metric=\"time\"] circle');").await;
    let output = b.find(Locator::Css("pre.output")).await.unwrap().text().await.unwrap();
    assert!(output.contains("<script>window.pwned = true</script>"), "{output}");
    shot(b, "detail.png").await;

    // Acknowledge it from the detail page: it leaves the unhandled problems.
    b.find(Locator::Css("#acknowledge input[name=comment]")).await.unwrap().send_keys("looking at it").await.unwrap();
    b.find(Locator::Css("#acknowledge button")).await.unwrap().click().await.unwrap();
    until(
        b,
        "the acknowledgement",
        "return (document.getElementById('facts') || {textContent: ''}).textContent.includes('looking at it');",
    )
    .await;
    b.goto(&d.url("/")).await.unwrap();
    assert_eq!(b.execute(&group_of, vec![]).await.unwrap(), "Handled", "acknowledged: no longer unhandled");
    let unhandled = b
        .execute(
            "const rows = []; let g = null; for (const tr of document.querySelectorAll('#problems tr')) { \
               if (tr.classList.contains('group')) { g = tr.textContent.trim().split(' ')[0]; continue; } \
               if (g === 'Unhandled') rows.push(tr.id); } return rows;",
            vec![],
        )
        .await
        .unwrap();
    assert!(!unhandled.as_array().unwrap().contains(&json!(row)), "{unhandled}");

    // Schedule a downtime for it, and cancel it.
    b.goto(&d.url("/host/web1/service/Passive")).await.unwrap();
    let duration = b.find(Locator::Css("#downtime input[name=duration]")).await.unwrap();
    duration.clear().await.unwrap();
    duration.send_keys("2h").await.unwrap();
    b.find(Locator::Css("#downtime input[name=comment]")).await.unwrap().send_keys("maintenance").await.unwrap();
    b.find(Locator::Css("#downtime button")).await.unwrap().click().await.unwrap();
    until(b, "the downtime", "return document.getElementById('facts').textContent.includes('in downtime');").await;
    let v = status(d, "Passive").await;
    assert_eq!(v["in_downtime"], true, "{v}");
    b.find(Locator::Css("form.cancel-downtime button")).await.unwrap().click().await.unwrap();
    until(b, "the downtime to end", "return !document.getElementById('facts').textContent.includes('in downtime');")
        .await;
    assert_eq!(status(d, "Passive").await["in_downtime"], false);

    // The other views, for the README.
    b.goto(&d.url("/hosts")).await.unwrap();
    shot(b, "hosts.png").await;
    b.goto(&d.url("/events")).await.unwrap();
    let events = b.find(Locator::Css("main table")).await.unwrap().text().await.unwrap();
    assert!(events.contains("acknowledged by ci: looking at it"), "{events}");
    shot(b, "events.png").await;
}
