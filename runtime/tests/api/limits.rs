//! The limits that hold before authentication.

use super::*;

/// The limits that hold before authentication (issue 16): headers within
/// `header_timeout` or the connection is closed, `requests_per_second` per
/// token (429 with `Retry-After`), at most `max_connections` connections
/// (the next waits until one closes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_limits_hold_before_authentication() {
    use std::io::{Read, Write as _};
    let config = format!(
        "{OBJECTS}\n[api]\nlisten = \"127.0.0.1:0\"\nmax_connections = 3\nheader_timeout = \"1s\"\n\
         requests_per_second = 2\n\n\
         [[api.token]]\nname = \"ci\"\ntoken = \"{CI}\"\nscopes = [\"read\", \"write\"]\n\n\
         [[api.token]]\nname = \"dash\"\ntoken = \"{DASH}\"\nscopes = [\"read\"]\n"
    );
    let d = Daemon::with_config("api-limits", &config, &["-v"], &[]);
    let address = d.base().trim_start_matches("http://").to_string();

    // Headers never finished: the server closes the connection.
    let mut slow = std::net::TcpStream::connect(&address).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    slow.write_all(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut rest = Vec::new();
    slow.read_to_end(&mut rest).expect("closed by the server, not by the read timeout");

    // A token's rate: a burst of twice the rate, then 429.
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = http.get(d.url("/api/v1/status")).bearer_auth(DASH).send().await.unwrap();
        if r.status() == 429 {
            assert!(r.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
            let body: Value = r.json().await.unwrap();
            assert!(body["error"].as_str().unwrap().contains("token 'dash' is over its limit"), "{body}");
            Doc::parse(wasmon_runtime::api::OPENAPI).check_response("GET", "/api/v1/status", 429, &body).unwrap();
            statuses.push(429);
        } else {
            statuses.push(r.status().as_u16());
        }
    }
    assert_eq!(statuses[..4], [200; 4], "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");

    // Three event streams take every connection: a fourth is not served
    // until one of them closes.
    let mut streams = Vec::new();
    for _ in 0..3 {
        let client = reqwest::Client::new();
        let mut s = client.get(d.url("/api/v1/events")).bearer_auth(CI).send().await.unwrap();
        assert_eq!(s.status(), 200);
        s.chunk().await.unwrap();
        streams.push((client, s));
    }
    let waiting = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    let refused = waiting.get(d.url("/api/v1/status")).bearer_auth(CI).send().await;
    assert!(refused.is_err_and(|e| e.is_timeout()), "a fourth connection is not served");
    streams.pop();
    let patient = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let r = patient.get(d.url("/api/v1/status")).bearer_auth(CI).send().await.unwrap();
    assert_eq!(r.status(), 200, "served once a connection closed");
}
